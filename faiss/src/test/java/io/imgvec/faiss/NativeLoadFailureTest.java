package io.imgvec.faiss;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A library that cannot load reports why on every use, in a JVM of its own (the library loads once per JVM). */
class NativeLoadFailureTest {
  /** Run in the child JVM: two uses, each must fail with FaissException and the reason. */
  public static void main(String[] args) {
    for (int attempt = 0; attempt < 2; attempt++) {
      try {
        FaissIndex.create(4, "Flat", Metric.L2).close();
        System.out.println("loaded");
      } catch (FaissException e) {
        System.out.println("FaissException: " + e.getMessage());
      } catch (Throwable t) {
        System.out.println("other: " + t);
      }
    }
  }

  @Test
  void unsupportedPlatformIsAFaissExceptionEveryTime() throws Exception {
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Dos.arch=aarch64", "-cp", System.getProperty("java.class.path"), NativeLoadFailureTest.class.getName())
        .redirectErrorStream(true).start();
    List<String> lines = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
    assertEquals(0, p.waitFor(), String.join("\n", lines));
    String expected = "FaissException: imgvec-faiss ships a native library for Linux/amd64 only, not Linux/aarch64";
    assertEquals(List.of(expected, expected), lines);
  }
}

package io.imgvec.faiss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The packaged natives load on a stock Amazon Linux 2023 node (EMR 7/8): they need nothing beyond glibc, libm,
 * libstdc++, libgcc_s, the dynamic loader and what the jar bundles, and no symbol newer than AL2023's glibc 2.34 and
 * GCC 11 libstdc++ (GLIBCXX_3.4.29). Read with binutils' readelf and objdump.
 */
class NativeLibrariesTest {
  private static final Set<String> SYSTEM = Set.of("libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1",
      "ld-linux-x86-64.so.2", "libdl.so.2", "libpthread.so.0", "librt.so.1");
  private static final Pattern VERSION = Pattern.compile("\\((GLIBC|GLIBCXX)_([0-9.]+)\\)");

  @Test
  void packagedNativesNeedOnlyWhatAmazonLinux2023HasOrTheJarBundles() throws Exception {
    Path dir = Path.of(FaissNative.class.getResource("/native/linux-x86_64/").toURI());
    List<Path> libraries;
    try (Stream<Path> files = Files.list(dir)) {
      libraries = files.filter(f -> f.getFileName().toString().contains(".so")).sorted().toList();
    }
    List<String> bundled = libraries.stream().map(p -> p.getFileName().toString()).toList();
    assertEquals(List.of("libgomp.so.1", "libimgvec_faiss.so"), bundled);
    for (Path library : libraries) {
      for (String needed : needed(library)) {
        assertTrue(SYSTEM.contains(needed) || bundled.contains(needed), library.getFileName() + " needs " + needed);
      }
      String glibc = newest(library, "GLIBC");
      String glibcxx = newest(library, "GLIBCXX");
      assertTrue(compare(glibc, "2.34") <= 0, library.getFileName() + " needs GLIBC_" + glibc);
      assertTrue(glibcxx == null || compare(glibcxx, "3.4.29") <= 0, library.getFileName() + " needs GLIBCXX_"
          + glibcxx);
    }
  }

  private static List<String> needed(Path library) throws Exception {
    List<String> out = new ArrayList<>();
    Matcher m = Pattern.compile("\\(NEEDED\\)\\s+Shared library: \\[([^]]+)]").matcher(run("readelf", "-d", library));
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }

  /** The newest version of {@code family} among the library's undefined (imported) symbols, or null. */
  private static String newest(Path library, String family) throws Exception {
    List<String> versions = new ArrayList<>();
    for (String line : run("objdump", "-T", library).split("\n")) {
      Matcher m = VERSION.matcher(line);
      if (line.contains("*UND*") && m.find() && m.group(1).equals(family)) {
        versions.add(m.group(2));
      }
    }
    return versions.stream().max(NativeLibrariesTest::compare).orElse(null);
  }

  private static int compare(String a, String b) {
    Comparator<int[]> lexicographic = java.util.Arrays::compare;
    return lexicographic.compare(numbers(a), numbers(b));
  }

  private static int[] numbers(String version) {
    return java.util.Arrays.stream(version.split("\\.")).mapToInt(Integer::parseInt).toArray();
  }

  private static String run(String tool, String flag, Path file) throws Exception {
    Process p = new ProcessBuilder(tool, flag, file.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), out);
    return out;
  }
}

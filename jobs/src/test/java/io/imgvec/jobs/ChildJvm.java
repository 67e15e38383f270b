package io.imgvec.jobs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Command lines for the JVMs tests start: this JDK, conf/jvm.options (every imgvec JVM needs them), a heap. */
public final class ChildJvm {
  private ChildJvm() {}

  /** {@code java -Xmx<maxHeap> <jvm.options> <flags> -cp <classpath>}; the caller adds the main class. */
  public static List<String> command(String maxHeap, String classpath, String... flags) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx" + maxHeap));
    Files.readAllLines(StandaloneCluster.HOME.resolve("conf/jvm.options")).stream()
        .filter(l -> !l.startsWith("#")).forEach(cmd::add);
    cmd.addAll(List.of(flags));
    cmd.addAll(List.of("-cp", classpath));
    return cmd;
  }
}

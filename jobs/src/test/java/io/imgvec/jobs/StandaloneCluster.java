package io.imgvec.jobs;

import static org.awaitility.Awaitility.await;

import io.imgvec.TestImages;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Spark standalone cluster on loopback made of separate JVMs: one Master and some Workers, which start their
 * executors as JVMs of their own. They run on the spark-home module's SPARK_HOME (Spark and Hadoop jars only), so
 * whatever imgvec needs on an executor must come with the application jar or the submit command.
 */
public final class StandaloneCluster implements AutoCloseable {
  public static final Path HOME = TestImages.ROOT.getParent().getParent();
  static final Path SPARK_HOME = HOME.resolve("spark-home/target/spark-home");

  private final List<Process> processes = new ArrayList<>();
  private final Path masterLog;
  private final String masterUrl;

  private StandaloneCluster(Path dir, int port) {
    this.masterLog = dir.resolve("master.log");
    this.masterUrl = "spark://127.0.0.1:" + port;
  }

  public static StandaloneCluster start(Path dir, int workers, int coresEach, String memoryEach) throws Exception {
    return start(dir, workers, coresEach, memoryEach, false);
  }

  /**
   * With {@code pinned}, worker w and the executors it starts run on CPU w only (taskset), so that an executor of
   * one core uses one core, decode threads included: what a scaling measurement needs on a small machine.
   */
  public static StandaloneCluster start(Path dir, int workers, int coresEach, String memoryEach, boolean pinned)
      throws Exception {
    if (!Files.isDirectory(SPARK_HOME.resolve("jars"))) {
      throw new IllegalStateException(SPARK_HOME + "/jars is missing: build the spark-home module first");
    }
    StandaloneCluster cluster = new StandaloneCluster(dir, freePort());
    try {
      cluster.launch(List.of(), List.of("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
          cluster.masterUrl.substring(cluster.masterUrl.lastIndexOf(':') + 1), "--webui-port",
          String.valueOf(freePort())), cluster.masterLog);
      for (int w = 0; w < workers; w++) {
        Path workDir = Files.createDirectories(dir.resolve("worker-" + w));
        List<String> pin = pinned ? List.of("taskset", "-c", String.valueOf(w)) : List.of();
        cluster.launch(pin, List.of("org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
            "--cores", String.valueOf(coresEach), "--memory", memoryEach, "--webui-port", String.valueOf(freePort()),
            "--work-dir", workDir.toString(), cluster.masterUrl), dir.resolve("worker-" + w + ".log"));
      }
      cluster.awaitWorkers(workers);
      return cluster;
    } catch (Exception e) {
      cluster.close();
      throw e;
    }
  }

  public String masterUrl() {
    return masterUrl;
  }

  private void launch(List<String> prefix, List<String> mainAndArgs, Path log) throws IOException {
    List<String> cmd = new ArrayList<>(prefix);
    cmd.addAll(ChildJvm.command("512m", SPARK_HOME.resolve("jars") + "/*"));
    cmd.addAll(mainAndArgs);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("SPARK_HOME", SPARK_HOME.toString());
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    pb.environment().put("SPARK_SCALA_VERSION", "2.13");
    // Executors get nothing of the test JVM's: no DJL settings, no natives path, no imgvec classes.
    pb.environment().remove("DJL_CACHE_DIR");
    processes.add(pb.start());
  }

  private void awaitWorkers(int workers) {
    await(workers + " workers register (" + masterLog + ")").atMost(90, TimeUnit.SECONDS)
        .pollInterval(Duration.ofMillis(250))
        .failFast("a cluster process exited; see the logs in " + masterLog.getParent(),
            () -> processes.stream().anyMatch(p -> !p.isAlive()))
        .until(() -> Files.exists(masterLog)
            && Files.readAllLines(masterLog).stream().filter(l -> l.contains("Registering worker")).count() >= workers);
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** Stops the workers (and the executors they started) and the master. */
  @Override
  public void close() {
    for (int i = processes.size() - 1; i >= 0; i--) {
      processes.get(i).descendants().forEach(ProcessHandle::destroyForcibly);
      processes.get(i).destroyForcibly();
    }
  }
}

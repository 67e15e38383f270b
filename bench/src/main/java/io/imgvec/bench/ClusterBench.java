package io.imgvec.bench;

import io.imgvec.io.Json;
import io.imgvec.jobs.S3ProxyServer;
import io.imgvec.jobs.StandaloneCluster;
import io.imgvec.util.Numbers;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;

/**
 * Where users run it: (1) the embed job reading the same images from S3 (S3Proxy on loopback) and from local disk,
 * fresh bin/imgvec processes in turn; (2) a standalone cluster (Master + 2 Workers of 1 core, separate JVMs) running
 * the same embed with 1 and then 2 executors through bin/imgvec submit. Prints one JSON report.
 *
 * <p>Usage: ClusterBench <work dir> <images> <repeats>
 */
public final class ClusterBench {
  public static void main(String[] args) throws Exception {
    Path work = Files.createDirectories(Path.of(args[0]));
    int images = Integer.parseInt(args[1]);
    int repeats = Integer.parseInt(args[2]);
    List<Path> photos;
    try (Stream<Path> files = Files.list(StandaloneCluster.HOME.resolve("testdata/images/photos"))) {
      photos = files.filter(f -> f.toString().endsWith(".jpg")).sorted().toList();
    }
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("benchmark", "cluster");
    report.put("images", images);
    report.put("cores", Runtime.getRuntime().availableProcessors());
    try (S3ProxyServer s3 = S3ProxyServer.start(work.resolve("s3"), "bench")) {
      Path local = manifest(work.resolve("local.csv"), photos, images, p -> p.toUri().toString());
      Path remote = manifest(work.resolve("s3.csv"), photos, images, p -> "images/" + p.getFileName());
      upload(s3, photos, remote);
      List<String> opts = new ArrayList<>(List.of("-Xmx3g"));
      s3.s3aSettings().forEach((k, v) -> opts.add("-Dspark.hadoop." + k + "=" + v));
      seconds(work, opts, List.of("embed", "--manifest", local.toString(), "--output", // warm-up: the first run
          work.resolve("out-local").toString()));                                     // records the CDS archive
      List<Double> localSeconds = new ArrayList<>();
      List<Double> s3Seconds = new ArrayList<>();
      for (int r = 0; r < repeats; r++) { // in turn, so machine noise hits both alike
        localSeconds.add(seconds(work, opts, List.of("embed", "--manifest", local.toString(), "--output",
            work.resolve("out-local").toString())));
        s3Seconds.add(seconds(work, opts, List.of("embed", "--manifest", "s3a://bench/s3.csv", "--output",
            "s3a://bench/out")));
      }
      double localMedian = median(localSeconds);
      double s3Median = median(s3Seconds);
      report.put("local_disk", Map.of("wall_s", localSeconds, "images_per_s", Numbers.round(images / localMedian, 1)));
      report.put("s3", Map.of("wall_s", s3Seconds, "images_per_s", Numbers.round(images / s3Median, 1)));
      report.put("s3_over_local_throughput", Numbers.round(localMedian / s3Median, 3));
    }
    try (StandaloneCluster cluster = StandaloneCluster.start(Files.createDirectories(work.resolve("cluster")), 2, 1,
        "1536m", true)) {
      Path local = manifest(work.resolve("cluster.csv"), photos, images, p -> p.toUri().toString());
      Map<String, Object> scaling = new LinkedHashMap<>();
      for (int executors : new int[] {1, 2}) {
        List<Double> runs = new ArrayList<>();
        for (int r = 0; r < repeats; r++) {
          runs.add(seconds(work, List.of(), List.of("submit", "--master", cluster.masterUrl(), "--conf",
              "spark.cores.max=" + executors, "--conf", "spark.executor.cores=1", "--conf",
              "spark.executor.memory=1g", "--", "embed", "--manifest", local.toString(), "--output",
              work.resolve("out-cluster").toString())));
        }
        scaling.put(executors + "_executor" + (executors > 1 ? "s" : ""), Map.of("wall_s", runs,
            "images_per_s", Numbers.round(images / median(runs), 1)));
        scaling.put("median_" + executors, median(runs));
      }
      double ratio = (double) scaling.remove("median_1") / (double) scaling.remove("median_2");
      scaling.put("speedup_2_over_1", Numbers.round(ratio, 3));
      scaling.put("workers", "2 of 1 core, each pinned with its executors to one CPU (taskset)");
      report.put("standalone_cluster", scaling);
    }
    System.out.println(Json.PRETTY.writeValueAsString(report));
  }

  private interface UriOf {
    String of(Path photo);
  }

  private static Path manifest(Path file, List<Path> photos, int images, UriOf uri) throws Exception {
    List<String> rows = new ArrayList<>(List.of("image_id,uri"));
    for (int i = 0; i < images; i++) {
      rows.add("img" + i + "," + uri.of(photos.get(i % photos.size())));
    }
    return Files.write(file, rows);
  }

  private static void upload(S3ProxyServer s3, List<Path> photos, Path manifest) throws Exception {
    Configuration conf = new Configuration();
    s3.s3aSettings().forEach(conf::set);
    FileSystem fs = FileSystem.get(URI.create("s3a://bench/"), conf);
    for (Path p : photos) {
      fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(p.toUri()),
          new org.apache.hadoop.fs.Path("s3a://bench/images/" + p.getFileName()));
    }
    fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(manifest.toUri()),
        new org.apache.hadoop.fs.Path("s3a://bench/s3.csv"));
  }

  /** Wall seconds of one fresh bin/imgvec process, which must succeed. */
  private static double seconds(Path work, List<String> javaOpts, List<String> args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(StandaloneCluster.HOME.resolve("bin/imgvec").toString()));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(work.resolve("last-run.log").toFile());
    if (!javaOpts.isEmpty()) {
      pb.environment().put("IMGVEC_JAVA_OPTS", String.join(" ", javaOpts));
    }
    long start = System.nanoTime();
    int exit = pb.start().waitFor();
    double s = (System.nanoTime() - start) / 1e9;
    if (exit != 0) {
      throw new IllegalStateException(String.join(" ", args) + " failed; see " + work.resolve("last-run.log"));
    }
    System.err.println("[bench] " + args.get(0) + " " + Numbers.round(s, 2) + " s");
    return Numbers.round(s, 2);
  }

  private static double median(List<Double> values) {
    return Numbers.median(values.stream().mapToDouble(Double::doubleValue).toArray());
  }
}

package io.imgvec.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.imgvec.faiss.GaussianClusters;
import io.imgvec.io.Json;
import io.imgvec.jobs.StandaloneCluster;
import io.imgvec.jobs.TestEmbeddings;
import io.imgvec.util.Numbers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The distributed index build on a standalone cluster (Master + 2 Workers of 1 core, each pinned with its executors
 * to one CPU): {@code count} x 128 synthetic vectors in Zipf-sized clusters, built by the driver alone, then
 * distributed over 1 and over 2 executors, all through bin/imgvec submit. Prints one JSON report: add times, the
 * speed-up of 2 executors over 1 and over the driver, recall of each index, driver heap, and per-vector costs.
 *
 * <p>Usage: IndexClusterBench <work dir> <count> <nlist> [runs: driver,distributed_1,distributed_2 (all)]
 */
public final class IndexClusterBench {
  private static final int DIM = 128;

  public static void main(String[] args) throws Exception {
    Path work = Files.createDirectories(Path.of(args[0]));
    long count = Long.parseLong(args[1]);
    String nlist = args[2];
    List<String> only = args.length > 3 ? List.of(args[3].split(",")) : List.of("driver", "distributed_1",
        "distributed_2");
    Path embeddings = work.resolve("embeddings");
    if (!Files.exists(embeddings.resolve("_SUCCESS"))) {
      write(embeddings, count);
    }
    List<String> build = List.of("build-index", "--embeddings", embeddings.toString(), "--index.type=IVF-PQ",
        "--index.nlist=" + nlist, "--index.pq-m=32", "--index.eval-queries=500");
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("benchmark", "index-cluster");
    report.put("count", count);
    report.put("dimension", DIM);
    report.put("index", "IVF" + nlist + ",PQ32np");
    report.put("cores", Runtime.getRuntime().availableProcessors());
    try (StandaloneCluster cluster = StandaloneCluster.start(Files.createDirectories(work.resolve("cluster")), 2, 1,
        "6g", true)) {
      Map<String, Object> runs = new LinkedHashMap<>();
      if (only.contains("driver")) {
        runs.put("driver", run(work, cluster, 2, build, "--output", work.resolve("driver").toString()));
      }
      for (int executors : new int[] {1, 2}) {
        if (only.contains("distributed_" + executors)) {
          runs.put("distributed_" + executors, run(work, cluster, executors, build, "--output",
              work.resolve("distributed-" + executors).toString(), "--distributed"));
        }
      }
      report.put("runs", runs);
      if (runs.size() == 3) {
        double two = addSeconds(runs.get("distributed_2"));
        report.put("add_speedup_2_over_1_executors", Numbers.round(addSeconds(runs.get("distributed_1")) / two, 3));
        report.put("add_speedup_2_executors_over_driver", Numbers.round(addSeconds(runs.get("driver")) / two, 3));
      }
    }
    report.put("workers", "2 of 1 core, each pinned with its executors to one CPU (taskset); the driver unpinned");
    System.out.println(Json.PRETTY.writeValueAsString(report));
  }

  @SuppressWarnings("unchecked")
  private static double addSeconds(Object run) {
    return ((Number) ((Map<String, Object>) run).get("add_phase_s")).doubleValue();
  }

  /** One build through bin/imgvec submit with {@code executors} executors of 1 core; the facts of its summary. */
  private static Map<String, Object> run(Path work, StandaloneCluster cluster, int executors, List<String> build,
      String... more) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(StandaloneCluster.HOME.resolve("bin/imgvec").toString(), "submit",
        "--master", cluster.masterUrl(), "--conf", "spark.cores.max=" + executors, "--conf",
        "spark.executor.cores=1", "--conf", "spark.executor.memory=4g", "--"));
    cmd.addAll(build);
    cmd.addAll(List.of(more));
    Path log = work.resolve("last-run.log");
    long start = System.nanoTime();
    Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).redirectOutput(work.resolve("summary.json")
        .toFile()).start();
    if (p.waitFor() != 0) {
      throw new IllegalStateException("build-index failed; see " + log);
    }
    double wall = (System.nanoTime() - start) / 1e9;
    List<String> lines = Files.readAllLines(work.resolve("summary.json"));
    JsonNode summary = Json.MAPPER.readTree(lines.get(lines.size() - 1));
    JsonNode timings = summary.get("timings");
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("executors", executors);
    out.put("wall_s", Numbers.round(wall, 2));
    out.put("add_phase_s", timings.get("add_phase_s").asDouble());
    out.put("timings", timings);
    out.put("recall_at_10", summary.at("/metrics/recall_at_10").asDouble());
    out.put("nprobe", summary.at("/metrics/nprobe").asInt());
    out.put("latency_p99_ms", summary.at("/metrics/latency_p99_ms").asDouble());
    out.put("driver_heap_max_used_mb", summary.at("/metrics/build_heap_max_used_mb").asInt());
    out.put("vectors_through_driver", summary.get("vectors_through_driver").asLong());
    out.put("index_bytes", summary.at("/metrics/index_bytes").asLong());
    out.put("resource_plan", summary.get("resource_plan"));
    System.err.println("[bench] build-index with " + executors + " executor(s): " + out);
    return out;
  }

  /** count x 128 vectors in 1,000 Zipf-sized anisotropic clusters, as the embed job would write them. */
  private static void write(Path dir, long count) throws Exception {
    int files = (int) Math.max(1, count * DIM * 4 / (64 << 20));
    TestEmbeddings.write(dir, count, DIM, files,
        TestEmbeddings.clustered(() -> new GaussianClusters(DIM, 1000, 16, 13, 1.1)));
    System.err.println("[bench] wrote " + count + " x " + DIM + " vectors to " + dir);
  }
}

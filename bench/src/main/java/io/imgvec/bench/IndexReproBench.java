package io.imgvec.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.imgvec.io.Json;
import io.imgvec.jobs.StandaloneCluster;
import io.imgvec.util.Numbers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Whether index choices reproduce: fresh auto builds of the same embeddings into new outputs, on the driver
 * ({@code bin/imgvec build-index}) and distributed on a standalone cluster of 2 workers of 1 core
 * ({@code bin/imgvec submit ... --distributed}), for each memory budget. Every published version is timed again in
 * a fresh process by {@code bin/imgvec measure} (3 runs, the median) beside what its manifest reports, and measured
 * once by stock FAISS (python3-faiss, bench/faiss_measure.py): its R@10 checks imgvec's, its p99 is the same index
 * searched by Debian's FAISS without imgvec's AVX2 distance loops and native re-ranking. Each timing comes with the
 * machine's speed against its fastest (both time again in a slow stretch). Prints one JSON report: each build, and
 * per budget the spread of held-out R@10 and p99 and the largest disagreement between reported and re-measured p99.
 *
 * <p>Usage: IndexReproBench <work dir> <embeddings> <driver builds> <distributed builds> <budget,...> (a budget
 * "default" is the configured default)
 */
public final class IndexReproBench {
  private static final int REMEASURES = 3;

  public static void main(String[] args) throws Exception {
    Path work = Files.createDirectories(Path.of(args[0]));
    String embeddings = args[1];
    int driverBuilds = Integer.parseInt(args[2]);
    int distributedBuilds = Integer.parseInt(args[3]);
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("benchmark", "index-repro");
    report.put("embeddings", embeddings);
    report.put("cluster", "standalone, 2 workers of 1 core, on the same machine as the driver");
    Map<String, Object> budgets = new LinkedHashMap<>();
    try (StandaloneCluster cluster = StandaloneCluster.start(Files.createDirectories(work.resolve("cluster")), 2, 1,
        "4g")) {
      for (String budget : args[4].split(",")) {
        List<Map<String, Object>> builds = new ArrayList<>();
        for (int i = 0; i < driverBuilds + distributedBuilds; i++) {
          boolean distributed = i >= driverBuilds;
          List<String> cmd = new ArrayList<>(List.of(StandaloneCluster.HOME.resolve("bin/imgvec").toString()));
          if (distributed) {
            cmd.addAll(List.of("submit", "--master", cluster.masterUrl(), "--conf", "spark.executor.cores=1",
                "--conf", "spark.executor.memory=3g", "--"));
          }
          Path out = work.resolve(budget + "-" + i);
          cmd.addAll(List.of("build-index", "--embeddings", embeddings, "--output", out.toString()));
          if (!budget.equals("default")) {
            cmd.addAll(List.of("--memory-budget", budget));
          }
          if (distributed) {
            cmd.add("--distributed");
          }
          builds.add(build(cmd, out, work, distributed ? "distributed" : "driver"));
        }
        budgets.put(budget, Map.of("builds", builds, "spread", spread(builds)));
      }
    }
    report.put("budgets", budgets);
    System.out.println(Json.PRETTY.writeValueAsString(report));
  }

  private static Map<String, Object> build(List<String> cmd, Path out, Path work, String where) throws Exception {
    long start = System.nanoTime();
    JsonNode summary = lastLine(cmd, work.resolve("last-build.log"));
    double wall = (System.nanoTime() - start) / 1e9;
    Path version = out.resolve("versions").resolve(Files.readString(out.resolve("LATEST")).trim());
    double[] p99 = new double[REMEASURES];
    double[] slowdowns = new double[REMEASURES];
    for (int r = 0; r < REMEASURES; r++) {
      JsonNode again = lastLine(List.of(StandaloneCluster.HOME.resolve("bin/imgvec").toString(), "measure",
          "--index", version.toString()), work.resolve("last-measure.log"));
      p99[r] = again.at("/measured/latency_p99_ms").asDouble();
      slowdowns[r] = again.at("/method/machine_speed/slowdown").asDouble();
    }
    JsonNode stock = lastLine(List.of("/usr/bin/python3", StandaloneCluster.HOME.resolve("bench/faiss_measure.py")
        .toString(), version.toString()), work.resolve("last-stock-measure.log"));
    JsonNode reportedSpeed = Json.MAPPER.readTree(version.resolve("manifest.json").toFile())
        .at("/latency_measurement/machine_speed");
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("where", where);
    row.put("factory", summary.at("/index/factory").asText());
    row.put("nprobe", summary.at("/index/nprobe").asInt());
    row.put("recall_at_10", summary.at("/metrics/recall_at_10").asDouble());
    row.put("recall_at_10_stock_faiss", stock.get("recall_at_10").asDouble());
    row.put("p99_ms_reported", summary.at("/metrics/latency_p99_ms").asDouble());
    row.put("p99_ms_predicted", summary.at("/metrics/predicted_latency_p99_ms").asDouble());
    row.put("p99_ms_remeasured_median", Numbers.round(Numbers.median(p99), 4));
    row.put("p99_ms_remeasured_runs", p99);
    row.put("p99_ms_stock_faiss", stock.get("latency_p99_ms").asDouble());
    row.put("machine_slowdown_reported", reportedSpeed.get("slowdown").asDouble());
    row.put("machine_timing_kept_reported", reportedSpeed.get("timing_kept").asInt());
    row.put("machine_slowdowns_remeasured", slowdowns);
    row.put("machine_slowdown_stock_faiss", stock.at("/machine_speed/slowdown").asDouble());
    row.put("reported_over_remeasured_p99", Numbers.round(summary.at("/metrics/latency_p99_ms").asDouble()
        / Numbers.median(p99), 3));
    row.put("wall_s", Numbers.round(wall, 1));
    row.put("selection_s", summary.at("/timings/selection_s").asDouble());
    row.put("train_s", summary.at("/timings/train_s").asDouble());
    System.err.println("[bench] " + row);
    return row;
  }

  private static Map<String, Object> spread(List<Map<String, Object>> builds) {
    double[] recall = builds.stream().mapToDouble(b -> (double) b.get("recall_at_10")).toArray();
    double[] p99 = builds.stream().mapToDouble(b -> (double) b.get("p99_ms_reported")).toArray();
    double worst = builds.stream().mapToDouble(b -> Math.abs((double) b.get("reported_over_remeasured_p99") - 1))
        .max().orElseThrow();
    Map<String, Object> spread = new LinkedHashMap<>();
    spread.put("factories", builds.stream().map(b -> b.get("factory") + " nprobe " + b.get("nprobe")).distinct()
        .toList());
    spread.put("recall_at_10_spread", Numbers.round(max(recall) - min(recall), 4));
    spread.put("p99_max_over_min", Numbers.round(max(p99) / min(p99), 3));
    spread.put("largest_reported_vs_remeasured_p99_difference", Numbers.round(worst, 3));
    spread.put("target_met", max(recall) - min(recall) <= 0.01 && worst <= 0.2);
    return spread;
  }

  private static double max(double[] v) {
    return java.util.Arrays.stream(v).max().orElseThrow();
  }

  private static double min(double[] v) {
    return java.util.Arrays.stream(v).min().orElseThrow();
  }

  /** Runs {@code cmd}; its last stdout line as JSON (stderr to {@code log}). */
  private static JsonNode lastLine(List<String> cmd, Path log) throws Exception {
    Path stdout = log.resolveSibling(log.getFileName() + ".out");
    Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).redirectOutput(stdout.toFile()).start();
    if (p.waitFor() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + " failed; see " + log);
    }
    List<String> lines = Files.readAllLines(stdout);
    return Json.MAPPER.readTree(lines.get(lines.size() - 1));
  }
}

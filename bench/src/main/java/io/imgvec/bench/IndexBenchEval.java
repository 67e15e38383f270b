package io.imgvec.bench;

import com.fasterxml.jackson.core.type.TypeReference;
import io.imgvec.faiss.FaissIndex;
import io.imgvec.faiss.Metric;
import io.imgvec.faiss.SearchParams;
import io.imgvec.faiss.VectorSearch;
import io.imgvec.index.ExactNeighbours;
import io.imgvec.index.IndexEvaluator;
import io.imgvec.io.Json;
import io.imgvec.published.IdMap;
import io.imgvec.published.IndexLayout;
import io.imgvec.published.RerankedSearch;
import io.imgvec.published.Sq8Vectors;
import io.imgvec.util.Numbers;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Scores an index published by the build-index job (re-ranked as served, where it has a refine stage) on the data
 * set's own queries (exact ground truth by brute force over base.f32) and sets the numbers beside python-faiss's
 * for the same build (R@10-vs-p99 frontiers of both included), and the measured choice of index beside a single build of the index it chose.
 *
 * <p>Usage: IndexBenchEval <data dir> <published version dir> <python results json> <build-index summary json>
 * <single build summary json> <rebuild summary json> <out json> (the last two {} when nothing was chosen)
 */
public final class IndexBenchEval {

  public static void main(String[] args) throws Exception {
    Path data = Path.of(args[0]);
    Path versionDir = Path.of(args[1]);
    int d = Integer.parseInt(Files.readString(data.resolve("dimension")).trim());
    Map<String, Object> manifest = Json.PRETTY.readValue(versionDir.resolve("manifest.json").toFile(),
        new TypeReference<Map<String, Object>>() {});
    long n = ((Number) manifest.get("count")).longValue();
    Metric metric = Metric.valueOf((String) manifest.get("metric"));
    SearchParams params = IndexLayout.searchParams(manifest);

    Path queryFile = data.resolve("queries.f32");
    int nq = (int) Math.min(1000, VectorFiles.rows(queryFile, d));
    float[] queries = VectorFiles.read(queryFile, d, 0, nq);
    ExactNeighbours truth = groundTruth(data.resolve("base.f32"), d, n, queries, nq, metric,
        indexIdsByPosition(versionDir.resolve(IdMap.FILE), n));
    IndexEvaluator.Metrics java;
    try (FaissIndex index = FaissIndex.read(versionDir.resolve("index.faiss"))) {
      VectorSearch searched = !IndexLayout.refines(manifest) ? index : new RerankedSearch(index,
          Sq8Vectors.map(versionDir.resolve(Sq8Vectors.FILE), d), metric, params.kFactor()); // as served
      java = new IndexEvaluator(queries, nq, d, truth).measure(searched, params);
    }
    Map<String, Object> python = Json.PRETTY.readValue(new File(args[2]), new TypeReference<Map<String, Object>>() {});
    Map<String, Object> job = Json.PRETTY.readValue(new File(args[3]), new TypeReference<Map<String, Object>>() {});
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("data", data.getFileName().toString());
    report.put("count", n);
    report.put("dimension", d);
    report.put("queries", nq);
    report.put("index", manifest.get("index"));
    report.put("outcome", manifest.get("outcome"));
    report.put("selection", selectionWithoutSweeps(manifest));
    Map<String, Object> imgvec = new LinkedHashMap<>(java.asMap());
    @SuppressWarnings("unchecked")
    Map<String, Object> measured = (Map<String, Object>) manifest.get("metrics");
    imgvec.put("bytes_per_vector", measured.get("bytes_per_vector"));
    imgvec.put("build_heap_max_used_mb", measured.get("build_heap_max_used_mb"));
    imgvec.put("build_heap_max_live_mb", measured.get("build_heap_max_live_mb"));
    imgvec.put("build_heap_limit_mb", measured.get("build_heap_limit_mb"));
    imgvec.put("lists", manifest.get("lists"));
    imgvec.put("held_out_metrics_from_manifest", measured);
    imgvec.put("timings", manifest.get("timings"));
    imgvec.put("build_index_job_s", job.get("duration_s"));
    report.put("imgvec", imgvec);
    report.put("python_faiss", python);
    @SuppressWarnings("unchecked")
    Map<String, Object> timings = (Map<String, Object>) manifest.get("timings");
    double javaBuild = num(timings.get("train_s")) + num(timings.get("add_s"));
    double pythonBuild = num(python.get("train_s")) + num(python.get("add_s"));
    Map<String, Object> ratios = new LinkedHashMap<>();
    ratios.put("train_time_imgvec_over_python", round(num(timings.get("train_s")) / num(python.get("train_s"))));
    ratios.put("add_time_imgvec_over_python", round(num(timings.get("add_s")) / num(python.get("add_s"))));
    ratios.put("build_time_imgvec_over_python", round(javaBuild / pythonBuild));
    ratios.put("recall_at_10_imgvec_minus_python", round(java.recallAt10() - num(python.get("recall_at_10"))));
    ratios.put("p99_imgvec_over_python", round(java.p99Ms() / num(python.get("latency_p99_ms"))));
    @SuppressWarnings("unchecked")
    Map<String, Object> pythonOnOurs = (Map<String, Object>) python.get("on_imgvec_index");
    ratios.put("p99_imgvec_over_python_same_index", round(java.p99Ms() / num(pythonOnOurs.get("latency_p99_ms"))));
    report.put("side_by_side", ratios);
    Map<String, Object> single = Json.PRETTY.readValue(new File(args[4]), new TypeReference<Map<String, Object>>() {});
    if (single.containsKey("duration_s")) {
      ratios.put("auto_build_over_single_build", round(num(job.get("duration_s")) / num(single.get("duration_s"))));
      report.put("single_build_s", single.get("duration_s"));
    }
    Map<String, Object> rebuild = Json.PRETTY.readValue(new File(args[5]), new TypeReference<Map<String, Object>>() {});
    if (rebuild.containsKey("index")) {
      report.put("rebuild", Map.of("index", rebuild.get("index"), "outcome", rebuild.get("outcome")));
    }
    Json.PRETTY.writeValue(new File(args[6]), report);
    System.out.println("[bench] " + report.get("data") + ": imgvec " + java.asMap() + "; ratios " + ratios);
  }

  /** The manifest's candidate report, each candidate without its nprobe sweep (kept in the manifest). */
  @SuppressWarnings("unchecked")
  private static Map<String, Object> selectionWithoutSweeps(Map<String, Object> manifest) {
    Map<String, Object> selection = (Map<String, Object>) manifest.get("selection");
    if (selection == null) {
      return null;
    }
    Map<String, Object> out = new LinkedHashMap<>(selection);
    out.put("candidates", ((java.util.List<Map<String, Object>>) selection.get("candidates")).stream().map(c -> {
      Map<String, Object> brief = new LinkedHashMap<>(c);
      brief.remove("sweep");
      return brief;
    }).toList());
    return out;
  }

  /** The builder numbered vectors in its scan order; image_id "v<position>" gives each one's row in base.f32. */
  static long[] indexIdsByPosition(Path idFile, long n) throws Exception {
    IdMap ids = IdMap.read(idFile, n);
    long[] byPosition = new long[(int) n];
    for (int id = 0; id < n; id++) {
      byPosition[Integer.parseInt(ids.imageId(id).substring(1))] = id;
    }
    return byPosition;
  }

  static ExactNeighbours groundTruth(Path base, int d, long n, float[] queries, int nq, Metric metric,
      long[] idOfPosition) throws Exception {
    ExactNeighbours truth = new ExactNeighbours(queries, nq, d, IndexEvaluator.K, metric);
    int batch = 50_000;
    for (long from = 0; from < n; from += batch) {
      int count = (int) Math.min(batch, n - from);
      long[] ids = new long[count];
      for (int i = 0; i < count; i++) {
        ids[i] = idOfPosition[(int) (from + i)];
      }
      truth.addBase(VectorFiles.read(base, d, from, count), ids, count);
    }
    return truth;
  }

  private static double num(Object o) {
    return ((Number) o).doubleValue();
  }

  private static double round(double v) {
    return Numbers.round(v, 3);
  }
}

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
import io.imgvec.published.ShardedIndex;
import io.imgvec.util.Numbers;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * imgvec's rows of bench/ann-peers.sh: each published version (an {@code auto} build) scored as ann_peers.py scores
 * its peers, on the data set's first 1,000 queries against exact search: the published setting, and the frontier
 * its nprobe spans (the published codes cap per probe kept), each with R@10, p50/p99 as the manifest measures them
 * (one query per search on one thread, per-query medians of passes) and queries/s on 2 threads.
 *
 * <p>Usage: ImgvecPeer <data dir> <out json> (<label> <published dir> <build summary json>)...
 */
public final class ImgvecPeer {
  private static final int QUERIES = 1000;

  public static void main(String[] args) throws Exception {
    Path data = Path.of(args[0]);
    int d = Integer.parseInt(Files.readString(data.resolve("dimension")).trim());
    int nq = (int) Math.min(QUERIES, VectorFiles.rows(data.resolve("queries.f32"), d));
    float[] queries = VectorFiles.read(data.resolve("queries.f32"), d, 0, nq);
    List<Map<String, Object>> engines = new ArrayList<>();
    for (int a = 2; a + 2 < args.length; a += 3) {
      engines.add(engine(data, args[a], Path.of(args[a + 1]), Path.of(args[a + 2]), queries, nq, d));
    }
    Json.PRETTY.writeValue(new File(args[1]), Map.of("engines", engines));
  }

  private static Map<String, Object> engine(Path data, String label, Path published, Path summary, float[] queries,
      int nq, int d) throws Exception {
    Path version = published.resolve("versions").resolve(Files.readString(published.resolve("LATEST")).trim());
    Map<String, Object> manifest = Json.MAPPER.readValue(version.resolve("manifest.json").toFile(),
        new TypeReference<Map<String, Object>>() {});
    long n = ((Number) manifest.get("count")).longValue();
    ExactNeighbours truth = IndexBenchEval.groundTruth(data.resolve("base.f32"), d, n, queries, nq, Metric.L2,
        IndexBenchEval.indexIdsByPosition(version.resolve(IdMap.FILE), n));
    IndexEvaluator evaluator = new IndexEvaluator(queries, nq, d, truth);
    SearchParams publishedParams = IndexLayout.searchParams(manifest);
    long codesPerProbe = publishedParams.maxCodes() / Math.max(1, publishedParams.nprobe());
    @SuppressWarnings("unchecked")
    Map<String, Object> index = (Map<String, Object>) manifest.get("index");
    int nlist = ((Number) index.get("nlist")).intValue();
    List<Map<String, Object>> rows = new ArrayList<>();
    try (ShardedIndex faiss = ShardedIndex.readVersion(manifest, version, false)) {
      RerankedSearch refine = RerankedSearch.ofVersion(manifest, faiss, version);
      VectorSearch searched = refine != null ? refine : faiss;
      for (int nprobe : new int[] {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128}) {
        if (nprobe <= nlist) {
          SearchParams params = new SearchParams(nprobe, publishedParams.efSearch() > 0 ? Math.max(16, 2 * nprobe) : 0,
              codesPerProbe * nprobe);
          rows.add(row(searched, evaluator, params, queries, nq, d, nprobe == publishedParams.nprobe()));
        }
      }
    }
    Map<String, Object> summaryJson = Json.MAPPER.readValue(summary.toFile(),
        new TypeReference<Map<String, Object>>() {});
    @SuppressWarnings("unchecked")
    Map<String, Object> metrics = (Map<String, Object>) manifest.get("metrics");
    Map<String, Object> engine = new LinkedHashMap<>();
    engine.put("engine", "imgvec auto, " + label);
    engine.put("factory", index.get("factory") + (index.get("refine") == null ? ""
        : ", re-ranked against " + index.get("refine") + " x" + index.get("k_factor")));
    engine.put("published_nprobe", publishedParams.nprobe());
    engine.put("build_s", summaryJson.get("duration_s"));
    engine.put("bytes_per_vector", metrics.get("bytes_per_vector"));
    engine.put("outcome", manifest.get("outcome"));
    engine.put("settings", rows);
    return engine;
  }

  private static Map<String, Object> row(VectorSearch faiss, IndexEvaluator evaluator, SearchParams params,
      float[] queries, int nq, int d, boolean published) throws InterruptedException {
    IndexEvaluator.Metrics m = evaluator.measure(faiss, params);
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("nprobe", params.nprobe());
    row.put("published", published);
    row.put("recall_at_10", Numbers.round(m.recallAt10(), 4));
    row.put("p50_ms", Numbers.round(m.p50Ms(), 4));
    row.put("p99_ms", Numbers.round(m.p99Ms(), 4));
    row.put("machine_slowdown", Numbers.round(m.machine().slowdown(), 3));
    row.put("qps_2_threads", Numbers.round(qpsTwoThreads(faiss, params, queries, nq, d), 1));
    System.err.println("[peers] imgvec " + row);
    return row;
  }

  private static double qpsTwoThreads(VectorSearch faiss, SearchParams params, float[] queries, int nq, int d)
      throws InterruptedException {
    return TwoThreadThroughput.measure(() -> FaissIndex.setThreads(1), q -> faiss.search(
        Arrays.copyOfRange(queries, (q % nq) * d, (q % nq + 1) * d), 1, IndexEvaluator.K, params));
  }
}

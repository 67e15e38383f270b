package io.imgvec.index;

import io.imgvec.faiss.SearchParams;
import io.imgvec.published.ShardedIndex;
import io.imgvec.published.Sq8Vectors;
import io.imgvec.util.Numbers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What a built index's manifest says about it: the index, its search parameters, its metrics, lists and shards. */
final class BuildManifest {
  private BuildManifest() {}

  /**
   * The manifest of an index built with {@code plan} (its lists and timings are added by the builder): what it is,
   * its search parameters, what was measured, its shards.
   */
  static Map<String, Object> of(String modelId, List<String> metadataColumns, IndexPlan plan, SearchParams params,
      IndexEvaluator.Metrics metrics, ShardedIndex built, int nq, Path dir) throws IOException {
    long ntotal = built.ntotal();
    List<String> files = ShardedIndex.fileNames(built.shardCount());
    long bytes = 0;
    for (String file : files) {
      bytes += Files.size(dir.resolve(file));
    }
    if (plan.refines()) {
      bytes += Files.size(dir.resolve(Sq8Vectors.FILE));
    }
    Map<String, Object> index = new LinkedHashMap<>();
    index.put("type", plan.type());
    index.put("factory", plan.factory());
    index.put("nlist", plan.nlist());
    index.put("pq_m", plan.pqM());
    index.put("nprobe", params.nprobe());
    index.put("max_codes", params.maxCodes());
    if (params.efSearch() > 0) {
      index.put("ef_search", params.efSearch());
    }
    if (plan.refines()) { // the codes' candidates are re-ranked against the vectors stored in 8-bit codes
      index.put("refine", "SQ8");
      index.put("k_factor", params.kFactor() > 0 ? params.kFactor() : plan.kFactor()); // as tuned
    }
    index.put("train_size", plan.trainSize());
    index.put("reason", plan.reason());
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("model_id", modelId);
    m.put("dimension", built.dimension());
    m.put("metric", plan.metric().name());
    m.put("count", ntotal);
    m.put("id_bound", ntotal); // ids run from 0 to id_bound - 1 (update-index leaves gaps where it removes)
    m.put("trained_count", ntotal); // vectors when the index was trained: update-index's rebuild rule counts from it
    m.put("metadata_columns", metadataColumns);
    m.put("index", index);
    m.put("metrics", measured(metrics, nq, bytes, ntotal));
    if (built.shardCount() > 1) {
      List<Map<String, Object>> shards = new ArrayList<>();
      long[] firstIds = built.firstIds();
      for (int s = 0; s < files.size(); s++) {
        shards.add(Map.of("file", files.get(s), "first_id", firstIds[s]));
      }
      m.put("shards", shards);
    }
    return m;
  }

  /** The build's peak heap, beside the index's metrics. */
  @SuppressWarnings("unchecked")
  static void recordHeap(Map<String, Object> manifest, HeapSampler heap) {
    Map<String, Object> measured = (Map<String, Object>) manifest.get("metrics");
    measured.put("build_heap_max_used_mb", heap.maxUsedMb());
    measured.put("build_heap_max_live_mb", heap.maxLiveMb());
    measured.put("build_heap_limit_mb", heap.limitMb());
  }

  /** The manifest's metrics: recall and latency at the published setting (when measured) and size. */
  static Map<String, Object> measured(IndexEvaluator.Metrics metrics, int nq, long bytes, long ntotal) {
    Map<String, Object> measured = new LinkedHashMap<>();
    if (metrics != null) {
      measured.putAll(metrics.asMap());
      measured.put("eval_queries", nq);
    } else {
      measured.put("note", "fewer than 10 vectors: no held-out queries, recall not measured");
    }
    measured.put("index_bytes", bytes);
    measured.put("bytes_per_vector", IndexEvaluator.round4((double) bytes / Math.max(1, ntotal)));
    return measured;
  }

  /** How even the inverted lists are: a query scans whole lists, so the largest ones set the tail latency. */
  static Map<String, Object> listStats(long[] sizes, int split, double maxListFactor) {
    long[] sorted = sizes.clone();
    Arrays.sort(sorted);
    double mean = Arrays.stream(sorted).average().orElse(0);
    Map<String, Object> lists = new LinkedHashMap<>();
    lists.put("mean_size", IndexEvaluator.round4(mean));
    lists.put("p99_size", Numbers.percentile(sorted, 0.99));
    lists.put("max_size", sorted[sorted.length - 1]);
    lists.put("max_list_factor", maxListFactor);
    lists.put("split_in_training", split);
    return lists;
  }
}

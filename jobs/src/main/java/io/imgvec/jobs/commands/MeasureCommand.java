package io.imgvec.jobs.commands;

import io.imgvec.config.ConfigException;
import io.imgvec.faiss.SearchParams;
import io.imgvec.faiss.VectorSearch;
import io.imgvec.index.IndexEvaluator;
import io.imgvec.jobs.run.RunSummary;
import io.imgvec.pipeline.HadoopConfs;
import io.imgvec.published.HeldOutQueries;
import io.imgvec.published.IndexFetcher;
import io.imgvec.published.IndexLayout;
import io.imgvec.published.RerankedSearch;
import io.imgvec.published.ShardedIndex;
import io.imgvec.util.Numbers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * {@code imgvec measure}: times a published version again exactly as build-index did (one thread, one query per
 * search, warm-up, per-query medians of passes; see the manifest's latency_measurement), with the held-out queries it
 * published, and sets the result beside what the manifest reports. With {@code --queries}, on the caller's own query
 * vectors instead (latency only: their exact neighbours are unknown).
 */
public final class MeasureCommand {
  private MeasureCommand() {}

  /** Measures with the version's held-out queries. */
  public static RunSummary run(String indexUri) throws Exception {
    Published published = Published.open(indexUri);
    try (ShardedIndex index = published.index()) {
      Path file = published.dir().resolve(HeldOutQueries.FILE);
      if (!Files.exists(file)) {
        throw new ConfigException("version " + published.version() + " has no " + HeldOutQueries.FILE + " (built"
            + " before measure existed, or with fewer than 10 vectors): run build-index once, or measure on your"
            + " own queries with --queries");
      }
      HeldOutQueries heldOut = HeldOutQueries.read(file);
      IndexEvaluator.Metrics metrics = IndexEvaluator.ofPublished(heldOut).measure(published.searched(index),
          published.params());
      return published.summary(metrics, heldOut.count(), "the version's held-out queries (" + HeldOutQueries.FILE
          + ")");
    }
  }

  /** Measures latency with up to {@code limit} vectors of the embeddings at {@code queriesUri}. */
  public static RunSummary run(SparkSession spark, String indexUri, String queriesUri, int limit) throws Exception {
    Published published = Published.open(indexUri);
    try (ShardedIndex index = published.index()) {
      List<Row> rows = spark.read().parquet(queriesUri).select("embedding").limit(limit).collectAsList();
      if (rows.isEmpty()) {
        throw new ConfigException(queriesUri + " holds no embeddings to query with");
      }
      int d = index.dimension();
      float[] vectors = new float[rows.size() * d];
      for (int q = 0; q < rows.size(); q++) {
        List<Float> vector = rows.get(q).getList(0);
        if (vector.size() != d) {
          throw new ConfigException(queriesUri + " holds vectors of dimension " + vector.size() + "; the index has "
              + d);
        }
        for (int i = 0; i < d; i++) {
          vectors[q * d + i] = vector.get(i);
        }
      }
      IndexEvaluator.Metrics metrics = IndexEvaluator.forLatency(vectors, rows.size(), d)
          .measure(published.searched(index), published.params());
      return published.summary(metrics, rows.size(), "vectors of " + queriesUri + " (latency only)");
    }
  }

  /** A published version fetched into the local cache. */
  private record Published(String uri, Map<String, Object> manifest, Path dir) {
    static Published open(String uri) throws Exception {
      Configuration conf = HadoopConfs.configuration();
      Path cache = IndexFetcher.temporaryCache();
      Map<String, Object> manifest = IndexFetcher.fetch(uri, conf, cache);
      return new Published(uri, manifest, cache.resolve(String.valueOf(manifest.get("version"))));
    }

    String version() {
      return String.valueOf(manifest.get("version"));
    }

    SearchParams params() {
      return IndexLayout.searchParams(manifest);
    }

    ShardedIndex index() {
      return ShardedIndex.readVersion(manifest, dir, false);
    }

    /** {@code index} as the version is searched: through its refine stage where it has one. */
    VectorSearch searched(ShardedIndex index) throws java.io.IOException {
      RerankedSearch refine = RerankedSearch.ofVersion(manifest, index, dir);
      return refine != null ? refine : index;
    }

    @SuppressWarnings("unchecked")
    RunSummary summary(IndexEvaluator.Metrics metrics, int count, String queries) {
      Map<String, Object> reported = (Map<String, Object>) manifest.get("metrics");
      Map<String, Object> measured = metrics.asMap();
      Map<String, Object> comparison = new LinkedHashMap<>();
      for (String key : List.of("recall_at_10", "latency_p50_ms", "latency_p99_ms")) {
        if (reported.get(key) instanceof Number published && measured.get(key) instanceof Number now
            && !Double.isNaN(now.doubleValue())) {
          comparison.put(key + "_measured_over_reported", Numbers.round(now.doubleValue()
              / published.doubleValue(), 3));
        }
      }
      System.out.printf("%s: R@10 %s, p50 %s ms, p99 %s ms on %d queries, %s, the machine %.2fx slower than its"
          + " fastest (the manifest reports R@10 %s, p99 %s ms)%n",
          version(), measured.get("recall_at_10"), measured.get("latency_p50_ms"), measured.get("latency_p99_ms"),
          count, queries, metrics.machine().slowdown(), reported.get("recall_at_10"), reported.get("latency_p99_ms"));
      return new RunSummary("measure").put("index", uri).put("version", version())
          .put("factory", ((Map<String, Object>) manifest.get("index")).get("factory")).put("queries", queries)
          .put("query_count", count).put("measured", measured).put("reported", reported)
          .put("comparison", comparison).put("method", IndexEvaluator.method(count, metrics));
    }
  }
}

package io.imgvec.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.faiss.Metric;
import io.imgvec.index.ExactNeighbours;
import io.imgvec.index.IndexBuilder;
import io.imgvec.index.IndexPublisher;
import io.imgvec.index.VectorSource;
import io.imgvec.io.Json;
import io.imgvec.published.PublishedIndex;
import io.imgvec.serving.IndexServer;
import io.imgvec.util.Numbers;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;

/**
 * Filtered search, measured as Qdrant measures it: the synthetic 1M x 512 set of bench/index.sh indexed by the auto
 * build with its defaults (which keep a re-rank store for an index with metadata columns) and four columns whose
 * value "yes" marks 50%, 10%, 1% and 0.1% of the vectors (by a hash of the row). For each filter, 1,000 queries
 * searched one at a time on one thread, timed in the second of two passes (the first warms the JIT and the filter's
 * first use): R@10 against the exact nearest matching neighbours (brute force over the matching rows), p50/p99
 * in-process ({@link PublishedIndex#search}, which switches strategy by selectivity) and through {@code serve} (HTTP
 * POST /search, one connection); and the naive peer: an unfiltered search of k / selectivity x 2 candidates, then
 * the matching ones kept.
 *
 * <p>Usage: FilteredSearchBench <data dir (base.f32, queries.f32, dimension)> <work dir>
 */
public final class FilteredSearchBench {
  private static final int QUERIES = 1000;
  private static final int K = 10;
  private static final Map<String, Integer> PER_MILLE = Map.of("half", 500, "tenth", 100, "hundredth", 10,
      "thousandth", 1);
  private static final List<String> COLUMNS = List.of("half", "tenth", "hundredth", "thousandth");

  public static void main(String[] args) throws Exception {
    Path data = Path.of(args[0]);
    Path work = Files.createDirectories(Path.of(args[1]));
    int d = Integer.parseInt(Files.readString(data.resolve("dimension")).trim());
    Path base = data.resolve("base.f32");
    int n = (int) VectorFiles.rows(base, d);
    float[] queries = VectorFiles.read(data.resolve("queries.f32"), d, 0, QUERIES);
    String uri = work.resolve("published").toString();
    if (!Files.exists(work.resolve("published/LATEST"))) {
      IndexBuilder.BuiltIndex built = new IndexBuilder(new FileVectorSource(base, n, d),
          IndexBuilder.Options.from(ImgvecConfig.defaults()), System.err::println).build(work.resolve("build"));
      IndexPublisher.publish(built, uri, 1, new Configuration());
    }
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("benchmark", "filtered-search");
    report.put("count", n);
    report.put("dimension", d);
    report.put("queries", QUERIES);
    List<Map<String, Object>> filters = new ArrayList<>();
    try (PublishedIndex index = PublishedIndex.open(uri, new Configuration(), work.resolve("cache"),
        new PublishedIndex.LoadOptions(false, true));
        IndexServer server = IndexServer.start(uri, "127.0.0.1", 0, ImgvecConfig.defaults(), new Configuration())) {
      report.put("index", index.manifest().get("index"));
      for (String column : COLUMNS) {
        filters.add(measure(index, server, base, n, d, queries, column));
      }
    }
    report.put("filters", filters);
    System.out.println(Json.PRETTY.writeValueAsString(report));
  }

  private static Map<String, Object> measure(PublishedIndex index, IndexServer server, Path base, int n, int d,
      float[] queries, String column) throws Exception {
    ExactNeighbours truth = exactAmongMatching(base, n, d, queries, column);
    Map<String, String> filter = Map.of(column, "yes");
    long[][] found = new long[QUERIES][];
    long[] inProcess = new long[QUERIES];
    int overFetch = (int) Math.min(n, Math.ceil(K * 1000.0 / PER_MILLE.get(column) * 2));
    long[][] naive = new long[QUERIES][];
    long[] naiveNanos = new long[QUERIES];
    for (int pass = 0; pass < 2; pass++) { // the first warms the JIT and builds the filter's ids and bitmap
      for (int q = 0; q < QUERIES; q++) {
        float[] v = Arrays.copyOfRange(queries, q * d, (q + 1) * d);
        long t = System.nanoTime();
        List<PublishedIndex.Neighbor> hits = index.search(new float[][] {v}, K, 0, filter, Long.MAX_VALUE).get(0);
        inProcess[q] = System.nanoTime() - t;
        found[q] = hits.stream().mapToLong(PublishedIndex.Neighbor::id).toArray();
      }
      for (int q = 0; q < QUERIES; q++) {
        float[] v = Arrays.copyOfRange(queries, q * d, (q + 1) * d);
        long t = System.nanoTime();
        List<PublishedIndex.Neighbor> hits = index.search(new float[][] {v}, overFetch, 0, Map.of(),
            Long.MAX_VALUE).get(0);
        naive[q] = hits.stream().mapToLong(PublishedIndex.Neighbor::id).filter(id -> matches(id, column))
            .limit(K).toArray();
        naiveNanos[q] = System.nanoTime() - t;
      }
    }
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("filter", column + "=yes");
    row.put("selectivity", PER_MILLE.get(column) / 1000.0);
    row.put("recall_at_10", Numbers.round(recall(found, truth), 4));
    row.put("in_process", percentiles(inProcess));
    overHttp(server, queries, d, column); // warm-up, as in-process
    row.put("through_server", percentiles(overHttp(server, queries, d, column)));
    Map<String, Object> peer = new LinkedHashMap<>();
    peer.put("over_fetch", overFetch);
    peer.put("recall_at_10", Numbers.round(recall(naive, truth), 4));
    peer.putAll(percentiles(naiveNanos));
    row.put("naive_post_filter", peer);
    System.err.println("[bench] " + row);
    return row;
  }

  /** Whether row {@code id} has "yes" in {@code column}: a hash of the row, below the column's share per mille. */
  private static boolean matches(long id, String column) {
    long h = id * 0x9E3779B97F4A7C15L;
    return Long.remainderUnsigned(h ^ (h >>> 29), 1000) < PER_MILLE.get(column);
  }

  private static ExactNeighbours exactAmongMatching(Path base, int n, int d, float[] queries, String column)
      throws IOException {
    ExactNeighbours truth = new ExactNeighbours(queries, QUERIES, d, K, Metric.L2);
    int batch = 50_000;
    for (int from = 0; from < n; from += batch) {
      int count = Math.min(batch, n - from);
      float[] vectors = VectorFiles.read(base, d, from, count);
      float[] kept = new float[count * d];
      long[] ids = new long[count];
      int m = 0;
      for (int i = 0; i < count; i++) {
        if (matches(from + i, column)) {
          System.arraycopy(vectors, i * d, kept, m * d, d);
          ids[m++] = from + i;
        }
      }
      truth.addBase(kept, ids, m);
    }
    return truth;
  }

  private static double recall(long[][] found, ExactNeighbours truth) {
    int hits = 0;
    for (int q = 0; q < QUERIES; q++) {
      long nearest = truth.ids(q)[0];
      hits += Arrays.stream(found[q]).anyMatch(id -> id == nearest) ? 1 : 0;
    }
    return hits / (double) QUERIES;
  }

  /** Each query POSTed to /search with the filter, one at a time on one connection: the round-trip times. */
  private static long[] overHttp(IndexServer server, float[] queries, int d, String column) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    URI search = URI.create("http://127.0.0.1:" + server.port() + "/search");
    long[] nanos = new long[QUERIES];
    for (int q = 0; q < QUERIES; q++) {
      String body = "{\"vector\": " + Json.line(Arrays.copyOfRange(queries, q * d, (q + 1) * d)) + ", \"k\": " + K
          + ", \"filter\": {\"" + column + "\": \"yes\"}}";
      long t = System.nanoTime();
      HttpResponse<String> response = http.send(HttpRequest.newBuilder(search)
          .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
      nanos[q] = System.nanoTime() - t;
      if (response.statusCode() != 200) {
        throw new IllegalStateException("POST /search answered " + response.statusCode() + ": " + response.body());
      }
      JsonNode neighbors = Json.MAPPER.readTree(response.body()).get("neighbors");
      if (neighbors.isEmpty()) {
        throw new IllegalStateException("POST /search found nothing for " + column + "=yes");
      }
    }
    return nanos;
  }

  private static Map<String, Object> percentiles(long[] nanos) {
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("p50_ms", Numbers.round(Numbers.percentile(sorted, 0.5) / 1e6, 3));
    out.put("p99_ms", Numbers.round(Numbers.percentile(sorted, 0.99) / 1e6, 3));
    return out;
  }

  /** base.f32 as embeddings: image_id "v<row>", and the four filter columns. */
  private record FileVectorSource(Path file, int n, int d) implements VectorSource {
    @Override
    public Stats stats() {
      return new Stats(n, Set.of(d), Set.of("synthetic"));
    }

    @Override
    public List<String> metadataColumns() {
      return COLUMNS;
    }

    @Override
    public void scan(int batchSize, BatchConsumer consumer) throws IOException {
      for (int from = 0; from < n; from += batchSize) {
        int count = Math.min(batchSize, n - from);
        String[] ids = new String[count];
        String[] uris = new String[count];
        String[][] metadata = new String[count][COLUMNS.size()];
        for (int i = 0; i < count; i++) {
          ids[i] = "v" + (from + i);
          uris[i] = "synthetic://" + (from + i);
          for (int c = 0; c < COLUMNS.size(); c++) {
            metadata[i][c] = matches(from + i, COLUMNS.get(c)) ? "yes" : "no";
          }
        }
        consumer.accept(new Batch(VectorFiles.read(file, d, from, count), ids, uris, metadata, null, count, d));
      }
    }
  }
}

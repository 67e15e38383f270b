package io.imgvec.serving;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.image.ImageDecoder;
import io.imgvec.image.ImageError;
import io.imgvec.io.Json;
import io.imgvec.pipeline.QueryImageEmbedder;
import io.imgvec.published.PublishedIndex;
import io.imgvec.published.PublishedIndex.Neighbor;
import io.imgvec.util.Numbers;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;

/**
 * The search endpoints' logic, apart from HTTP: validates a request, searches the version being served and builds
 * the response. Every refusal is a {@link RequestException} with the status and a reason.
 */
final class SearchApi {
  static final int MAX_K = 1000;
  private static final Set<String> SEARCH_FIELDS = Set.of("vector", "image_id", "k", "nprobe", "filter");
  private static final Set<String> BATCH_FIELDS = Set.of("vectors", "k", "nprobe", "filter");

  private final IndexHolder holder;
  private final ImgvecConfig config;
  private final Configuration hadoopConf;
  private final int maxBatch;
  private final long maxBatchResults;
  private final long maxScan;
  private final ImageDecoder decoder;
  /** One query-image embedder per model the served versions were built with (usually one). */
  private final Map<String, QueryImageEmbedder> embedders = new ConcurrentHashMap<>();

  SearchApi(IndexHolder holder, ImgvecConfig config, Configuration hadoopConf) {
    this.holder = holder;
    this.config = config;
    this.hadoopConf = hadoopConf;
    this.maxBatch = config.get(ConfigKeys.SERVE_MAX_BATCH);
    this.maxBatchResults = config.get(ConfigKeys.SERVE_MAX_BATCH_RESULTS);
    this.maxScan = config.get(ConfigKeys.SERVE_MAX_SCAN_PER_REQUEST);
    this.decoder = new ImageDecoder(config.get(ConfigKeys.SERVE_MAX_IMAGE_PIXELS), "serve.max-image-pixels");
  }

  /** {@code POST /search}: {"vector": [...]} or {"image_id": "..."}, with optional k, nprobe and filter. */
  Map<String, Object> search(byte[] body) throws RequestException {
    JsonNode request = parse(body, SEARCH_FIELDS);
    boolean byVector = request.has("vector");
    if (byVector == request.has("image_id")) {
      throw new RequestException(400, "give exactly one of \"vector\" and \"image_id\"");
    }
    int k = k(request.get("k"));
    try (IndexHolder.Lease lease = served()) {
      PublishedIndex index = lease.index();
      float[] vector = byVector ? vector(request.get("vector"), index.dimension(), "vector")
          : vectorOf(index, request.get("image_id"));
      return answer(index, List.of(vector), k, request, false);
    }
  }

  /** {@code POST /search/batch}: {"vectors": [[...], ...]} with optional k, nprobe and filter. */
  Map<String, Object> searchBatch(byte[] body) throws RequestException {
    JsonNode request = parse(body, BATCH_FIELDS);
    JsonNode vectors = request.get("vectors");
    if (vectors == null || !vectors.isArray() || vectors.isEmpty()) {
      throw new RequestException(400, "\"vectors\" must be a non-empty array of vectors");
    }
    if (vectors.size() > maxBatch) {
      throw new RequestException(400, vectors.size() + " vectors in one batch; at most " + maxBatch
          + " (serve.max-batch)");
    }
    int k = k(request.get("k"));
    if ((long) vectors.size() * k > maxBatchResults) {
      throw new RequestException(400, vectors.size() + " vectors x k=" + k + " asks for more than " + maxBatchResults
          + " results (serve.max-batch-results); send fewer vectors or a smaller k");
    }
    try (IndexHolder.Lease lease = served()) {
      PublishedIndex index = lease.index();
      List<float[]> queries = new ArrayList<>();
      for (int i = 0; i < vectors.size(); i++) {
        queries.add(vector(vectors.get(i), index.dimension(), "vectors[" + i + "]"));
      }
      return answer(index, queries, k, request, true);
    }
  }

  /**
   * {@code POST /search/image?k=N}: the body is an encoded image, embedded with the model settings recorded in the
   * served index (same decoder, pixel limit and preprocessing as the embed job).
   */
  Map<String, Object> searchImage(byte[] body, String kParam) throws RequestException {
    int k = kParam == null ? 10 : parseK(kParam);
    try (IndexHolder.Lease lease = served()) {
      PublishedIndex index = lease.index();
      float[] vector;
      try {
        vector = embedderFor(index).embed(body);
      } catch (ImageError e) {
        boolean unsupported = e.errorClass().equals("unsupported_format") || e.errorClass().equals("unknown_format")
            || e.errorClass().equals("empty_file");
        int status = e.errorClass().equals("too_many_pixels") ? 413 : unsupported ? 415 : 422;
        throw new RequestException(status, e.errorClass() + ": " + e.getMessage());
      }
      return answer(index, List.of(vector), k, null, false);
    }
  }

  /** {@code GET /readyz}'s body, or a 503 while no version is loaded. */
  Map<String, Object> ready() throws RequestException {
    try (IndexHolder.Lease lease = served()) {
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("status", "ready");
      out.put("version", lease.index().version());
      out.put("model_id", lease.index().modelId());
      out.put("vectors", lease.index().size());
      out.put("seconds_since_successful_poll", Numbers.round(holder.millisSinceSuccessfulPoll() / 1000.0, 1));
      IndexHolder.Failure failure = holder.lastFailure();
      if (failure != null) {
        out.put("last_failure", Map.of("version", failure.version(), "error", failure.error(),
            "seconds_ago", Numbers.round((System.currentTimeMillis() - failure.atMillis()) / 1000.0, 1)));
      }
      return out;
    }
  }

  private IndexHolder.Lease served() throws RequestException {
    IndexHolder.Lease lease = holder.acquire();
    if (lease == null) {
      throw new RequestException(503, "no index version is loaded yet");
    }
    return lease;
  }

  private Map<String, Object> answer(PublishedIndex index, List<float[]> vectors, int k, JsonNode request,
      boolean batch) throws RequestException {
    int nprobe = request == null ? 0 : nprobe(request.get("nprobe"));
    Map<String, String> filter = request == null ? Map.of() : filter(request.get("filter"));
    long start = System.nanoTime();
    List<List<Neighbor>> results;
    try {
      results = index.search(vectors.toArray(float[][]::new), k, nprobe, filter, maxScan);
    } catch (IllegalArgumentException e) { // an unknown filter column or too broad a filter: the message says which
      throw new RequestException(400, e.getMessage());
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("version", index.version());
    out.put("model_id", index.modelId());
    out.put("took_ms", Numbers.round((System.nanoTime() - start) / 1e6, 3));
    if (batch) {
      out.put("results", results.stream().map(r -> Map.of("neighbors", Neighbor.rows(r))).toList());
    } else {
      out.put("neighbors", Neighbor.rows(results.get(0)));
    }
    return out;
  }

  private QueryImageEmbedder embedderFor(PublishedIndex index) throws RequestException {
    Map<String, String> settings = index.modelSettings(); // the model.uri in them is the server's (IndexServer)
    String key = index.modelId() + "|" + settings;
    try {
      QueryImageEmbedder embedder = embedders.get(key);
      if (embedder == null) { // racing first requests may both build one: the model itself loads once (cache)
        embedder = new QueryImageEmbedder(config, settings, index.modelId(), hadoopConf, decoder);
        embedders.put(key, embedder);
      }
      return embedder;
    } catch (IOException | RuntimeException e) {
      throw new RequestException(503, "cannot load the index's model for image queries: " + e.getMessage());
    }
  }

  private static JsonNode parse(byte[] body, Set<String> fields) throws RequestException {
    JsonNode request;
    try {
      request = Json.MAPPER.readTree(body);
    } catch (JsonProcessingException e) {
      throw new RequestException(400, "malformed JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new RequestException(400, "unreadable body: " + e.getMessage());
    }
    if (request == null || !request.isObject()) {
      throw new RequestException(400, "the body must be a JSON object");
    }
    for (Iterator<String> names = request.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!fields.contains(name)) {
        throw new RequestException(400, "unknown field \"" + name + "\"; fields: " + fields);
      }
    }
    return request;
  }

  private static float[] vector(JsonNode node, int dimension, String what) throws RequestException {
    if (node == null || !node.isArray()) {
      throw new RequestException(400, "\"" + what + "\" must be an array of numbers");
    }
    if (node.size() != dimension) {
      throw new RequestException(400, "\"" + what + "\" has " + node.size() + " numbers; the index has dimension "
          + dimension);
    }
    float[] v = new float[dimension];
    for (int i = 0; i < dimension; i++) {
      JsonNode x = node.get(i);
      if (!x.isNumber() || !Float.isFinite((float) x.doubleValue())) {
        throw new RequestException(400, "\"" + what + "\"[" + i + "] is not a finite number: " + x);
      }
      v[i] = (float) x.doubleValue();
    }
    return v;
  }

  private static float[] vectorOf(PublishedIndex index, JsonNode imageId) throws RequestException {
    if (!imageId.isTextual()) {
      throw new RequestException(400, "\"image_id\" must be a string");
    }
    float[] v = index.vectorOf(imageId.asText());
    if (v == null) {
      throw new RequestException(404, "image_id \"" + imageId.asText() + "\" is not in index version "
          + index.version());
    }
    return v;
  }

  private static int k(JsonNode node) throws RequestException {
    if (node == null) {
      return 10;
    }
    if (!node.canConvertToInt() || !node.isIntegralNumber()) {
      throw new RequestException(400, "\"k\" must be a whole number from 1 to " + MAX_K);
    }
    return checkK(node.intValue());
  }

  private static int parseK(String k) throws RequestException {
    try {
      return checkK(Integer.parseInt(k));
    } catch (NumberFormatException e) {
      throw new RequestException(400, "k must be a whole number from 1 to " + MAX_K + ", got '" + k + "'");
    }
  }

  private static int checkK(int k) throws RequestException {
    if (k < 1 || k > MAX_K) {
      throw new RequestException(400, "k must be from 1 to " + MAX_K + ", got " + k);
    }
    return k;
  }

  private static int nprobe(JsonNode node) throws RequestException {
    if (node == null) {
      return 0;
    }
    if (!node.isIntegralNumber() || !node.canConvertToInt() || node.intValue() < 1) {
      throw new RequestException(400, "\"nprobe\" must be a whole number >= 1");
    }
    return node.intValue();
  }

  private static Map<String, String> filter(JsonNode node) throws RequestException {
    if (node == null) {
      return Map.of();
    }
    if (!node.isObject()) {
      throw new RequestException(400, "\"filter\" must be an object of column: value");
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isValueNode() || e.getValue().isNull()) {
        throw new RequestException(400, "filter value of \"" + e.getKey() + "\" must be a string or number");
      }
      out.put(e.getKey(), e.getValue().asText());
    }
    return out;
  }
}

package io.imgvec.serving;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.imgvec.TestImages;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.index.IndexBuilder;
import io.imgvec.index.IndexPublisher;
import io.imgvec.index.VectorSource;
import io.imgvec.io.Json;
import io.imgvec.pipeline.QueryImageEmbedder;
import io.imgvec.published.IndexFetcher;
import io.imgvec.published.IndexLayout;
import io.imgvec.published.PublishedIndex;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The query server over real HTTP on loopback, over an index of real photos embedded with the shipped model. */
class ServerTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final Configuration CONF = new Configuration();

  @TempDir static Path tmp;
  static List<String> imageIds = new ArrayList<>();
  static IndexBuilder.BuiltIndex built;
  static String indexUri;
  static IndexServer server;

  /** Real photos and the re-encodings of one photo; image_id = folder/name, metadata column "folder". */
  @BeforeAll
  static void publishAndServe() throws Exception {
    ImgvecConfig config = ImgvecConfig.defaults();
    PublishedIndexFixture fixture = PublishedIndexFixture.embed(config, List.of("photos", "near-duplicates"));
    imageIds = fixture.imageIds();
    built = new IndexBuilder(fixture, IndexBuilder.Options.from(config), m -> { }).build(
        Files.createDirectories(tmp.resolve("built")));
    indexUri = tmp.resolve("index").toUri().toString();
    IndexPublisher.publish(built, indexUri, 3, CONF);
    server = IndexServer.start(indexUri, "127.0.0.1", 0, config.with(Map.of("serve.max-body-bytes", "2m",
        "serve.poll-seconds", "3600")), CONF);
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  @Test
  void healthReadinessAndMetrics() throws Exception {
    assertEquals(200, get("/healthz").statusCode());
    HttpResponse<String> ready = get("/readyz");
    assertEquals(200, ready.statusCode());
    assertEquals(imageIds.size(), Json.MAPPER.readTree(ready.body()).get("vectors").asInt());
    post("/search", "{\"image_id\": \"photos/china.jpg\", \"k\": 1}");
    String metrics = get("/metrics").body();
    for (String series : List.of("imgvec_serve_requests_total{endpoint=\"/search\",status=\"200\"}",
        "imgvec_serve_request_duration_seconds_bucket{endpoint=\"/search\",le=\"0.01\"}",
        "imgvec_serve_index_vectors " + imageIds.size() + ".0", "imgvec_serve_index_bytes ",
        "imgvec_serve_reloads_total ", "imgvec_serve_reload_failures_total ", "imgvec_serve_index_version_info{")) {
      assertTrue(metrics.contains(series), series + " in\n" + metrics);
    }
  }

  @Test
  void searchByVectorByIdAndInBatch() throws Exception {
    JsonNode byId = json(post("/search", "{\"image_id\": \"photos/china.jpg\", \"k\": 3}"), 200);
    assertEquals("photos/china.jpg", byId.get("neighbors").get(0).get("image_id").asText());
    assertEquals(3, byId.get("neighbors").size());
    for (String field : List.of("version", "model_id", "took_ms")) {
      assertTrue(byId.has(field), field);
    }
    String vector = Json.line(vectorOf("photos/china.jpg"));
    JsonNode byVector = json(post("/search", "{\"vector\": " + vector + ", \"k\": 2}"), 200);
    assertEquals("photos/china.jpg", byVector.get("neighbors").get(0).get("image_id").asText());
    assertEquals(0.0, byVector.get("neighbors").get(0).get("distance").asDouble(), 1e-4);
    JsonNode batch = json(post("/search/batch", "{\"vectors\": [" + vector + ", "
        + Json.line(vectorOf("near-duplicates/flower.png")) + "], \"k\": 1}"), 200);
    assertEquals("photos/china.jpg", batch.get("results").get(0).get("neighbors").get(0).get("image_id").asText());
    assertEquals("near-duplicates/flower.png",
        batch.get("results").get(1).get("neighbors").get(0).get("image_id").asText());
  }

  @Test
  void searchByImageReturnsTheReEncodingsOfThePhotoFirst() throws Exception {
    byte[] photo = TestImages.bytes("near-duplicates/flower_q85_420.jpg");
    JsonNode r = json(HTTP.send(HttpRequest.newBuilder(uri("/search/image?k=7"))
        .POST(HttpRequest.BodyPublishers.ofByteArray(photo)).build(), HttpResponse.BodyHandlers.ofString()), 200);
    Set<String> top = new HashSet<>();
    r.get("neighbors").forEach(n -> top.add(n.get("image_id").asText()));
    Set<String> encodings = new HashSet<>();
    TestImages.list("near-duplicates").forEach(p -> encodings.add("near-duplicates/" + p.getFileName()));
    assertEquals(encodings, top, "the 7 nearest are the 7 encodings of the photo, among " + imageIds.size());
    assertEquals("near-duplicates/flower_q85_420.jpg", r.get("neighbors").get(0).get("image_id").asText());
  }

  @Test
  void filtersRestrictToMatchingIdsEvenWhenFewMatch() throws Exception {
    JsonNode photos = json(post("/search", "{\"image_id\": \"near-duplicates/flower.png\", \"k\": 5,"
        + " \"filter\": {\"folder\": \"photos\"}}"), 200);
    assertEquals(5, photos.get("neighbors").size());
    photos.get("neighbors").forEach(n -> assertTrue(n.get("image_id").asText().startsWith("photos/"), n.toString()));
    JsonNode one = json(post("/search", "{\"image_id\": \"photos/china.jpg\", \"k\": 10,"
        + " \"filter\": {\"name\": \"flower_q85_gray.jpg\"}}"), 200);
    assertEquals(1, one.get("neighbors").size(), "only one id matches, and it is found however far it is");
    assertEquals("near-duplicates/flower_q85_gray.jpg", one.get("neighbors").get(0).get("image_id").asText());
    assertError(post("/search", "{\"image_id\": \"photos/china.jpg\", \"filter\": {\"colour\": \"red\"}}"), 400,
        "cannot filter on 'colour'");
  }

  @Test
  void badRequestsGetAReasonAndTheServerStaysHealthy() throws Exception {
    String ok = Json.line(vectorOf("photos/china.jpg"));
    assertError(post("/search", "{\"vector\": " + ok + ", \"k\": 0}"), 400, "k must be from 1 to 1000");
    assertError(post("/search", "{\"vector\": " + ok + ", \"k\": 1001}"), 400, "k must be from 1 to 1000");
    assertError(post("/search", "{\"vector\": [1, 2, 3]}"), 400, "has 3 numbers; the index has dimension 1280");
    assertError(post("/search", "{\"vector\": " + ok.replaceFirst("[-0-9.Ee]+", "1e999") + "}"), 400,
        "is not a finite number");
    assertError(post("/search", "{\"vector\": [1, 2"), 400, "malformed JSON");
    assertError(post("/search", "{\"vectr\": []}"), 400, "unknown field \"vectr\"");
    assertError(post("/search", "{\"image_id\": \"no-such-image\"}"), 404, "is not in index version");
    String tooLarge = headersOnly("POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + (3 << 20)
        + "\r\n\r\n"); // the declared length alone gets the answer: it cannot race the upload
    assertTrue(tooLarge.startsWith("HTTP/1.1 413 ") && tooLarge.contains("over the limit of 2097152 bytes"),
        tooLarge);
    assertError(postImage(TestImages.bytes("bad/androstanRezeptor.tga")), 415, "unsupported_format");
    assertError(postImage(TestImages.bytes("bad/skimage-truncated.jpg")), 422, "truncated_image");
    assertError(postImage("not an image".getBytes()), 415, "unknown_format");
    assertError(get("/nowhere"), 404, "no endpoint /nowhere");
    assertError(get("/search"), 405, "use POST");
    for (HttpResponse<String> r : List.of(post("/search", "{\"vector\": [1, 2"), get("/nowhere"))) {
      assertFalse(r.body().contains("\tat ") || r.body().contains("Exception"), r.body());
    }
    assertEquals(200, get("/healthz").statusCode());
    assertEquals(200, post("/search", "{\"vector\": " + ok + "}").statusCode());
  }

  @Test
  void hotReloadUnderLoadNeverFailsARequestAndEndsOnLatest() throws Exception {
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger done = new AtomicInteger();
    List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    ExecutorService clients = Executors.newFixedThreadPool(4);
    List<Future<?>> running = new ArrayList<>();
    String body = "{\"image_id\": \"photos/china.jpg\", \"k\": 5}";
    for (int c = 0; c < 4; c++) {
      running.add(clients.submit(() -> {
        while (!stop.get()) {
          HttpResponse<String> r = post("/search", body);
          if (r.statusCode() != 200) {
            failures.add(r.statusCode() + " " + r.body());
          }
          done.incrementAndGet();
        }
        return null;
      }));
    }
    List<Integer> answeredDuring = new ArrayList<>();
    try {
      for (int i = 0; i < 10; i++) {
        int before = done.get();
        IndexPublisher.publish(built, indexUri, 3, CONF);
        assertTrue(server.reloadNow(), "publish " + i + " is picked up");
        answeredDuring.add(done.get() - before);
      }
    } finally {
      stop.set(true);
      for (Future<?> f : running) {
        f.get();
      }
      clients.shutdown();
    }
    assertEquals(List.of(), failures);
    assertTrue(answeredDuring.stream().allMatch(n -> n > 0), "requests answered during each publish and reload: "
        + answeredDuring);
    assertEquals(IndexFetcher.latestVersion(indexUri, CONF),
        json(get("/readyz"), 200).get("version").asText());
  }

  @Test
  void aBrokenVersionIsRefusedAndTheCurrentOneKeepsServing() throws Exception {
    String serving = json(get("/readyz"), 200).get("version").asText();
    Map<String, Object> broken = IndexPublisher.publish(built, indexUri, 3, CONF);
    Path brokenIndex = Path.of(URI.create(indexUri)).resolve("versions/" + broken.get("version") + "/index.faiss");
    Files.write(brokenIndex, new byte[] {1, 2, 3}); // the manifest's checksum no longer matches
    assertFalse(server.reloadNow());
    assertEquals(serving, json(get("/readyz"), 200).get("version").asText());
    assertTrue(get("/metrics").body().contains("imgvec_serve_reload_failures_total 1.0"));
    assertEquals(200, post("/search", "{\"image_id\": \"photos/china.jpg\"}").statusCode());
    IndexPublisher.publish(built, indexUri, 3, CONF); // a good version after the broken one is taken
    assertTrue(server.reloadNow());
  }

  @Test
  void manifestsNamingPathsUnknownVersionsOrAnotherModelAreRefusedAndTheCurrentOneKeepsServing() throws Exception {
    String serving = json(get("/readyz"), 200).get("version").asText();
    Path root = Path.of(URI.create(indexUri));
    Path latest = root.resolve(IndexLayout.LATEST);
    String good = Files.readString(latest);
    Map<String, Object> published = IndexPublisher.publish(built, indexUri, 3, CONF);
    Path manifest = root.resolve("versions/" + published.get("version") + "/manifest.json");
    String original = Files.readString(manifest);
    Path escaped = tmp.resolve("escaped.faiss");
    try {
      Files.writeString(manifest, original.replace("\"ids.tsv.gz\"", "\"../../../escaped.faiss\""));
      assertFalse(server.reloadNow());
      assertFalse(Files.exists(escaped), "nothing written outside the server's cache");
      Files.writeString(latest, "../../../etc\n");
      assertFalse(server.reloadNow());
      JsonNode failure = json(get("/readyz"), 200).get("last_failure");
      assertTrue(failure.get("error").asText().contains("not a name build-index publishes"), failure.toString());
      Files.writeString(latest, published.get("version") + "\n");
      @SuppressWarnings("unchecked")
      Map<String, Object> withModel = Json.MAPPER.readValue(original, Map.class);
      withModel.put("model", Map.of("settings", Map.of("model.uri", "file:/tmp/someone-elses.onnx")));
      Files.writeString(manifest, Json.line(withModel));
      assertFalse(server.reloadNow());
      failure = json(get("/readyz"), 200).get("last_failure");
      assertTrue(failure.get("error").asText().contains("names model.uri=file:/tmp/someone-elses.onnx"),
          failure.toString());
      assertEquals(serving, json(get("/readyz"), 200).get("version").asText());
      assertTrue(get("/metrics").body().contains("imgvec_serve_refused_versions_total 3.0"));
    } finally {
      Files.writeString(manifest, original);
      Files.writeString(latest, good);
    }
  }

  @Test
  void anErrorThrownWhileLoadingNeitherStopsThePollerNorTheServing() throws Exception {
    try (IndexServer polling = IndexServer.start(indexUri, "127.0.0.1", 0,
        ImgvecConfig.of(Map.of("serve.poll-seconds", "1")), CONF)) {
      String serving = json(get(polling, "/readyz"), 200).get("version").asText();
      AtomicInteger loads = new AtomicInteger();
      IndexHolder.loadHook = () -> {
        if (loads.incrementAndGet() == 1) {
          throw new OutOfMemoryError("injected by the test");
        }
      };
      try {
        String next = String.valueOf(IndexPublisher.publish(built, indexUri, 3, CONF).get("version"));
        JsonNode ready = awaitReady(polling, r -> r.has("last_failure"));
        assertEquals(serving, ready.get("version").asText(), "still serving the version it had");
        assertTrue(ready.get("last_failure").get("error").asText().contains("OutOfMemoryError"), ready.toString());
        assertEquals(next, awaitReady(polling, r -> r.get("version").asText().equals(next)).get("version").asText(),
            "the poller retried after its backoff and took the new version");
        assertTrue(get(polling, "/metrics").body().contains("imgvec_serve_reload_failures_total 1.0"));
      } finally {
        IndexHolder.loadHook = () -> { };
      }
    }
  }

  @Test
  void batchesAndFiltersOverTheirCapsGet400AndAFilterMatchingEveryIdAnswers() throws Exception {
    String v = Json.line(vectorOf("photos/china.jpg"));
    String vectors = String.join(", ", java.util.Collections.nCopies(101, v));
    assertError(post("/search/batch", "{\"vectors\": [" + vectors + "], \"k\": 1000}"), 400,
        "serve.max-batch-results");
    JsonNode all = json(post("/search", "{\"image_id\": \"photos/china.jpg\", \"k\": " + imageIds.size()
        + ", \"filter\": {\"folder\": \"photos\"}}"), 200);
    long photos = imageIds.stream().filter(id -> id.startsWith("photos/")).count();
    assertEquals(photos, all.get("neighbors").size(), "every photo, none of the others");
    try (IndexServer capped = IndexServer.start(indexUri, "127.0.0.1", 0,
        ImgvecConfig.of(Map.of("serve.max-scan-per-request", "5")), CONF)) {
      assertError(HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + capped.port() + "/search"))
          .POST(HttpRequest.BodyPublishers.ofString("{\"image_id\": \"photos/china.jpg\", \"filter\": {\"folder\":"
              + " \"photos\"}}")).build(), HttpResponse.BodyHandlers.ofString()), 400, "serve.max-scan-per-request");
    }
  }

  private static JsonNode awaitReady(IndexServer s, java.util.function.Predicate<JsonNode> condition) {
    return await("/readyz").atMost(60, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(100))
        .until(() -> json(get(s, "/readyz"), 200), condition::test);
  }

  private static HttpResponse<String> get(IndexServer s, String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /**
   * A request refused before its body is read (here 405: /search takes POST, not PUT) whose body is still on the way:
   * the server reads it before answering, so the client gets the answer rather than a reset connection, and the
   * connection goes on to answer the next request (a CI run under load lost a 401 this way).
   */
  @Test
  void aRefusalWaitsForTheBodyStillOnItsWay() throws Exception {
    String body = "{\"image_id\": \"photos/china.jpg\", \"k\": 3}";
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(30_000);
      java.io.OutputStream out = socket.getOutputStream();
      out.write(("PUT /search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + body.length() + "\r\n\r\n")
          .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      out.flush();
      Thread.sleep(500); // the server has the headers, and refuses, before the body comes
      out.write((body + "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").getBytes(
          java.nio.charset.StandardCharsets.US_ASCII));
      StringBuilder answers = new StringBuilder();
      java.io.InputStream in = socket.getInputStream();
      byte[] buffer = new byte[8192];
      for (int n; !answers.toString().contains("alive") && (n = in.read(buffer)) > 0; ) {
        answers.append(new String(buffer, 0, n, java.nio.charset.StandardCharsets.UTF_8));
      }
      assertTrue(answers.toString().startsWith("HTTP/1.1 405") && answers.toString().contains("use POST"),
          answers.toString());
      assertTrue(answers.toString().contains("HTTP/1.1 200"), "the connection answers the next request: " + answers);
    }
  }

  /**
   * Refused requests whose bodies never come, more than the server has threads: waiting for them holds none, so the
   * server goes on answering.
   */
  @Test
  void refusalsWaitingForABodyHoldNoThread() throws Exception {
    List<java.net.Socket> stalled = new ArrayList<>();
    try (IndexServer small = IndexServer.start(indexUri, "127.0.0.1", 0, ImgvecConfig.of(Map.of("serve.threads",
        "2")), CONF)) {
      for (int i = 0; i < 12; i++) {
        java.net.Socket socket = new java.net.Socket("127.0.0.1", small.port());
        stalled.add(socket);
        socket.getOutputStream().write("PUT /search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"
            .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      }
      HttpResponse<String> health = HttpClient.newBuilder().build().sendAsync(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + small.port() + "/healthz")).build(), HttpResponse.BodyHandlers.ofString())
          .get(10, TimeUnit.SECONDS);
      assertEquals(200, health.statusCode());
    } finally {
      for (java.net.Socket socket : stalled) {
        socket.close();
      }
    }
  }

  @Test
  void memoryMappedServingAnswersAlike() throws Exception {
    try (IndexServer mapped = IndexServer.start(indexUri, "127.0.0.1", 0,
        ImgvecConfig.of(Map.of("serve.mmap", "true")), CONF)) {
      String body = "{\"image_id\": \"photos/china.jpg\", \"k\": 4}";
      assertEquals(json(post("/search", body), 200).get("neighbors"),
          json(HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + mapped.port() + "/search"))
              .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString()), 200)
              .get("neighbors"));
    }
  }

  @Test
  void aRequestNotAnsweredInTimeGets503() throws Exception {
    try (IndexServer hurried = IndexServer.start(indexUri, "127.0.0.1", 0,
        ImgvecConfig.of(Map.of("serve.request-timeout-ms", "1")), CONF)) {
      HttpResponse<String> slow = HTTP.send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + hurried.port() + "/search/image"))
          .POST(HttpRequest.BodyPublishers.ofByteArray(TestImages.bytes("photos/china.jpg"))).build(),
          HttpResponse.BodyHandlers.ofString());
      assertError(slow, 503, "not answered within 1 ms");
    }
  }

  private static float[] vectorOf(String imageId) throws Exception {
    try (PublishedIndex index = PublishedIndex.open(indexUri, CONF, Files.createTempDirectory(tmp, "q"),
        new PublishedIndex.LoadOptions(false, true))) {
      return index.vectorOf(imageId);
    }
  }

  private static void assertError(HttpResponse<String> r, int status, String reason) throws Exception {
    assertEquals(status, r.statusCode(), r.body());
    String error = Json.MAPPER.readTree(r.body()).get("error").asText();
    assertTrue(error.contains(reason), error);
  }

  private static JsonNode json(HttpResponse<String> r, int status) throws Exception {
    assertEquals(status, r.statusCode(), r.body());
    return Json.MAPPER.readTree(r.body());
  }

  /** Sends {@code head} and nothing more, and returns what the server answers before closing. */
  private static String headersOnly(String head) throws Exception {
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.port())) {
      socket.getOutputStream().write(head.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      socket.setSoTimeout(30_000);
      StringBuilder answer = new StringBuilder();
      java.io.InputStream in = socket.getInputStream();
      byte[] buffer = new byte[8192];
      for (int n; !answer.toString().contains("bytes (serve.max-body-bytes)") && (n = in.read(buffer)) > 0; ) {
        answer.append(new String(buffer, 0, n, java.nio.charset.StandardCharsets.UTF_8));
      }
      return answer.toString();
    }
  }

  private static URI uri(String path) {
    return URI.create("http://127.0.0.1:" + server.port() + path);
  }

  private static HttpResponse<String> get(String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(uri(path)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> post(String path, String body) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> postImage(byte[] bytes) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(uri("/search/image")).POST(HttpRequest.BodyPublishers.ofByteArray(bytes))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Embeddings of real images made without Spark, as a {@link VectorSource} for the builder. */
  record PublishedIndexFixture(List<String> imageIds, List<String> uris, List<float[]> vectors,
      List<String[]> metadata, String modelId) implements VectorSource {

    static PublishedIndexFixture embed(ImgvecConfig config, List<String> folders) throws Exception {
      List<String> ids = new ArrayList<>();
      List<String> uris = new ArrayList<>();
      List<float[]> vectors = new ArrayList<>();
      List<String[]> metadata = new ArrayList<>();
      QueryImageEmbedder embedder = new QueryImageEmbedder(config, null, modelId(config), CONF);
      for (String folder : folders) {
        for (Path p : TestImages.list(folder)) {
          ids.add(folder + "/" + p.getFileName());
          uris.add(p.toUri().toString());
          vectors.add(embedder.embed(Files.readAllBytes(p)));
          metadata.add(new String[] {folder, p.getFileName().toString()});
        }
      }
      return new PublishedIndexFixture(ids, uris, vectors, metadata, modelId(config));
    }

    private static String modelId(ImgvecConfig config) throws Exception {
      return io.imgvec.model.EmbedderCache.get(io.imgvec.model.ModelSpec.from(config), -1, CONF).modelId();
    }

    @Override
    public Stats stats() {
      return new Stats(vectors.size(), Set.of(vectors.get(0).length), Set.of(modelId));
    }

    @Override
    public List<String> metadataColumns() {
      return List.of("folder", "name");
    }

    @Override
    public void scan(int batchSize, BatchConsumer consumer) throws java.io.IOException {
      int d = vectors.get(0).length;
      for (int start = 0; start < vectors.size(); start += batchSize) {
        int n = Math.min(batchSize, vectors.size() - start);
        float[] flat = new float[n * d];
        for (int i = 0; i < n; i++) {
          System.arraycopy(vectors.get(start + i), 0, flat, i * d, d);
        }
        consumer.accept(new Batch(flat, imageIds.subList(start, start + n).toArray(String[]::new),
            uris.subList(start, start + n).toArray(String[]::new),
            metadata.subList(start, start + n).toArray(String[][]::new), null, n, d));
      }
    }
  }
}

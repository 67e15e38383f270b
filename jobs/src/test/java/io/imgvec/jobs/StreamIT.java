package io.imgvec.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.imgvec.TestImages;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.io.Json;
import io.imgvec.jobs.index.BuildIndexJob;
import io.imgvec.jobs.index.UpdateIndexJob;
import io.imgvec.jobs.run.RunSummary;
import io.imgvec.jobs.run.SparkSessions;
import io.imgvec.published.PublishedIndex;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The streaming job against a real Kafka broker (bin/kafka-local), run through bin/imgvec as users run it, its
 * output read back by DuckDB: a plain Parquet reader globbing the datasets, blind to any commit protocol.
 */
public class StreamIT {
  private static final String TOPIC = "photos";

  @TempDir Path tmp;

  @Test
  void recordsBadRecordsReplacementsAndDeletionsReachTheIndex() throws Exception {
    List<Path> photos = TestImages.list("photos");
    try (KafkaBroker kafka = KafkaBroker.start(tmp.resolve("kafka"));
        SparkSession spark = SparkSessions.create("stream-it", ImgvecConfig.of(Map.of("spark.master", "local[2]")))) {
      // Backfill through produce: a manifest with URIs relative to it, made absolute in the records.
      Path dir = Files.createDirectories(tmp.resolve("manifest"));
      Files.copy(photos.get(0), dir.resolve("a.jpg"));
      Files.copy(photos.get(1), dir.resolve("b.jpg"));
      Files.writeString(dir.resolve("manifest.csv"), "image_id,uri,category\nm0,a.jpg,x\nm1,b.jpg,y\n");
      JsonNode produced = run("produce", "--manifest", dir.resolve("manifest.csv").toString(),
          "--bootstrap-servers", kafka.bootstrapServers(), "--topic", TOPIC);
      assertEquals(2, produced.get("records_sent").asInt(), produced.toString());
      for (int i = 0; i < 6; i++) {
        send(kafka, "p" + i, "{\"image_id\":\"p" + i + "\",\"uri\":\"" + photos.get(i) + "\",\"category\":\"c"
            + i % 2 + "\"}");
      }
      send(kafka, null, "not json {");
      send(kafka, null, "{\"uri\":\"" + photos.get(0) + "\"}");
      send(kafka, "nouri", "{\"image_id\":\"nouri\"}");
      send(kafka, "rel", "{\"image_id\":\"rel\",\"uri\":\"photos/a.jpg\"}");
      send(kafka, "big", "{\"image_id\":\"big\",\"uri\":\"/x.jpg\",\"pad\":\"" + "x".repeat(3000) + "\"}");
      send(kafka, "gone", "{\"image_id\":\"gone\",\"uri\":\"" + tmp.resolve("no-such-photo.jpg") + "\"}");
      send(kafka, "empty", "{\"image_id\":\"empty\",\"uri\":\"" + TestImages.ROOT.resolve("bad/zero-bytes.jpg")
          + "\"}");

      JsonNode first = stream(kafka, "--trigger", "available-now");
      assertEquals(15, first.get("records").asInt(), first.toString());
      assertEquals(8, first.get("embedded").asInt(), first.toString());
      assertTrue(first.get("accounting_ok").asBoolean(), first.toString());
      JsonNode errors = first.get("errors_by_class");
      assertEquals(1, errors.get("malformed_record").asInt(), errors.toString());
      assertEquals(2, errors.get("missing_field").asInt(), errors.toString());
      assertEquals(1, errors.get("relative_uri").asInt(), errors.toString());
      assertEquals(1, errors.get("oversized_record").asInt(), errors.toString());
      assertEquals(1, errors.get("not_found").asInt(), errors.toString());
      assertEquals(7, first.get("errors").asInt(), errors.toString());
      assertEquals(List.of(8L, 7L, 15L), duckdbCounts());
      assertEquals(5, duckdb("SELECT count(*) FROM read_parquet('" + glob("errors")
          + "') WHERE raw_value IS NOT NULL AND kafka_offset IS NOT NULL"), "record errors keep the raw value");
      assertEquals(2, duckdb("SELECT count(*) FROM read_parquet('" + glob("embeddings")
          + "') WHERE image_id LIKE 'm%' AND uri LIKE 'file:/%' AND fields['category'] IN ('x', 'y')"));

      String index = tmp.resolve("index").toString();
      BuildIndexJob.run(spark, out(), index, ImgvecConfig.defaults());
      // p0 now shows another photo, p1 is deleted, p-new is new, p2 is sent again unchanged.
      send(kafka, "p0", "{\"image_id\":\"p0\",\"uri\":\"" + photos.get(7) + "\"}");
      Path deletions = Files.writeString(tmp.resolve("deletions.jsonl"), "{\"image_id\":\"p1\",\"deleted\":true}\n");
      JsonNode deletionSent = run("produce1", "--manifest", deletions.toString(), "--bootstrap-servers",
          kafka.bootstrapServers(), "--topic", TOPIC);
      assertEquals(1, deletionSent.get("records_sent").asInt(), "a manifest of deletions needs no uri column");
      send(kafka, "p-new", "{\"image_id\":\"p-new\",\"uri\":\"" + photos.get(8) + "\"}");
      send(kafka, "p2", "{\"image_id\":\"p2\",\"uri\":\"" + photos.get(2) + "\"}");
      JsonNode second = stream(kafka, "--trigger", "available-now");
      assertEquals(4, second.get("records").asInt(), second.toString());
      assertEquals(1, second.get("deleted").asInt(), second.toString());

      RunSummary updated = UpdateIndexJob.run(spark, index, out(), ImgvecConfig.defaults());
      @SuppressWarnings("unchecked")
      Map<String, Object> update = (Map<String, Object>) updated.get("update");
      assertEquals(List.of(1L, 1L, 1L), List.of(((Number) update.get("added")).longValue(),
          ((Number) update.get("replaced")).longValue(), ((Number) update.get("removed")).longValue()),
          update.toString());
      assertEquals(8L, ((Number) updated.get("count")).longValue());
      try (PublishedIndex published = PublishedIndex.open(index, new Configuration(), tmp.resolve("cache"),
          new PublishedIndex.LoadOptions(false, true))) {
        assertNull(published.vectorOf("p1"), "deleted");
        float[] replaced = published.vectorOf("p0");
        assertEquals("p-new", published.search(published.vectorOf("p-new"), 1).get(0).imageId());
        assertEquals("p0", published.search(replaced, 1).get(0).imageId());
        assertTrue(published.search(published.vectorOf("m0"), 2).get(1).distance() > 1e-4,
            "p0's old vector (the photo m0 shows too) is gone");
        assertEquals(8, python3FaissCount(tmp.resolve("index/versions/" + published.version() + "/index.faiss")));
      }
      RunSummary rebuilt = BuildIndexJob.run(spark, out(), tmp.resolve("index2").toString(), ImgvecConfig.defaults());
      assertEquals(8L, ((Number) rebuilt.get("count")).longValue(), "the newest live row of each image_id");

      // A rebuild is due once more than update.rebuild-share of the trained count was added: --rebuild-if-due.
      send(kafka, "p-newer", "{\"image_id\":\"p-newer\",\"uri\":\"" + photos.get(9) + "\"}");
      stream(kafka, "--trigger", "available-now");
      RunSummary due = UpdateIndexJob.run(spark, index, out(), ImgvecConfig.of(Map.of(
          "update.rebuild-share", "0.1", "update.rebuild-if-due", "true")));
      assertEquals("build-index", due.get("command"), "rebuilt instead of updated");
      assertTrue(due.get("rebuilt_because").toString().contains("added since training"), due.fields().toString());
      assertEquals(9L, ((Number) due.get("count")).longValue());
    }
  }

  @Test
  void aDriverKilledThreeTimesLosesAndDuplicatesNothing() throws Exception {
    int records = 2400;
    List<Path> photos = TestImages.list("photos").stream().filter(p -> p.toString().endsWith(".jpg")).toList();
    try (KafkaBroker kafka = KafkaBroker.start(tmp.resolve("kafka"))) {
      for (int i = 0; i < records; i++) {
        Path photo = i % 100 == 99 ? tmp.resolve("no-such-photo.jpg") : photos.get(i % photos.size());
        String uri = photo.toString();
        send(kafka, "img" + i, "{\"image_id\":\"img" + i + "\",\"uri\":\"" + uri + "\"}");
      }
      Path staging = Path.of(out(), "_imgvec_stream/staging");
      List<Callable<Boolean>> killPoints = List.of(
          () -> writing(staging), // while Spark writes a batch's files
          newCommit(), // just after a batch is published, before Spark records its end
          afterFirstProgress(1500)); // mid-batch, in inference
      for (int kill = 0; kill < killPoints.size(); kill++) {
        Process p = start("stream" + kill, streamArgs(kafka, "--trigger", "processing-time=1s",
            "--max-offsets-per-trigger", "200"));
        await(killPoints.get(kill), p, "stream" + kill);
        p.destroyForcibly().waitFor(); // SIGKILL
        System.out.println("[StreamIT] killed the driver at kill point " + (kill + 1) + " with "
            + committedRecords() + " records committed");
      }
      JsonNode last = stream(kafka, "--trigger", "available-now");
      assertTrue(last.get("accounting_ok").asBoolean(), last.toString());
      List<Long> counts = duckdbCounts();
      assertEquals(records, counts.get(2), "every record exactly once across embeddings and errors: " + counts);
      assertEquals(records, duckdb("SELECT count(DISTINCT (kafka_partition, kafka_offset)) FROM (SELECT kafka_partition,"
          + " kafka_offset FROM read_parquet('" + glob("embeddings") + "') UNION ALL SELECT kafka_partition,"
          + " kafka_offset FROM read_parquet('" + glob("errors") + "'))"), "no offset twice");
      assertEquals(records / 100, counts.get(1), "the missing photos, as errors");
    }
  }

  @Test
  void theStreamRidesOutABrokerRestart() throws Exception {
    Path photo = TestImages.list("photos").get(0);
    try (KafkaBroker kafka = KafkaBroker.start(tmp.resolve("kafka"))) {
      Process missing = start("stream9", "--bootstrap-servers", kafka.bootstrapServers(), "--topic", "no-such-topic",
          "--output", tmp.resolve("missing").toString(), "--checkpoint", tmp.resolve("missing-checkpoint").toString());
      assertTrue(missing.waitFor(2, TimeUnit.MINUTES));
      assertEquals(2, missing.exitValue(), "a topic that does not exist is a user error");
      assertTrue(Files.readString(tmp.resolve("stream9.err")).contains(
          "imgvec stream: topic 'no-such-topic' does not exist on " + kafka.bootstrapServers()));
      sendPhotos(kafka, 0, 100, photo);
      Process p = start("stream", streamArgs(kafka, "--trigger", "processing-time=1s"));
      try {
        await(() -> committedRecords() == 100, p, "stream");
        kafka.run("stop");
        await(() -> Files.readString(tmp.resolve("stream.err")).contains("could not be established"), p,
            "the stream meets the stopped broker");
        kafka.run("start");
        sendPhotos(kafka, 100, 200, photo);
        await(() -> committedRecords() == 200, p, "stream");
        assertTrue(p.isAlive(), "the stream still runs");
      } finally {
        p.destroy();
        p.waitFor();
      }
      assertEquals(List.of(200L, 0L, 200L), duckdbCounts());
    }
  }

  /**
   * Records a hostile producer could send, beside good photos in the allowed bucket: each is an error row with its
   * class and offset, no refused file is opened (the S3 server's request log, a canary file's access time), every
   * photo is embedded, and the stream keeps taking records.
   */
  @Test
  void recordsPointingOutsideTheAllowedPrefixesAreRefusedWithoutBeingOpened() throws Exception {
    List<Path> photos = TestImages.list("photos");
    try (KafkaBroker kafka = KafkaBroker.start(tmp.resolve("kafka"));
        S3ProxyServer s3 = S3ProxyServer.start(tmp.resolve("s3"), "photos", "private")) {
      Configuration conf = new Configuration();
      s3.s3aSettings().forEach(conf::set);
      for (int i = 0; i < 5; i++) { // through the S3 API, so the objects have ETags as real ones do
        org.apache.hadoop.fs.Path to = new org.apache.hadoop.fs.Path(i < 4 ? "s3a://photos/p" + i + ".jpg"
            : "s3a://private/secret.jpg");
        to.getFileSystem(conf).copyFromLocalFile(new org.apache.hadoop.fs.Path(photos.get(i).toUri()), to);
      }
      long uploadLog = Files.size(s3.log()); // the stream's requests are those after this
      Path canary = Files.copy(photos.get(5), tmp.resolve("canary.jpg"));
      FileTime longAgo = FileTime.from(Instant.parse("2001-01-01T00:00:00Z"));
      Files.setAttribute(canary, "lastAccessTime", longAgo); // older than its mtime: any read moves it (relatime)
      Map<String, String> hostile = new LinkedHashMap<>();
      hostile.put("passwd", "/etc/passwd");
      hostile.put("hostname", "file:///etc/hostname");
      hostile.put("canary", canary.toString());
      hostile.put("http", "http://127.0.0.1:1/x.jpg");
      hostile.put("other-bucket", "s3a://private/secret.jpg");
      hostile.put("climb", "s3a://photos/../private/secret.jpg");
      hostile.put("relative", "../private/secret.jpg");
      for (Map.Entry<String, String> h : hostile.entrySet()) {
        send(kafka, h.getKey(), "{\"image_id\":\"" + h.getKey() + "\",\"uri\":\"" + h.getValue() + "\"}");
      }
      for (int i = 0; i < 3; i++) {
        send(kafka, "p" + i, "{\"image_id\":\"p" + i + "\",\"uri\":\"s3a://photos/p" + i + ".jpg\"}");
      }
      Map<String, String> env = new HashMap<>(S3ProxyServer.credentialsEnv());
      env.put("IMGVEC_JAVA_OPTS", s3.javaOpts());
      Process p = ImgvecProcess.start(tmp, "stream", env, "--bootstrap-servers", kafka.bootstrapServers(),
          "--topic", TOPIC, "--output", out(), "--checkpoint", tmp.resolve("checkpoint").toString(),
          "--trigger", "processing-time=1s", "--input.allowed-uri-prefixes=s3a://photos/");
      try {
        await(() -> committedRecords() == 10, p, "stream");
        send(kafka, "p3", "{\"image_id\":\"p3\",\"uri\":\"s3a://photos/p3.jpg\"}");
        await(() -> committedRecords() == 11, p, "stream");
        assertTrue(p.isAlive(), "the stream still runs");
      } finally {
        p.destroy();
        p.waitFor();
      }
      Map<String, String> classOf = new HashMap<>();
      List<String> messages = new ArrayList<>();
      try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); ResultSet r = c.createStatement().executeQuery(
          "SELECT image_id, error_class, message FROM read_parquet('" + glob("errors")
              + "') WHERE kafka_offset IS NOT NULL")) {
        while (r.next()) {
          classOf.put(r.getString(1), r.getString(2));
          messages.add(r.getString(3));
        }
      }
      assertEquals(List.of(4L, 7L, 11L), duckdbCounts(), messages.toString());
      assertEquals(Map.of("passwd", "uri_not_allowed", "hostname", "uri_not_allowed", "canary", "uri_not_allowed",
          "http", "unsupported_uri", "other-bucket", "uri_not_allowed", "climb", "uri_not_allowed",
          "relative", "relative_uri"), classOf);
      assertEquals(longAgo, Files.getAttribute(canary, "lastAccessTime"), "the canary was never read");
      List<String> requests = Files.readString(s3.log()).substring((int) uploadLog).lines()
          .filter(l -> l.contains("request:")).toList();
      assertTrue(requests.stream().anyMatch(l -> l.contains("/photos/p0.jpg")), "the log shows requests: " + requests);
      assertTrue(requests.stream().noneMatch(l -> l.contains("private")), "no request for the other bucket");
      assertTrue(Files.readString(tmp.resolve("stream.err")).lines().noneMatch(l -> l.contains("root:x:0")));
    }
  }

  private static void sendPhotos(KafkaBroker kafka, int from, int to, Path photo) throws Exception {
    for (int i = from; i < to; i++) {
      send(kafka, "img" + i, "{\"image_id\":\"img" + i + "\",\"uri\":\"" + photo + "\"}");
    }
  }

  private static void send(KafkaBroker kafka, String key, String value) throws Exception {
    kafka.send(TOPIC, key, value.getBytes(StandardCharsets.UTF_8));
  }

  private String out() {
    return tmp.resolve("out").toString();
  }

  private String glob(String dataset) {
    return out() + "/" + dataset + "/**/*.parquet";
  }

  private String[] streamArgs(KafkaBroker kafka, String... extra) {
    List<String> args = new ArrayList<>(List.of("--bootstrap-servers", kafka.bootstrapServers(), "--topic", TOPIC,
        "--output", out(), "--checkpoint", tmp.resolve("checkpoint").toString(), "--stream.max-record-bytes=2048",
        "--input.allowed-uri-prefixes=" + TestImages.ROOT + "," + tmp)); // the stream's default reads no local disk
    args.addAll(List.of(extra));
    return args.toArray(String[]::new);
  }

  private JsonNode stream(KafkaBroker kafka, String... extra) throws Exception {
    return run("stream", streamArgs(kafka, extra));
  }

  private JsonNode run(String command, String... args) throws Exception {
    return ImgvecProcess.run(tmp, command, args);
  }

  private Process start(String name, String... args) throws Exception {
    return ImgvecProcess.start(tmp, name, args);
  }

  private static void await(Callable<Boolean> condition, Process p, String name) {
    Awaitility.await(name).atMost(4, TimeUnit.MINUTES).pollInterval(Duration.ofMillis(5))
        .failFast(name + " exited", () -> !p.isAlive())
        .until(condition);
  }

  /** Whether Spark is writing a staged batch's Parquet. */
  private static boolean writing(Path staging) {
    try (Stream<Path> files = Files.exists(staging) ? Files.walk(staging) : Stream.empty()) {
      return files.anyMatch(f -> f.toString().contains("/embeddings/"));
    } catch (java.io.IOException | java.io.UncheckedIOException e) {
      return false; // a directory vanished while listed
    }
  }

  private Callable<Boolean> newCommit() {
    long[] seen = {-1};
    return () -> {
      long n = commitFiles().size();
      if (seen[0] < 0) {
        seen[0] = n;
      }
      return n > seen[0];
    };
  }

  /** True {@code millis} after the third run's first progress line. */
  private Callable<Boolean> afterFirstProgress(long millis) {
    long[] seenAt = {0};
    return () -> {
      try {
        Path log = tmp.resolve("stream2.out");
        if (seenAt[0] == 0 && Files.exists(log) && Files.readString(log).contains("stream_progress")) {
          seenAt[0] = System.nanoTime();
        }
        return seenAt[0] != 0 && System.nanoTime() - seenAt[0] > millis * 1_000_000;
      } catch (java.io.IOException e) {
        return false;
      }
    };
  }

  private List<Path> commitFiles() {
    Path commits = Path.of(out(), "_imgvec_stream/commits");
    try (Stream<Path> files = Files.exists(commits) ? Files.list(commits) : Stream.empty()) {
      return files.filter(f -> f.toString().endsWith(".json")).toList();
    } catch (java.io.IOException e) {
      return List.of();
    }
  }

  /** Records of the committed batches, from their commit records. */
  private long committedRecords() {
    long total = 0;
    for (Path f : commitFiles()) {
      try {
        total += Json.MAPPER.readTree(f.toFile()).get("records").asLong();
      } catch (java.io.IOException e) {
        return -1; // being written
      }
    }
    return total;
  }

  /** Rows in embeddings, in errors, and both, as DuckDB reads the globbed files. */
  private List<Long> duckdbCounts() throws Exception {
    long embeddings = duckdb("SELECT count(*) FROM read_parquet('" + glob("embeddings") + "')");
    long errors = Files.exists(Path.of(out(), "errors"))
        ? duckdb("SELECT count(*) FROM read_parquet('" + glob("errors") + "')") : 0;
    return List.of(embeddings, errors, embeddings + errors);
  }

  private static long duckdb(String sql) throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); ResultSet r = c.createStatement().executeQuery(sql)) {
      r.next();
      return r.getLong(1);
    }
  }

  private static int python3FaissCount(Path index) throws Exception {
    Process p = new ProcessBuilder("/usr/bin/python3", "-c", "import faiss, sys; print(faiss.read_index(sys.argv[1]).ntotal)",
        index.toString()).directory(index.getParent().toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertEquals(0, p.waitFor(), out);
    return Integer.parseInt(out);
  }
}

package io.imgvec.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.imgvec.TestImages;
import io.imgvec.faiss.GaussianClusters;
import io.imgvec.io.Json;
import io.imgvec.published.PublishedIndex;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The spine on a real Spark standalone cluster (a Master and 2 Workers of 1 core, executors in JVMs of their own),
 * through {@code bin/imgvec submit}: what runs here must run on a cluster, not only in one JVM.
 */
public class ClusterIT {
  @TempDir static Path tmp;
  static StandaloneCluster cluster;

  @BeforeAll
  static void startCluster() throws Exception {
    cluster = StandaloneCluster.start(tmp, 2, 1, "1536m");
  }

  @AfterAll
  static void stopCluster() {
    cluster.close();
  }

  @Test
  void embedBuildIndexAndQueryThroughSubmit() throws Exception {
    List<String> rows = new ArrayList<>(List.of("image_id,uri"));
    List<Path> photos = TestImages.list("photos");
    List<Path> bad = TestImages.list("bad");
    photos.forEach(p -> rows.add(p.getFileName() + "," + p.toUri()));
    bad.forEach(p -> rows.add("bad-" + p.getFileName() + "," + p.toUri()));
    rows.add("missing," + tmp.resolve("no-such-photo.jpg").toUri());
    Path manifest = Files.write(tmp.resolve("manifest.csv"), rows);
    Path out = tmp.resolve("out");

    JsonNode embed = submit("embed", "--manifest", manifest.toString(), "--output", out.toString());
    assertTrue(embed.get("accounting_ok").asBoolean(), embed.toString());
    assertEquals(rows.size() - 1, embed.get("rows_read").asInt());
    assertTrue(embed.get("embedded").asInt() >= photos.size(), embed.toString()); // a few "bad" files decode
    assertEquals(1, embed.at("/errors_by_class/not_found").asInt(), embed.toString());
    assertEquals(rows.size() - 1, embed.get("embedded").asInt() + embed.get("errors").asInt());
    JsonNode perExecutor = embed.get("images_per_executor");
    assertEquals(2, perExecutor.size(), "tasks ran on both executors: " + perExecutor);
    perExecutor.forEach(n -> assertTrue(n.asInt() > 0, perExecutor.toString()));
    assertEquals(2, embed.get("model_loads").asInt(), "one model load per executor JVM");

    JsonNode index = submit("build-index", "--embeddings", out.toString(), "--output", tmp.resolve("index").toString());
    assertEquals(embed.get("embedded").asInt(), index.get("count").asInt());

    Path photo = photos.get(0);
    JsonNode query = submit("query", "--index", tmp.resolve("index").toString(), "--image", photo.toString(),
        "-k", "3");
    assertEquals(photo.getFileName().toString(), query.get("neighbors").get(0).get("image_id").asText());
  }

  @Test
  void streamAndUpdateIndexThroughSubmit() throws Exception {
    List<Path> photos = TestImages.list("photos");
    try (KafkaBroker kafka = KafkaBroker.start(tmp.resolve("kafka"))) {
      for (int i = 0; i < 40; i++) {
        kafka.send("photos", "img" + i, ("{\"image_id\":\"img" + i + "\",\"uri\":\"" + photos.get(i % photos.size())
            + "\"}").getBytes(java.nio.charset.StandardCharsets.UTF_8));
      }
      kafka.send("photos", null, "not json".getBytes(java.nio.charset.StandardCharsets.UTF_8));
      String[] stream = {"stream", "--bootstrap-servers", kafka.bootstrapServers(), "--topic", "photos", "--output",
          tmp.resolve("stream").toString(), "--checkpoint", tmp.resolve("checkpoint").toString(), "--trigger",
          "available-now", "--input.allowed-uri-prefixes=" + TestImages.ROOT}; // no local disk unless allowed
      JsonNode first = submit(stream);
      assertEquals(41, first.get("records").asInt(), first.toString());
      assertEquals(40, first.get("embedded").asInt(), first.toString());
      assertEquals(2, first.get("images_per_executor").size(), "tasks ran on both executors: " + first);
      assertEquals(2, first.get("model_loads").asInt(), "one model load per executor JVM");

      String index = tmp.resolve("stream-index").toString();
      submit("build-index", "--embeddings", tmp.resolve("stream").toString(), "--output", index);
      kafka.send("photos", "img0", "{\"image_id\":\"img0\",\"deleted\":true}".getBytes(
          java.nio.charset.StandardCharsets.UTF_8));
      kafka.send("photos", "img-new", ("{\"image_id\":\"img-new\",\"uri\":\"" + photos.get(0) + "\"}").getBytes(
          java.nio.charset.StandardCharsets.UTF_8));
      submit(stream);
      JsonNode update = submit("update-index", "--index", index, "--embeddings", tmp.resolve("stream").toString());
      assertEquals(1, update.at("/update/added").asInt(), update.toString());
      assertEquals(1, update.at("/update/removed").asInt(), update.toString());
      assertEquals(40, update.get("count").asInt(), update.toString());
    }
  }

  @Test
  void distributedBuildMatchesTheDriverBuildShardsAnswerAlikeAndTooBigIsRefused() throws Exception {
    Path embeddings = tmp.resolve("vectors");
    TestEmbeddings.write(embeddings, 40_000, 64, 4, 100);
    List<String> same = List.of("--embeddings", embeddings.toString(), "--index.type=IVF-PQ", "--index.nlist=256",
        "--index.pq-m=16", "--index.nprobe=8", "--index.eval-queries=200");
    JsonNode driver = submit(build(same, "--output", tmp.resolve("on-driver").toString()));
    JsonNode distributed = submit(build(same, "--output", tmp.resolve("distributed").toString(), "--distributed"));
    JsonNode sharded = submit(build(same, "--output", tmp.resolve("sharded").toString(), "--distributed",
        "--shards", "3"));
    assertTrue(driver.at("/timings/executor_add_s").isMissingNode(), "the driver build added alone: " + driver);
    assertTrue(distributed.at("/timings/executor_add_s").asDouble() > 0, "added on the executors: " + distributed);
    assertEquals(3, sharded.get("shards").asInt(), sharded.toString());
    for (JsonNode built : List.of(driver, distributed, sharded)) {
      assertEquals(40_000, built.get("count").asInt(), built.toString());
    }
    assertEquals(80_000, driver.get("vectors_through_driver").asInt(), "the driver build scans twice: " + driver);
    long trainSize = distributed.at("/index/train_size").asLong();
    assertTrue(trainSize > 0 && distributed.get("vectors_through_driver").asLong() <= trainSize + 2 * 200,
        "sampled on the executors: only the sample reaches the driver: " + distributed);

    GaussianClusters gen = new GaussianClusters(64, 100, 8, 7);
    gen.reseed(99);
    float[][] queries = new float[300][64];
    for (float[] q : queries) {
      gen.next(q);
    }
    List<List<String>> onDriver = neighbours(tmp.resolve("on-driver"), queries);
    List<List<String>> added = neighbours(tmp.resolve("distributed"), queries);
    List<List<String>> fanOut = neighbours(tmp.resolve("sharded"), queries);
    assertTrue(sameShare(onDriver, added) >= 0.99, "distributed vs driver: " + sameShare(onDriver, added));
    assertTrue(sameShare(added, fanOut) >= 0.99, "sharded vs one index: " + sameShare(added, fanOut));

    Path version = tmp.resolve("sharded/versions").resolve(Files.readString(tmp.resolve("sharded/LATEST")).trim());
    Process python = new ProcessBuilder("/usr/bin/python3", "-c", "import faiss, glob, sys; print(sum("
        + "faiss.read_index(f).ntotal for f in sorted(glob.glob(sys.argv[1] + '/index-*.faiss'))))",
        version.toString()).directory(tmp.toFile()).redirectErrorStream(true).start();
    String read = new String(python.getInputStream().readAllBytes()).trim();
    assertEquals(0, python.waitFor(), read);
    assertEquals("40000", read, "python3-faiss reads every shard");
    assertEquals(fanOut, neighbours(tmp.resolve("sharded"), queries, true), "memory-mapped lists answer alike");

    Path grown = tmp.resolve("vectors-grown"); // 5 files of 10,000 rows: the 4 indexed ones, kept out, and new rows
    TestEmbeddings.write(grown, 50_000, 64, 5, 100);
    try (var files = Files.list(grown)) {
      List<Path> parts = files.filter(f -> f.getFileName().toString().startsWith("part-")).sorted().toList();
      for (Path indexed : parts.subList(0, parts.size() - 1)) {
        Files.delete(indexed); // without content digests, a row sent again would count as replaced
      }
    }
    JsonNode update = submit("update-index", "--index", tmp.resolve("sharded").toString(), "--embeddings",
        grown.toString());
    assertEquals(List.of(10_000, 0, 0), List.of(update.at("/update/added").asInt(),
        update.at("/update/replaced").asInt(), update.at("/update/removed").asInt()), update.toString());
    assertEquals(50_000, update.get("count").asInt(), update.toString());
    JsonNode updated = Json.MAPPER.readTree(tmp.resolve("sharded/versions").resolve(Files.readString(
        tmp.resolve("sharded/LATEST")).trim()).resolve("manifest.json").toFile());
    assertEquals(3, updated.get("shards").size(), "a sharded version stays sharded: " + updated.get("shards"));
    JsonNode ranges = updated.get("id_ranges"); // the new ids continue the last range, or start one of their own
    JsonNode last = ranges.get(ranges.size() - 1);
    assertTrue(last.get("first_id").asInt() <= 40_000 && (ranges.size() == 3 || last.get("first_id").asInt()
        == 40_000), "the new ids 40000.. went to one shard: " + ranges);
    assertEquals(neighbours(tmp.resolve("sharded"), queries, false), neighbours(tmp.resolve("sharded"), queries, true),
        "and the updated shards answer alike memory-mapped");

    Failed tooBig = submitFailing(build(same, "--output", tmp.resolve("too-big").toString(), "--distributed",
        "--shards", "1", "--index.max-shard-bytes=512k"));
    assertEquals(2, tooBig.exitCode(), tooBig.stderr());
    assertTrue(tooBig.stderr().contains("the index does not fit: plan: index of 40000 x 64"), tooBig.stderr());
    assertTrue(tooBig.stderr().contains("set index.shards=3 or more"), tooBig.stderr());
    assertFalse(Files.exists(tmp.resolve("too-big/LATEST")), "nothing published");
  }

  /**
   * A distributed build whose driver heap (480 MB) is smaller than the vectors (600,000 x 256 floats, 614 MB): the
   * executors sample and add, and only the training sample and held-out queries reach the driver.
   */
  @Test
  void distributedBuildOnADriverHeapSmallerThanTheVectors() throws Exception {
    Path embeddings = tmp.resolve("large-vectors");
    TestEmbeddings.write(embeddings, 600_000, 256, 6, 100);
    JsonNode built = submit(List.of("--driver-memory", "480m"), "build-index", "--embeddings",
        embeddings.toString(), "--output", tmp.resolve("large-index").toString(), "--distributed",
        "--index.type=IVF-PQ", "--index.nlist=256", "--index.pq-m=16", "--index.eval-queries=200");
    assertEquals(600_000, built.get("count").asInt(), built.toString());
    assertTrue(built.at("/metrics/build_heap_limit_mb").asInt() <= 480, built.toString());
    long trainSize = built.at("/index/train_size").asLong();
    assertTrue(built.get("vectors_through_driver").asLong() <= trainSize + 2 * 200,
        "only the sample reaches the driver: " + built);
  }

  /**
   * The measured choice rests on counted work, not timings: on the driver, distributed (the driver beside two
   * executors on the same cores) and again into a new output, the same data under a memory budget gives the same
   * index and nprobe, and the same held-out recall.
   */
  @Test
  void autoChoosesTheSameIndexOnTheDriverDistributedAndInAFreshBuild() throws Exception {
    Path embeddings = tmp.resolve("auto-vectors");
    TestEmbeddings.write(embeddings, 40_000, 64, 4, 200);
    List<String> same = List.of("--embeddings", embeddings.toString(), "--memory-budget", "2m",
        "--index.eval-queries=300");
    JsonNode first = submit(build(same, "--output", tmp.resolve("auto-1").toString()));
    JsonNode again = submit(build(same, "--output", tmp.resolve("auto-2").toString()));
    JsonNode distributed = submit(build(same, "--output", tmp.resolve("auto-distributed").toString(),
        "--distributed"));
    assertTrue(distributed.at("/timings/executor_add_s").asDouble() > 0, "added on the executors: " + distributed);
    assertTrue(first.at("/index/factory").asText().contains("PQ"), "a budget that needs codes: " + first);
    for (JsonNode other : List.of(again, distributed)) {
      assertEquals(first.at("/index/factory").asText(), other.at("/index/factory").asText(), other.toString());
      assertEquals(first.at("/index/nprobe").asInt(), other.at("/index/nprobe").asInt(), other.toString());
      assertEquals(first.at("/metrics/recall_at_10").asDouble(), other.at("/metrics/recall_at_10").asDouble(), 0.01,
          other.toString());
    }
  }

  private static String[] build(List<String> common, String... more) {
    List<String> args = new ArrayList<>(List.of("build-index"));
    args.addAll(common);
    args.addAll(List.of(more));
    return args.toArray(String[]::new);
  }

  /**
   * The image_ids of each query's 10 nearest neighbours in the index published at {@code root}, at its nprobe (a
   * distributed build repartitions its input, so its vector ids number the same images differently).
   */
  private static List<List<String>> neighbours(Path root, float[][] queries) throws Exception {
    return neighbours(root, queries, false);
  }

  /** As {@link #neighbours(Path, float[][])}, the lists memory-mapped ({@code serve.mmap}) or loaded. */
  private static List<List<String>> neighbours(Path root, float[][] queries, boolean mmap) throws Exception {
    try (PublishedIndex index = PublishedIndex.open(root.toString(), new Configuration(), tmp.resolve("cache"),
        new PublishedIndex.LoadOptions(mmap, false))) {
      return index.search(queries, 10, 0, Map.of(), Long.MAX_VALUE).stream()
          .map(found -> found.stream().map(PublishedIndex.Neighbor::imageId).toList()).toList();
    }
  }

  private static double sameShare(List<List<String>> a, List<List<String>> b) {
    long same = 0;
    for (int q = 0; q < a.size(); q++) {
      same += a.get(q).equals(b.get(q)) ? 1 : 0;
    }
    return (double) same / a.size();
  }

  private record Failed(int exitCode, String stderr) {}

  private static Failed submitFailing(String... args) throws Exception {
    Path stderr = Files.createTempFile(tmp, args[0], ".err");
    Process p = submitProcess(List.of(), args, Files.createTempFile(tmp, args[0], ".out"), stderr);
    assertTrue(p.waitFor(10, TimeUnit.MINUTES), "submit " + args[0] + " did not finish");
    return new Failed(p.exitValue(), Files.readString(stderr));
  }

  /** {@code bin/imgvec submit --master <cluster> -- <args>}; returns the run summary (the last stdout line). */
  private static JsonNode submit(String... args) throws Exception {
    return submit(List.of(), args);
  }

  /** As {@link #submit(String...)}, with more spark-submit options. */
  private static JsonNode submit(List<String> submitOptions, String... args) throws Exception {
    Path stdout = Files.createTempFile(tmp, args[0], ".out");
    Path stderr = Files.createTempFile(tmp, args[0], ".err");
    Process p = submitProcess(submitOptions, args, stdout, stderr);
    assertTrue(p.waitFor(10, TimeUnit.MINUTES), "submit " + args[0] + " did not finish");
    List<String> lines = Files.readAllLines(stdout);
    assertEquals(0, p.exitValue(), args[0] + " failed:\n" + Files.readString(stderr));
    return Json.MAPPER.readTree(lines.get(lines.size() - 1));
  }

  /** Starts {@code bin/imgvec submit}, its output going to those files. */
  private static Process submitProcess(List<String> submitOptions, String[] args, Path stdout, Path stderr)
      throws Exception {
    List<String> cmd = new ArrayList<>(List.of(StandaloneCluster.HOME.resolve("bin/imgvec").toString(), "submit",
        "--master", cluster.masterUrl(), "--conf", "spark.executor.memory=1g", "--conf", "spark.executor.cores=1",
        // Standalone jobs start with the first executor registered; the tests check work spread over both, so the
        // driver waits for both cores (the ratio counts against spark.cores.max, without which it waits for none).
        "--conf", "spark.cores.max=2", "--conf", "spark.scheduler.minRegisteredResourcesRatio=1.0"));
    cmd.addAll(submitOptions);
    cmd.add("--");
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(stdout.toFile()).redirectError(stderr.toFile());
    pb.environment().remove("DJL_CACHE_DIR"); // nothing of this JVM's set-up helps the cluster
    pb.environment().put("IMGVEC_BUILD", "never"); // Maven has just built the jars
    return pb.start();
  }
}

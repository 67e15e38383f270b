package io.imgvec.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.imgvec.TestImages;
import io.imgvec.io.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The spine on a real Spark standalone cluster (a Master and 2 Workers of 1 core, executors in JVMs of their own),
 * through {@code bin/imgvec submit}: what runs here must run on a cluster, not only in one JVM.
 */
class ClusterIT {
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
          "available-now"};
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

  /** {@code bin/imgvec submit --master <cluster> -- <args>}; returns the run summary (the last stdout line). */
  private static JsonNode submit(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(StandaloneCluster.HOME.resolve("bin/imgvec").toString(), "submit",
        "--master", cluster.masterUrl(), "--conf", "spark.executor.memory=1g", "--conf", "spark.executor.cores=1",
        "--"));
    cmd.addAll(List.of(args));
    Path stdout = Files.createTempFile(tmp, args[0], ".out");
    Path stderr = Files.createTempFile(tmp, args[0], ".err");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(stdout.toFile()).redirectError(stderr.toFile());
    pb.environment().remove("DJL_CACHE_DIR"); // nothing of this JVM's set-up helps the cluster
    pb.environment().put("IMGVEC_BUILD", "never"); // Maven has just built the jars
    Process p = pb.start();
    assertTrue(p.waitFor(10, TimeUnit.MINUTES), "submit " + args[0] + " did not finish");
    List<String> lines = Files.readAllLines(stdout);
    assertEquals(0, p.exitValue(), args[0] + " failed:\n" + Files.readString(stderr));
    return Json.MAPPER.readTree(lines.get(lines.size() - 1));
  }
}

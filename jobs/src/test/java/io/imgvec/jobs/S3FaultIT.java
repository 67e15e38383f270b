package io.imgvec.jobs;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.io.Json;
import io.imgvec.jobs.embed.EmbedJobTest;
import io.imgvec.jobs.index.BuildIndexJob;
import io.imgvec.jobs.run.SparkSessions;
import io.imgvec.published.IndexFetcher;
import io.imgvec.published.PublishedIndex;
import java.net.URI;
import java.time.Duration;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * S3 under faults, through bin/imgvec with s3a out of the box: the S3 server (S3Proxy) is killed and restarted in the
 * middle of an embed job that reads its manifest and images from S3 and writes to S3, and in the middle of a
 * publish. Credentials come from the standard AWS chain (environment) and must never be written anywhere.
 */
public class S3FaultIT {
  private static final int IMAGES = 640;

  @TempDir Path tmp;

  @Test
  void embedAndPublishSurviveTheS3ServerDyingAndNothingWritesTheSecret() throws Exception {
    try (S3ProxyServer s3 = S3ProxyServer.start(tmp.resolve("s3"), "imgvec")) {
      Configuration conf = new Configuration();
      s3.s3aSettings().forEach(conf::set);
      FileSystem fs = FileSystem.get(URI.create("s3a://imgvec/"), conf);
      List<String> rows = new ArrayList<>(List.of("image_id,uri"));
      List<Path> photos = EmbedJobTest.list("photos").stream().filter(p -> p.toString().endsWith(".jpg")).toList();
      for (Path p : photos) {
        fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(p.toUri()),
            new org.apache.hadoop.fs.Path("s3a://imgvec/images/" + p.getFileName()));
      }
      for (int i = 0; i < IMAGES; i++) { // each photo under many image ids: every row is read and decoded
        rows.add("img" + i + ",images/" + photos.get(i % photos.size()).getFileName());
      }
      Path manifest = Files.write(tmp.resolve("manifest.csv"), rows);
      fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(manifest.toUri()),
          new org.apache.hadoop.fs.Path("s3a://imgvec/manifest.csv"));

      Process embed = imgvec(s3, "embed", "--manifest", "s3a://imgvec/manifest.csv", "--output", "s3a://imgvec/run");
      awaitImageReads(s3, 0, 64, embed); // the job is reading images: the outage falls inside it
      assertTrue(embed.isAlive(), "the outage must hit a running embed");
      long beforeOutage = Files.size(s3.log());
      s3.killAndRestart(8000);
      assertTrue(embed.waitFor(10, TimeUnit.MINUTES));
      assertTrue(imageReads(s3, beforeOutage) > 0, "the embed read images after the outage: it rode it out");
      assertEquals(0, embed.exitValue(), Files.readString(tmp.resolve("embed.err")));
      JsonNode summary = lastLine(tmp.resolve("embed.out"));
      System.out.println("[S3FaultIT] embed through an 8 s S3 outage: " + summary);
      assertTrue(summary.get("accounting_ok").asBoolean(), summary.toString());
      assertEquals(IMAGES, summary.get("embedded").asInt() + summary.get("errors").asInt(), summary.toString());

      try (SparkSession spark = SparkSessions.create("imgvec-s3-fault-check", ImgvecConfig.of(Map.of(
          "spark.master", "local[2]")))) {
        s3.s3aSettings().forEach((k, v) -> spark.sparkContext().hadoopConfiguration().set(k, v));
        var written = spark.read().parquet("s3a://imgvec/run/embeddings");
        assertEquals(summary.get("embedded").asLong(), written.count(), "every embedded row written once");
        assertEquals(written.count(), written.select("image_id").distinct().count(), "no duplicate rows");

        BuildIndexJob.run(spark, "s3a://imgvec/run", "s3a://imgvec/index", ImgvecConfig.defaults());
        String first = IndexFetcher.latestVersion("s3a://imgvec/index", conf);
        CompletableFuture<Object> second = CompletableFuture.supplyAsync(() -> {
          try {
            return BuildIndexJob.run(spark, "s3a://imgvec/run", "s3a://imgvec/index", ImgvecConfig.defaults());
          } catch (Exception e) {
            return e; // a publish that dies may fail: LATEST must still name a whole version
          }
        });
        awaitNewVersionUpload(s3.bucketDir("imgvec").resolve("index/versions"), first, second);
        s3.killAndRestart(3000);
        second.get(5, TimeUnit.MINUTES);
        try (PublishedIndex index = PublishedIndex.open("s3a://imgvec/index", conf, tmp.resolve("cache"))) {
          assertEquals(summary.get("embedded").asLong(), index.size(), "LATEST names a complete, verified version");
        }
      }
      assertSecretNowhere(List.of(tmp.resolve("embed.out"), tmp.resolve("embed.err"), s3.bucketDir("imgvec"),
          StandaloneCluster.HOME.resolve("target/logs")));
    }
  }

  /** bin/imgvec with s3a settings as a user would give them; credentials only in the environment (AWS chain). */
  private Process imgvec(S3ProxyServer s3, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(StandaloneCluster.HOME.resolve("bin/imgvec").toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(tmp.resolve(args[0] + ".out").toFile())
        .redirectError(tmp.resolve(args[0] + ".err").toFile());
    pb.environment().put("IMGVEC_JAVA_OPTS", "-Xmx3g " + s3.javaOpts());
    pb.environment().putAll(S3ProxyServer.credentialsEnv());
    pb.environment().put("IMGVEC_CDS", "false");
    pb.environment().put("IMGVEC_BUILD", "never"); // Maven has just built it; a nested build would race this one
    return pb.start();
  }

  /** Waits until the S3 server has logged {@code count} image reads since byte {@code from} of its log. */
  private static void awaitImageReads(S3ProxyServer s3, long from, int count, Process job) {
    await("the job reads " + count + " images").atMost(3, TimeUnit.MINUTES).pollInterval(Duration.ofMillis(50))
        .failFast("the job exited", () -> !job.isAlive())
        .until(() -> imageReads(s3, from) >= count);
  }

  /** GETs of images the S3 server logged after byte {@code from} of its log (one debug line per request). */
  private static long imageReads(S3ProxyServer s3, long from) throws Exception {
    String log = Files.readString(s3.log(), StandardCharsets.ISO_8859_1);
    return log.substring((int) Math.min(from, log.length())).lines()
        .filter(l -> l.contains("request:") && l.contains("GET") && l.contains("/imgvec/images/")).count();
  }

  /** Waits until the second build is uploading a version other than {@code first}. */
  private static void awaitNewVersionUpload(Path versions, String first, CompletableFuture<Object> build) {
    await("the second publish uploads").atMost(3, TimeUnit.MINUTES).pollInterval(Duration.ofMillis(20))
        .failFast("the second build ended first", build::isDone)
        .until(() -> {
          try (Stream<Path> dirs = Files.list(versions)) {
            return dirs.anyMatch(d -> !d.getFileName().toString().equals(first)
                && Files.exists(d.resolve("index.faiss")));
          }
        });
  }

  private static void assertSecretNowhere(List<Path> roots) throws Exception {
    byte[] secret = S3ProxyServer.SECRET_KEY.getBytes(StandardCharsets.UTF_8);
    for (Path root : roots) {
      if (!Files.exists(root)) {
        continue;
      }
      try (Stream<Path> files = Files.walk(root)) {
        for (Path f : files.filter(Files::isRegularFile).toList()) {
          assertFalse(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1)
              .contains(new String(secret, StandardCharsets.ISO_8859_1)), "the secret key is in " + f);
        }
      }
    }
  }

  private static JsonNode lastLine(Path file) throws Exception {
    List<String> lines = Files.readAllLines(file);
    return Json.MAPPER.readTree(lines.get(lines.size() - 1));
  }
}

package io.imgvec.jobs.embed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgvec.TestImages;
import io.imgvec.config.ConfigException;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.jobs.cli.Main;
import io.imgvec.jobs.run.RunSummary;
import io.imgvec.jobs.run.SparkSessions;
import io.imgvec.util.UserException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The embed job on real Spark (local[2]), real images and real inference with the shipped model. */
public class EmbedJobTest {
  public static final Path IMAGES = TestImages.ROOT;
  static SparkSession spark;

  @TempDir
  Path tmp;

  @BeforeAll
  static void startSpark() {
    spark = SparkSessions.create("imgvec-test", ImgvecConfig.of(Map.of("spark.master", "local[2]")));
  }

  @AfterAll
  static void stopSpark() {
    spark.stop();
  }

  @Test
  void everyManifestRowEndsUpExactlyOnceInEmbeddingsOrErrors() throws Exception {
    List<String> rows = new ArrayList<>();
    List<Path> good = list("photos");
    List<Path> bad = list("bad");
    good.forEach(p -> rows.add(p.getFileName() + "," + p.toUri() + ",good"));
    bad.forEach(p -> rows.add("bad-" + p.getFileName() + "," + p.toUri() + ",bad"));
    rows.add("missing," + IMAGES.resolve("photos/no-such-file.jpg").toUri() + ",missing");
    rows.add("china.jpg," + IMAGES.resolve("photos/china.jpg").toUri() + ",duplicate id");
    rows.add("no-uri,,no uri");
    rows.add(",relative/x.jpg,no id");
    Path manifest = writeManifest("image_id,uri,label", rows);

    RunSummary summary = EmbedJob.run(spark, manifest.toString(), tmp.resolve("out").toString(),
        ImgvecConfig.of(Map.of("job.partitions", "3")));

    List<Row> embedded = spark.read().parquet(tmp.resolve("out/embeddings").toString()).collectAsList();
    List<Row> errors = spark.read().parquet(tmp.resolve("out/errors").toString()).collectAsList();
    assertEquals(rows.size(), embedded.size() + errors.size());
    assertEquals((long) rows.size(), summary.get("rows_read"));
    assertEquals(true, summary.get("accounting_ok"));
    Map<String, Long> occurrences = Stream.concat(embedded.stream(), errors.stream())
        .collect(Collectors.groupingBy(r -> String.valueOf(r.<String>getAs("image_id")), Collectors.counting()));
    assertEquals(2L, occurrences.get("china.jpg"));
    occurrences.forEach((id, n) -> assertTrue(n == 1 || id.equals("china.jpg"), id + " appears " + n + " times"));
    // Good photos are embedded (1280-d, unit length, labelled, with size and content hash); bad ones are errors.
    assertEquals(good.size() + 1, embedded.size(), "premature-end.png of the bad corpus is a valid PNG");
    for (Row r : embedded) {
      List<Float> v = r.getList(r.fieldIndex("embedding"));
      assertEquals(1280, v.size());
      assertEquals(1.0, Math.sqrt(v.stream().mapToDouble(x -> x * x).sum()), 1e-3);
      assertEquals(64, r.<String>getAs("content_sha256").length());
      assertTrue(r.<String>getAs("model_id").startsWith("mobilenet_v2_nsfwjs@sha256:"));
      assertTrue(r.<Integer>getAs("width") > 0);
    }
    Map<String, String> classOf = errors.stream().collect(Collectors.toMap(
        r -> String.valueOf(r.<String>getAs("image_id")), r -> r.<String>getAs("error_class"), (a, b) -> a + "|" + b));
    assertEquals("not_found", classOf.get("missing"));
    assertEquals("duplicate_image_id", classOf.get("china.jpg"));
    assertEquals("missing_field", classOf.get("no-uri"));
    assertEquals("missing_field", classOf.get("null"));
    assertEquals("too_many_pixels", classOf.get("bad-issue205.jpg"));
    assertEquals("unsupported_format", classOf.get("bad-bug784903-overflow-dimensions.tiff"));
    for (Row e : errors) {
      assertTrue(!e.<String>getAs("message").isBlank() && e.getAs("stage") != null, e.toString());
    }
    assertTrue(Files.exists(tmp.resolve("out/_summary.json")));
  }

  @Test
  void jpegReencodingsAreNearDuplicatesAndEachOthersNearestNeighbours() throws Exception {
    List<String> rows = new ArrayList<>();
    list("photos").forEach(p -> rows.add(p.getFileName() + "," + p.toUri()));
    List<String> flowers = List.of("flower_q85_420.jpg", "flower_q85_422.jpg", "flower_q85_440.jpg",
        "flower_q85_444.jpg", "flower_q85_rgb.jpg", "flower.png");
    flowers.forEach(f -> rows.add("dup-" + f + "," + IMAGES.resolve("near-duplicates/" + f).toUri()));
    Path manifest = writeManifest("image_id,uri", rows);
    EmbedJob.run(spark, manifest.toString(), tmp.resolve("out").toString(), ImgvecConfig.defaults());

    Map<String, float[]> vectors = new HashMap<>();
    for (Row r : spark.read().parquet(tmp.resolve("out/embeddings").toString()).collectAsList()) {
      List<Float> v = r.getList(r.fieldIndex("embedding"));
      float[] a = new float[v.size()];
      for (int i = 0; i < a.length; i++) {
        a[i] = v.get(i);
      }
      vectors.put(r.getAs("image_id"), a);
    }
    for (String a : flowers) {
      String nearest = null;
      double best = -2;
      for (var other : vectors.entrySet()) {
        double cos = dot(vectors.get("dup-" + a), other.getValue());
        if (!other.getKey().equals("dup-" + a) && cos > best) {
          best = cos;
          nearest = other.getKey();
        }
        if (other.getKey().startsWith("dup-")) {
          assertTrue(cos >= 0.99, a + " vs " + other.getKey() + ": cosine " + cos);
        }
      }
      assertTrue(nearest.startsWith("dup-"), a + "'s nearest neighbour is " + nearest);
    }
  }

  @Test
  void oneModelLoadPerExecutorJvmAcrossPartitions() throws Exception {
    List<String> rows = new ArrayList<>();
    list("photos").forEach(p -> rows.add(p.getFileName() + "," + p.toUri()));
    Path manifest = writeManifest("image_id,uri", rows);
    // inference.threads=3 is a model configuration no other test loads, so this job's first lease is its own.
    RunSummary summary = EmbedJob.run(spark, manifest.toString(), tmp.resolve("out").toString(),
        ImgvecConfig.of(Map.of("job.partitions", "6", "inference.threads", "3", "inference.batch-size", "4")));
    assertEquals(1L, summary.get("model_loads"));
    assertEquals((long) rows.size(), summary.get("embedded"));
  }

  @Test
  void resumeSkipsWhatIsEmbeddedAndNeverDuplicates() throws Exception {
    List<Path> photos = list("photos");
    List<String> firstRows = new ArrayList<>();
    photos.subList(0, 5).forEach(p -> firstRows.add(p.getFileName() + "," + p.toUri()));
    String out = tmp.resolve("out").toString();
    EmbedJob.run(spark, writeManifest("image_id,uri", firstRows).toString(), out, ImgvecConfig.defaults());

    List<String> allRows = new ArrayList<>();
    photos.subList(0, 8).forEach(p -> allRows.add(p.getFileName() + "," + p.toUri()));
    allRows.add("missing," + IMAGES.resolve("photos/nope.jpg").toUri());
    RunSummary second = EmbedJob.run(spark, writeManifest("image_id,uri", allRows).toString(), out,
        ImgvecConfig.of(Map.of("output.mode", "resume")));
    assertEquals(5L, second.get("skipped_already_embedded"));
    assertEquals(3L, second.get("embedded"));
    assertEquals(true, second.get("accounting_ok"));
    assertEquals(8L, spark.read().parquet(out + "/embeddings").select("image_id").distinct().count());
    assertEquals(8L, spark.read().parquet(out + "/embeddings").count());
    assertEquals(1L, spark.read().parquet(out + "/errors").count());

    ConfigException otherModel = assertThrows(ConfigException.class, () -> EmbedJob.run(spark,
        writeManifest("image_id,uri", allRows).toString(), out,
        ImgvecConfig.of(Map.of("output.mode", "resume", "model.engine", "PyTorch"))));
    assertTrue(otherModel.getMessage().contains("holds embeddings of other models"), otherModel.getMessage());
  }

  @Test
  void jsonLinesAndParquetManifestsCarryColumnsAndRelativeUris() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("m"));
    Files.copy(IMAGES.resolve("photos/china.jpg"), dir.resolve("china.jpg"));
    Path jsonl = dir.resolve("manifest.jsonl");
    Files.writeString(jsonl, "{\"image_id\":\"a\",\"uri\":\"china.jpg\",\"sku\":42}\n{not json\n");
    RunSummary summary = EmbedJob.run(spark, jsonl.toString(), tmp.resolve("out").toString(), ImgvecConfig.defaults());
    assertEquals(1L, summary.get("embedded"));
    assertEquals(Map.of("malformed_record", 1L), summary.get("errors_by_class"));
    Row row = spark.read().parquet(tmp.resolve("out/embeddings").toString()).first();
    assertEquals(42L, row.<Long>getAs("sku"));

    String parquet = tmp.resolve("manifest.parquet").toString();
    spark.read().parquet(tmp.resolve("out/embeddings").toString()).select("image_id", "uri", "sku").write()
        .parquet(parquet);
    RunSummary fromParquet = EmbedJob.run(spark, parquet, tmp.resolve("out2").toString(), ImgvecConfig.defaults());
    assertEquals(1L, fromParquet.get("embedded"));
  }

  @Test
  void badConfigurationIsRejectedUpFrontWithTheValidChoices() throws IOException {
    Files.writeString(tmp.resolve("m.csv"), "image_id,uri\n");
    Files.writeString(tmp.resolve("m.txt"), "image_id,uri\n");
    ConfigException unknownKey = assertThrows(ConfigException.class,
        () -> ImgvecConfig.of(Map.of("inference.batchsize", "8")));
    assertTrue(unknownKey.getMessage().contains("inference.batch-size"), unknownKey.getMessage());
    ConfigException badChoice = assertThrows(ConfigException.class,
        () -> ImgvecConfig.of(Map.of("model.engine", "TensorFlow")));
    assertTrue(badChoice.getMessage().contains("auto, PyTorch, OnnxRuntime"), badChoice.getMessage());
    ConfigException outOfRange = assertThrows(ConfigException.class,
        () -> ImgvecConfig.of(Map.of("inference.batch-size", "0")));
    assertTrue(outOfRange.getMessage().contains("between 1 and 4096"), outOfRange.getMessage());
    ConfigException notANumber = assertThrows(ConfigException.class,
        () -> ImgvecConfig.of(Map.of("decode.threads", "many")));
    assertTrue(notANumber.getMessage().contains("not a whole number"), notANumber.getMessage());
    ConfigException badOption = assertThrows(ConfigException.class,
        () -> Main.run("embed", List.of("--manifest", "m.csv", "--ouput", "x")));
    assertTrue(badOption.getMessage().contains("--output"), badOption.getMessage());
    ConfigException missing = assertThrows(ConfigException.class, () -> Main.run("embed", List.of("--output", "x")));
    assertTrue(missing.getMessage().contains("--manifest"), missing.getMessage());
    UserException model = assertThrows(UserException.class, () -> EmbedJob.run(spark,
        tmp.resolve("m.csv").toString(), tmp.toString(), ImgvecConfig.of(Map.of("model.uri", "/no/such/model.onnx"))));
    assertTrue(model.getMessage().contains("model not found: /no/such/model.onnx"), model.getMessage());
    ConfigException format = assertThrows(ConfigException.class,
        () -> EmbedJob.run(spark, tmp.resolve("m.txt").toString(), tmp.toString(), ImgvecConfig.defaults()));
    assertTrue(format.getMessage().contains("[csv, jsonl, parquet]"), format.getMessage());
  }

  @Test
  void manifestWithoutRequiredColumnsIsAClearError() throws Exception {
    Path manifest = writeManifest("id,path", List.of("a,b.jpg"));
    ConfigException e = assertThrows(ConfigException.class,
        () -> EmbedJob.run(spark, manifest.toString(), tmp.resolve("out").toString(), ImgvecConfig.defaults()));
    assertTrue(e.getMessage().contains("must have columns image_id and uri"), e.getMessage());
  }

  private Path writeManifest(String header, List<String> rows) throws IOException {
    Path manifest = Files.createTempFile(tmp, "manifest", ".csv");
    Files.write(manifest, Stream.concat(Stream.of(header), rows.stream()).toList());
    return manifest;
  }

  static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  public static List<Path> list(String folder) {
    return TestImages.list(folder);
  }
}

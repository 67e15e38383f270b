package io.imgvec.jobs.embed.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgvec.TestImages;
import io.imgvec.config.ConfigException;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.jobs.embed.EmbedJob;
import io.imgvec.jobs.embed.ModelRecord;
import io.imgvec.jobs.run.RunSummary;
import io.imgvec.jobs.run.SparkSessions;
import io.imgvec.util.UserException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local runner against the Spark runner on the same manifests: the same rows, columns and types in both
 * datasets, the same counts in the summary; and what only Spark reads goes to Spark.
 */
public class LocalEmbedJobTest {
  private static final Path IMAGES = TestImages.ROOT;
  private static SparkSession spark;

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
  void csvManifestGivesTheSparkRunnersOutput() throws Exception {
    List<String> rows = new ArrayList<>(List.of("image_id,uri,label,note"));
    TestImages.list("photos").forEach(p -> rows.add(p.getFileName() + "," + p.toUri() + ",good,"));
    TestImages.list("bad").forEach(p -> rows.add("bad-" + p.getFileName() + "," + p.toUri() + ",bad,x"));
    rows.add("missing," + IMAGES.resolve("photos/no-such-file.jpg").toUri() + ",missing,x");
    rows.add("china.jpg," + IMAGES.resolve("photos/china.jpg").toUri() + ",duplicate id,x");
    rows.add("no-uri,,no uri,x");
    rows.add(",relative/x.jpg,no id,x");
    rows.add("  ,relative/y.jpg,blank id");
    rows.add("extra," + IMAGES.resolve("photos/china.jpg").toUri() + ",a,b,c");
    Path manifest = Files.write(tmp.resolve("manifest.csv"), rows);

    assertSameOutputs(manifest, ImgvecConfig.defaults(),
        List.of("duplicate_image_id", "missing_field", "not_found", "too_many_pixels", "unsupported_format"));
  }

  /** Quoted fields, as Spark's reader takes them: commas and escaped quotes inside, empty, unclosed. */
  @Test
  void quotedCsvFieldsReadAsSparkReadsThem() throws Exception {
    String china = IMAGES.resolve("photos/china.jpg").toUri().toString();
    String flower = IMAGES.resolve("photos/flower.jpg").toUri().toString();
    Path manifest = Files.writeString(tmp.resolve("quoted.csv"), String.join("\n",
        "image_id,\"uri\",title,note",
        "a,\"" + china + "\",\"red, large\",\"say \\\"hi\\\"\"",
        "\"b\",\"" + flower + "\",\"\",\"two \"\"quotes\"\"\"",
        "\"c, with comma\"," + china + ", spaced ,\"unclosed",
        "d,\"" + flower + "\",x \"y\" z,\"\"") + "\n");
    assertSameOutputs(manifest, ImgvecConfig.defaults(), List.of());
    Row a = spark.read().parquet(tmp.resolve("local/embeddings").toString()).filter("image_id = 'a'").first();
    assertEquals("red, large", a.<String>getAs("title"));
  }

  @Test
  void jsonLinesManifestKeepsSparksColumnTypesAndMarksMalformedLines() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("m"));
    Files.copy(IMAGES.resolve("photos/china.jpg"), dir.resolve("china.jpg"));
    Path manifest = Files.writeString(dir.resolve("manifest.jsonl"), String.join("\n",
        "{\"image_id\":\"a\",\"uri\":\"china.jpg\",\"sku\":42,\"price\":3,\"on_sale\":true,\"tag\":null}",
        "{\"uri\":\"china.jpg\",\"image_id\":\"b\",\"sku\":7,\"price\":2.5,\"on_sale\":false,\"tag\":\"x\"}",
        "{'image_id':'c','uri':'china.jpg','extra':'single quotes, as Spark reads them'}",
        "",
        "{\"image_id\":\"broken\",",
        "{\"image_id\":\"a\",\"uri\":\"china.jpg\"}",
        "{\"image_id\":\"gone\",\"uri\":\"gone.jpg\",\"price\":null}") + "\n");

    assertSameOutputs(manifest, ImgvecConfig.defaults(),
        List.of("duplicate_image_id", "malformed_record", "not_found"));
    Row a = spark.read().parquet(tmp.resolve("local/embeddings").toString()).filter("image_id = 'a'").first();
    assertEquals(42L, a.<Long>getAs("sku"));
    assertEquals(3.0, a.<Double>getAs("price"));
    assertEquals(true, a.<Boolean>getAs("on_sale"));
  }

  @Test
  void whatOnlySparkReadsGoesToSpark() throws Exception {
    Path nested = Files.writeString(tmp.resolve("nested.jsonl"), "{\"image_id\":\"a\",\"uri\":\"x.jpg\",\"t\":[1]}\n");
    Path mixed = Files.writeString(tmp.resolve("mixed.jsonl"),
        "{\"image_id\":\"a\",\"uri\":\"x.jpg\",\"t\":1}\n{\"image_id\":\"b\",\"uri\":\"x.jpg\",\"t\":\"one\"}\n");
    String out = tmp.resolve("out").toString();
    Path marked = Files.writeString(tmp.resolve("bom.csv"), "\uFEFFimage_id,uri\na,x.jpg\n");
    for (Path manifest : List.of(nested, mixed, marked)) {
      assertNull(LocalEmbedJob.runIfLocal(manifest.toString(), out, ImgvecConfig.defaults()), manifest.toString());
    }
    assertNull(LocalEmbedJob.runIfLocal(nested.toString(), out, ImgvecConfig.of(Map.of("output.mode", "resume"))));
    assertNull(LocalEmbedJob.runIfLocal(nested.toString(), out,
        ImgvecConfig.of(Map.of("spark.master", "spark://127.0.0.1:7077"))));
    ConfigException forced = assertThrows(ConfigException.class, () -> LocalEmbedJob.runIfLocal(nested.toString(),
        out, ImgvecConfig.of(Map.of("embed.runner", "local"))));
    assertEquals("embed.runner=local cannot run this job (JSON column t holding array values); use embed.runner=auto",
        forced.getMessage());
    assertFalse(Files.exists(tmp.resolve("out")), "nothing written by a run that went to Spark");
  }

  @Test
  void localMastersGiveTheirTaskCount() {
    assertEquals(1, LocalEmbedJob.tasks("local"));
    assertEquals(3, LocalEmbedJob.tasks("local[3]"));
    assertEquals(2, LocalEmbedJob.tasks("local[2,4]"));
    assertEquals(Runtime.getRuntime().availableProcessors(), LocalEmbedJob.tasks("local[*]"));
    assertEquals(0, LocalEmbedJob.tasks("local-cluster[2,1,1024]"));
    assertEquals(0, LocalEmbedJob.tasks("spark://host:7077"));
    assertEquals(0, LocalEmbedJob.tasks("yarn"));
  }

  @Test
  void aModelThatFailsItsCheckWritesNothing() throws Exception {
    Path manifest = Files.write(tmp.resolve("m.csv"),
        List.of("image_id,uri", "a," + IMAGES.resolve("photos/china.jpg").toUri()));
    UserException e = assertThrows(UserException.class, () -> LocalEmbedJob.run(manifest.toString(),
        tmp.resolve("out").toString(), ImgvecConfig.of(Map.of("model.output", "no_such_output")), 2));
    assertTrue(e.getMessage().contains("no_such_output"), e.getMessage());
    assertFalse(Files.exists(tmp.resolve("out")), "the output directory the run made is removed");
  }

  /** Runs both runners on {@code manifest} and compares what they wrote. */
  private void assertSameOutputs(Path manifest, ImgvecConfig config, List<String> someErrorClasses)
      throws Exception {
    RunSummary bySpark = EmbedJob.run(spark, manifest.toString(), tmp.resolve("spark").toString(), config);
    RunSummary local = LocalEmbedJob.run(manifest.toString(), tmp.resolve("local").toString(), config, 2);
    assertEquals("local", local.get("runner"));
    for (String key : List.of("rows_read", "embedded", "errors", "errors_by_class", "accounting_ok", "model_id")) {
      assertEquals(bySpark.get(key), local.get(key), key);
    }
    assertEquals(true, local.get("accounting_ok"));
    assertTrue(((Map<?, ?>) local.get("errors_by_class")).keySet().containsAll(someErrorClasses),
        String.valueOf(local.get("errors_by_class")));
    for (String dataset : List.of("embeddings", "errors")) {
      Dataset<Row> expected = spark.read().parquet(tmp.resolve("spark/" + dataset).toString());
      Dataset<Row> actual = spark.read().parquet(tmp.resolve("local/" + dataset).toString());
      assertEquals(expected.schema(), actual.schema(), dataset);
      assertSameRows(sorted(expected), sorted(actual), expected.schema().fieldNames());
    }
    assertTrue(Files.exists(tmp.resolve("local/embeddings/_SUCCESS")));
    assertNotNull(ModelRecord.read(tmp.resolve("local/embeddings").toString(), spark.sparkContext()
        .hadoopConfiguration()));
    try (var left = Files.list(tmp.resolve("local"))) {
      assertTrue(left.noneMatch(p -> p.getFileName().toString().startsWith("_temporary")), "staging removed");
    }
  }

  private static List<Row> sorted(Dataset<Row> rows) {
    List<Row> list = new ArrayList<>(rows.collectAsList());
    list.sort(Comparator.comparing(Row::toString));
    return list;
  }

  /** Equal rows, vectors within float rounding (batches differ between runners). */
  private static void assertSameRows(List<Row> expected, List<Row> actual, String[] columns) {
    assertEquals(expected.size(), actual.size());
    for (int r = 0; r < expected.size(); r++) {
      for (int c = 0; c < columns.length; c++) {
        Object e = expected.get(r).get(c);
        Object a = actual.get(r).get(c);
        if (columns[c].equals("embedding")) {
          List<Float> ev = expected.get(r).getList(c);
          List<Float> av = actual.get(r).getList(c);
          assertEquals(ev.size(), av.size());
          for (int i = 0; i < ev.size(); i++) {
            assertEquals(ev.get(i), av.get(i), 1e-5, "row " + r + " element " + i);
          }
        } else {
          assertEquals(e, a, "row " + r + " column " + columns[c]);
        }
      }
    }
  }
}

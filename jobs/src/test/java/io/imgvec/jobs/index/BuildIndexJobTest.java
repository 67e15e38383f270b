package io.imgvec.jobs.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgvec.config.ConfigException;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.index.IndexBuildException;
import io.imgvec.jobs.cli.Main;
import io.imgvec.jobs.embed.EmbedJob;
import io.imgvec.jobs.embed.EmbedJobTest;
import io.imgvec.jobs.run.RunSummary;
import io.imgvec.jobs.run.SparkSessions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** embed → build-index → query on real Spark, real inference and real FAISS. */
public class BuildIndexJobTest {
  static SparkSession spark;

  @TempDir
  static Path tmp;

  @BeforeAll
  static void embedPhotos() throws Exception {
    spark = SparkSessions.create("imgvec-test", ImgvecConfig.of(Map.of("spark.master", "local[2]")));
    List<String> rows = new ArrayList<>(List.of("image_id,uri"));
    for (Path p : EmbedJobTest.list("photos")) {
      rows.add(p.getFileName() + "," + p.toUri());
    }
    rows.add("flower_q85_444," + EmbedJobTest.IMAGES.resolve("near-duplicates/flower_q85_444.jpg").toUri());
    Path manifest = Files.write(tmp.resolve("manifest.csv"), rows);
    EmbedJob.run(spark, manifest.toString(), tmp.resolve("out").toString(), ImgvecConfig.defaults());
  }

  @AfterAll
  static void stopSpark() {
    spark.stop();
  }

  @Test
  void buildPublishAndQueryByImageAndVector() throws Exception {
    String index = tmp.resolve("index").toUri().toString();
    RunSummary built = BuildIndexJob.run(spark, tmp.resolve("out/embeddings").toString(), index,
        ImgvecConfig.defaults());
    assertEquals(25L, built.get("count"));
    assertTrue(Files.exists(tmp.resolve("index/LATEST")));
    assertTrue(Files.exists(tmp.resolve("index/_summary.json")));

    RunSummary byImage = Main.run("query", List.of("--index", index, "--image",
        EmbedJobTest.IMAGES.resolve("near-duplicates/flower_q85_420.jpg").toString(), "-k", "3"));
    List<Map<String, Object>> neighbors = neighbors(byImage);
    assertEquals("flower_q85_444", neighbors.get(0).get("image_id"), neighbors.toString());
    assertEquals(3, neighbors.size());

    RunSummary left = Main.run("query", List.of("--index", index, "--image",
        EmbedJobTest.IMAGES.resolve("photos/skimage-motorcycle_left.png").toString(), "-k", "2"));
    assertEquals("skimage-motorcycle_right.png", neighbors(left).get(1).get("image_id"));

    float[] zeros = new float[1280];
    zeros[0] = 1;
    RunSummary byVector = Main.run("query", List.of("--index", index, "--vector",
        java.util.Arrays.toString(zeros), "-k", "5"));
    assertEquals(5, neighbors(byVector).size());
    ConfigException wrongDim = assertThrows(ConfigException.class,
        () -> Main.run("query", List.of("--index", index, "--vector", "[1, 2]")));
    assertTrue(wrongDim.getMessage().contains("dimension 2"), wrongDim.getMessage());
  }

  @Test
  void failedBuildPublishesNothing() throws Exception {
    Path empty = tmp.resolve("empty-embeddings");
    spark.read().parquet(tmp.resolve("out/embeddings").toString()).limit(0).write().parquet(empty.toString());
    IndexBuildException e = assertThrows(IndexBuildException.class, () -> BuildIndexJob.run(spark, empty.toString(),
        tmp.resolve("never").toString(), ImgvecConfig.defaults()));
    assertTrue(e.getMessage().contains("empty"), e.getMessage());
    assertFalse(Files.exists(tmp.resolve("never")));

    IndexBuildException tooFew = assertThrows(IndexBuildException.class, () -> BuildIndexJob.run(spark,
        tmp.resolve("out/embeddings").toString(), tmp.resolve("never").toString(),
        ImgvecConfig.of(Map.of("index.type", "IVF-Flat", "index.nlist", "16"))));
    assertTrue(tooFew.getMessage().contains("needs at least 624 vectors"), tooFew.getMessage());
    assertFalse(Files.exists(tmp.resolve("never")));
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> neighbors(RunSummary summary) {
    return (List<Map<String, Object>>) summary.get("neighbors");
  }
}

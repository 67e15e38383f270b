package io.imgvec.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgvec.config.ImgvecConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * build-index under a small driver heap: embeddings written as the embed job writes them (large Parquet files) must
 * stream to the driver in bounded pieces, for IVF-Flat, whose build keeps full vectors.
 */
class BuildIndexMemoryIT {
  private static final int COUNT = 300_000;
  private static final int DIM = 384;

  @TempDir Path tmp;

  @Test
  void ivfFlatBuildFitsASmallHeap() throws Exception {
    Path embeddings = tmp.resolve("embeddings");
    writeEmbeddings(embeddings);
    List<String> cmd = new ArrayList<>(ChildJvm.command("1g", System.getProperty("java.class.path"),
        "-Dai.djl.offline=true"));
    cmd.addAll(List.of(Main.class.getName(), "build-index",
        "--embeddings", embeddings.toString(), "--output", tmp.resolve("index").toString(), "--type", "IVF-Flat",
        "--index.eval-queries=200"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("build.log").toFile())
        .start();
    assertTrue(p.waitFor(10, TimeUnit.MINUTES));
    String log = Files.readString(tmp.resolve("build.log"));
    assertEquals(0, p.exitValue(), log);
    assertTrue(log.contains("\"count\":" + COUNT), log);
  }

  /** One Parquet file of COUNT random vectors, as one embed task would write it. */
  private static void writeEmbeddings(Path dir) throws Exception {
    StructType schema = DataTypes.createStructType(List.of(
        DataTypes.createStructField("image_id", DataTypes.StringType, false),
        DataTypes.createStructField("uri", DataTypes.StringType, false),
        DataTypes.createStructField("model_id", DataTypes.StringType, false),
        DataTypes.createStructField("embedding", DataTypes.createArrayType(DataTypes.FloatType, false), false)));
    MapPartitionsFunction<Long, Row> rows = ids -> {
      Random random = new Random(7);
      List<Row> out = new ArrayList<>();
      ids.forEachRemaining(id -> {
        float[] v = new float[DIM];
        for (int i = 0; i < DIM; i++) {
          v[i] = (float) random.nextGaussian();
        }
        out.add(RowFactory.create("v" + id, "mem://" + id, "memory-test@sha256:none", v));
      });
      return out.iterator();
    };
    try (SparkSession spark = SparkSessions.create("imgvec-memory-test", ImgvecConfig.of(Map.of(
        "spark.master", "local[1]")))) {
      spark.range(0, COUNT, 1, 1).as(Encoders.LONG()).mapPartitions(rows, Encoders.row(schema)).write()
          .parquet(dir.toString());
    }
  }
}

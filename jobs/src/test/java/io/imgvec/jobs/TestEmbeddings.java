package io.imgvec.jobs;

import io.imgvec.config.ImgvecConfig;
import io.imgvec.faiss.GaussianClusters;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** Embeddings datasets as the embed job writes them (image_id "v<row>", uri, model_id, embedding), for index tests. */
final class TestEmbeddings {
  private TestEmbeddings() {}

  /**
   * {@code count} vectors of {@code dim} floats in {@code files} Parquet files: Gaussian noise, or with
   * {@code clusters} > 0 Gaussian clusters (as real embeddings cluster).
   */
  static void write(Path dir, int count, int dim, int files, int clusters) throws Exception {
    StructType schema = DataTypes.createStructType(List.of(
        DataTypes.createStructField("image_id", DataTypes.StringType, false),
        DataTypes.createStructField("uri", DataTypes.StringType, false),
        DataTypes.createStructField("model_id", DataTypes.StringType, false),
        DataTypes.createStructField("embedding", DataTypes.createArrayType(DataTypes.FloatType, false), false)));
    MapPartitionsFunction<Long, Row> rows = ids -> {
      List<Long> mine = new ArrayList<>();
      ids.forEachRemaining(mine::add);
      long seed = 7 + (mine.isEmpty() ? 0 : mine.get(0)); // each file draws its own vectors
      Random random = new Random(seed);
      GaussianClusters clustered = clusters > 0 ? new GaussianClusters(dim, clusters, 8, 7) : null;
      if (clustered != null) {
        clustered.reseed(seed);
      }
      List<Row> out = new ArrayList<>();
      mine.forEach(id -> {
        float[] v = new float[dim];
        if (clustered != null) {
          clustered.next(v);
        } else {
          for (int i = 0; i < dim; i++) {
            v[i] = (float) random.nextGaussian();
          }
        }
        out.add(RowFactory.create("v" + id, "mem://" + id, "test-model@sha256:none", v));
      });
      return out.iterator();
    };
    try (SparkSession spark = SparkSessions.create("imgvec-test-embeddings", ImgvecConfig.of(Map.of(
        "spark.master", "local[1]")))) {
      spark.range(0, count, 1, files).as(Encoders.LONG()).mapPartitions(rows, Encoders.row(schema)).write()
          .parquet(dir.toString());
    }
  }
}

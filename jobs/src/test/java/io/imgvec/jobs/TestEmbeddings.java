package io.imgvec.jobs;

import io.imgvec.config.ImgvecConfig;
import io.imgvec.faiss.GaussianClusters;
import io.imgvec.jobs.run.SparkSessions;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Embeddings datasets as the embed job writes them (image_id "v<row>", uri, model_id, embedding) from generated
 * vectors, for index tests and benchmarks.
 */
public final class TestEmbeddings {
  private TestEmbeddings() {}

  /** Where a file's vectors come from: each file draws its own, from a generator seeded by its first row. */
  @FunctionalInterface
  public interface Vectors extends Serializable {
    Consumer<float[]> forFileStartingAt(long firstRow);
  }

  /**
   * {@code count} vectors of {@code dim} floats in {@code files} Parquet files: Gaussian noise, or with
   * {@code clusters} > 0 Gaussian clusters (as real embeddings cluster).
   */
  static void write(Path dir, int count, int dim, int files, int clusters) throws Exception {
    write(dir, count, dim, files, clusters > 0 ? clustered(() -> new GaussianClusters(dim, clusters, 8, 7)) : first -> {
      Random random = new Random(7 + first);
      return v -> {
        for (int i = 0; i < dim; i++) {
          v[i] = (float) random.nextGaussian();
        }
      };
    });
  }

  /** Builds the clusters where the vectors are drawn (they are large to ship). */
  public interface Clusters extends Serializable, Supplier<GaussianClusters> {}

  /** Vectors from the clusters {@code make} builds, reseeded for each file: the same clusters, other draws. */
  public static Vectors clustered(Clusters make) {
    return first -> {
      GaussianClusters clusters = make.get();
      clusters.reseed(7 + first);
      return clusters::next;
    };
  }

  public static void write(Path dir, long count, int dim, int files, Vectors vectors) throws Exception {
    StructType schema = DataTypes.createStructType(List.of(
        DataTypes.createStructField("image_id", DataTypes.StringType, false),
        DataTypes.createStructField("uri", DataTypes.StringType, false),
        DataTypes.createStructField("model_id", DataTypes.StringType, false),
        DataTypes.createStructField("embedding", DataTypes.createArrayType(DataTypes.FloatType, false), false)));
    MapPartitionsFunction<Long, Row> rows = ids -> {
      List<Row> out = new ArrayList<>();
      Consumer<float[]> draw = null;
      while (ids.hasNext()) {
        long id = ids.next();
        draw = draw == null ? vectors.forFileStartingAt(id) : draw;
        float[] v = new float[dim];
        draw.accept(v);
        out.add(RowFactory.create("v" + id, "mem://" + id, "test-model@sha256:none", v));
      }
      return out.iterator();
    };
    try (SparkSession spark = SparkSessions.create("imgvec-test-embeddings", ImgvecConfig.of(Map.of()))) {
      spark.range(0, count, 1, files).as(Encoders.LONG()).mapPartitions(rows, Encoders.row(schema)).write()
          .parquet(dir.toString());
    }
  }
}

package io.imgvec.bench;

import io.imgvec.config.ImgvecConfig;
import io.imgvec.faiss.GaussianClusters;
import io.imgvec.jobs.run.SparkSessions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Prepares an index benchmark data set in {@code <dir>}: base.f32 and queries.f32 (for python-faiss and ground
 * truth) and the same base vectors as an imgvec embeddings Parquet data set (for the build-index job).
 *
 * <p>Usage: IndexBenchData synthetic <dir> <count> | zipf <dir> <count> | fashion-mnist <dir>
 *
 * <p>synthetic: 1,000 equally likely clusters in 512 dimensions. zipf: 2,000 clusters in 384 dimensions whose sizes
 * follow a Zipf law (the largest holds about 17%), each anisotropic (rank-16 covariance plus small isotropic noise).
 */
public final class IndexBenchData {
  private static final String FASHION = "/usr/share/datasets/fashion-mnist/";

  public static void main(String[] args) throws Exception {
    Path dir = Files.createDirectories(Path.of(args[1]));
    int d;
    if (args[0].equals("synthetic")) {
      d = 512;
      GaussianClusters gen = new GaussianClusters(d, 1000, 16, 7);
      VectorFiles.writeSynthetic(gen, Integer.parseInt(args[2]), d, dir.resolve("base.f32"));
      VectorFiles.writeSynthetic(gen, 1000, d, dir.resolve("queries.f32"));
    } else if (args[0].equals("zipf")) {
      d = 384;
      GaussianClusters gen = new GaussianClusters(d, 2000, 16, 11, 1.1);
      VectorFiles.writeSynthetic(gen, Integer.parseInt(args[2]), d, dir.resolve("base.f32"));
      VectorFiles.writeSynthetic(gen, 1000, d, dir.resolve("queries.f32"));
    } else {
      d = VectorFiles.writeIdx(Path.of(FASHION + "train-images-idx3-ubyte.gz"), dir.resolve("base.f32"))[1];
      VectorFiles.writeIdx(Path.of(FASHION + "t10k-images-idx3-ubyte.gz"), dir.resolve("queries.f32"));
    }
    Files.writeString(dir.resolve("dimension"), String.valueOf(d));
    writeParquet(dir, d);
  }

  /** The base vectors as the embed job would have written them (image_id, uri, model_id, embedding). */
  private static void writeParquet(Path dir, int d) throws Exception {
    Path base = dir.resolve("base.f32");
    long n = VectorFiles.rows(base, d);
    StructType schema = DataTypes.createStructType(List.of(
        DataTypes.createStructField("image_id", DataTypes.StringType, false),
        DataTypes.createStructField("uri", DataTypes.StringType, false),
        DataTypes.createStructField("model_id", DataTypes.StringType, false),
        DataTypes.createStructField("embedding", DataTypes.createArrayType(DataTypes.FloatType, false), false)));
    String modelId = "bench-" + dir.getFileName() + "@sha256:none";
    int partitions = (int) Math.max(1, n * d * 4 / (64 << 20));
    String basePath = base.toString(); // java.nio Paths do not serialise into Spark tasks
    MapPartitionsFunction<Long, Row> rows = ids -> {
      List<Row> out = new ArrayList<>();
      List<Long> positions = new ArrayList<>();
      ids.forEachRemaining(positions::add);
      if (positions.isEmpty()) {
        return out.iterator();
      }
      float[] v = VectorFiles.read(Path.of(basePath), d, positions.get(0), positions.size());
      for (int i = 0; i < positions.size(); i++) {
        long p = positions.get(i);
        out.add(RowFactory.create("v" + p, "bench://" + p, modelId,
            java.util.Arrays.copyOfRange(v, i * d, (i + 1) * d)));
      }
      return out.iterator();
    };
    try (SparkSession spark = SparkSessions.create("imgvec-bench-data", ImgvecConfig.of(Map.of()))) {
      spark.range(0, n, 1, partitions).as(Encoders.LONG()).mapPartitions(rows, Encoders.row(schema)).write()
          .mode("overwrite").parquet(dir.resolve("embeddings").toString());
    }
    System.out.println("[bench] wrote " + n + " x " + d + " vectors to " + dir);
  }
}

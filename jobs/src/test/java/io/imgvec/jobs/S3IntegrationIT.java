package io.imgvec.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgvec.config.ImgvecConfig;
import io.imgvec.jobs.embed.EmbedJob;
import io.imgvec.jobs.embed.EmbedJobTest;
import io.imgvec.jobs.index.BuildIndexJob;
import io.imgvec.jobs.run.RunSummary;
import io.imgvec.jobs.run.SparkSessions;
import io.imgvec.published.PublishedIndex;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Manifest, images and model on S3 (s3a against a real S3 API), embeddings written to S3, index published to S3
 * and read back from there.
 */
public class S3IntegrationIT {
  @TempDir
  Path tmp;

  @Test
  void embedBuildAndPublishThroughS3() throws Exception {
    try (S3ProxyServer s3 = S3ProxyServer.start(tmp, "imgvec");
        SparkSession spark = SparkSessions.create("imgvec-s3-test", ImgvecConfig.of(Map.of("spark.master",
            "local[2]")))) {
      Configuration conf = spark.sparkContext().hadoopConfiguration();
      s3.s3aSettings().forEach(conf::set);
      FileSystem fs = FileSystem.get(java.net.URI.create("s3a://imgvec/"), conf);
      List<String> rows = new ArrayList<>(List.of("image_id,uri"));
      for (Path p : EmbedJobTest.list("photos").subList(0, 6)) {
        fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(p.toUri()),
            new org.apache.hadoop.fs.Path("s3a://imgvec/images/" + p.getFileName()));
        rows.add(p.getFileName() + ",images/" + p.getFileName()); // relative to the manifest
      }
      rows.add("gone,images/not-there.jpg");
      Path manifest = Files.write(tmp.resolve("manifest.csv"), rows);
      fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(manifest.toUri()),
          new org.apache.hadoop.fs.Path("s3a://imgvec/manifest.csv"));
      Path model = Path.of("../udfs/src/main/resources/imgvec/models/mobilenet_v2_nsfwjs/model.onnx");
      fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(model.toAbsolutePath().toUri()),
          new org.apache.hadoop.fs.Path("s3a://imgvec/models/mobilenet.onnx"));

      ImgvecConfig config = ImgvecConfig.of(Map.of("model.uri", "s3a://imgvec/models/mobilenet.onnx"));
      RunSummary embedded = EmbedJob.run(spark, "s3a://imgvec/manifest.csv", "s3a://imgvec/run", config);
      assertEquals(6L, embedded.get("embedded"));
      assertEquals(Map.of("not_found", 1L), embedded.get("errors_by_class"));
      assertTrue(((String) embedded.get("model_id")).startsWith("mobilenet@sha256:7180498393aaada0"));
      List<Row> vectors = spark.read().parquet("s3a://imgvec/run/embeddings").collectAsList();
      assertEquals(6, vectors.size());
      assertTrue(vectors.get(0).<String>getAs("uri").startsWith("s3a://imgvec/images/"));

      BuildIndexJob.run(spark, "s3a://imgvec/run/embeddings", "s3a://imgvec/index", config);
      try (PublishedIndex index = PublishedIndex.open("s3a://imgvec/index", conf, tmp.resolve("cache"))) {
        assertEquals(6, index.size());
        List<Float> first = vectors.get(0).getList(vectors.get(0).fieldIndex("embedding"));
        float[] query = new float[first.size()];
        for (int i = 0; i < query.length; i++) {
          query[i] = first.get(i);
        }
        assertEquals(vectors.get(0).<String>getAs("image_id"), index.search(query, 1).get(0).imageId());
      }
    }
  }
}

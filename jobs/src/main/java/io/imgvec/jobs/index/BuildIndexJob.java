package io.imgvec.jobs.index;

import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.index.IndexBuilder;
import io.imgvec.index.IndexPublisher;
import io.imgvec.io.LocalFiles;
import io.imgvec.jobs.embed.ModelRecord;
import io.imgvec.jobs.run.Locations;
import io.imgvec.jobs.run.RunLog;
import io.imgvec.jobs.run.RunSummary;
import io.imgvec.published.IndexLayout;
import io.imgvec.util.Numbers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Embeddings Parquet → trained, measured FAISS index, published as a new version (driver side). */
public final class BuildIndexJob {
  private static final Logger LOG = LoggerFactory.getLogger(BuildIndexJob.class);

  private BuildIndexJob() {}

  /** index.metadata-columns as a list. */
  static List<String> metadataColumns(ImgvecConfig config) {
    return Arrays.stream(config.get(ConfigKeys.INDEX_METADATA_COLUMNS).split(",")).map(String::trim)
        .filter(c -> !c.isEmpty()).toList();
  }

  public static RunSummary run(SparkSession spark, String embeddingsUri, String outputUri, ImgvecConfig config)
      throws IOException {
    long start = System.nanoTime();
    Configuration hadoopConf = spark.sparkContext().hadoopConfiguration();
    String dataset = Locations.embeddingsDataset(embeddingsUri, hadoopConf);
    Locations.requireWritable("output", outputUri, hadoopConf);
    Path staging = Files.createTempDirectory("imgvec-index-");
    try (SparkVectorSource source = new SparkVectorSource(spark, dataset, metadataColumns(config))) {
      Consumer<String> progress = msg -> LOG.info("build-index: {}", msg);
      IndexBuilder builder = new IndexBuilder(source, IndexBuilder.Options.from(config), progress,
          new SparkDistributedAdd(spark, source, outputUri, hadoopConf, progress));
      RunLog.stage("build");
      IndexBuilder.BuiltIndex built = builder.build(staging);
      Map<String, Object> model = ModelRecord.read(dataset, hadoopConf);
      if (model != null && model.get("model_id").equals(built.manifest().get("model_id"))) {
        built.manifest().put("model", model);
      }
      RunLog.stage("publish");
      Map<String, Object> manifest = IndexPublisher.publish(built, outputUri, config.get(ConfigKeys.INDEX_RETENTION),
          hadoopConf);
      RunSummary summary = new RunSummary("build-index")
          .put("embeddings", dataset)
          .put("output", outputUri)
          .put("version", manifest.get("version"))
          .put("model_id", manifest.get("model_id"))
          .put("count", manifest.get("count"))
          .put("dimension", manifest.get("dimension"))
          .put("index", manifest.get("index"))
          .put("shards", IndexLayout.indexFiles(manifest).size())
          .put("resource_plan", manifest.get("resource_plan"))
          .put("outcome", manifest.get("outcome"))
          .put("metrics", manifest.get("metrics"))
          .put("timings", manifest.get("timings"))
          .put("vectors_through_driver", manifest.get("vectors_through_driver"))
          .put("duration_s", Numbers.round((System.nanoTime() - start) / 1e9, 3));
      summary.writeTo(outputUri, hadoopConf);
      return summary;
    } finally {
      LocalFiles.deleteRecursively(staging);
    }
  }
}

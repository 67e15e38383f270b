package io.imgvec.jobs.index;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.udf;

import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.index.IndexBuilder;
import io.imgvec.index.IndexPublisher;
import io.imgvec.index.IndexUpdater;
import io.imgvec.io.LocalFiles;
import io.imgvec.jobs.run.Locations;
import io.imgvec.jobs.run.RunLog;
import io.imgvec.jobs.run.RunSummary;
import io.imgvec.published.ContentDigests;
import io.imgvec.published.IdMap;
import io.imgvec.published.IndexFetcher;
import io.imgvec.published.IndexLayout;
import io.imgvec.util.Numbers;
import io.imgvec.util.UserException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Published index + embeddings → a new version with the changes applied, without retraining
 * ({@link IndexUpdater}). Spark finds the changes: the newest live rows whose (image_id, content_sha256) the version
 * does not hold (a join with the version's digests file), and the indexed image_ids whose newest record is a
 * deletion; only those rows travel to the driver, and the live vectors once more for the recall ground truth.
 */
public final class UpdateIndexJob {
  private static final Logger LOG = LoggerFactory.getLogger(UpdateIndexJob.class);

  private UpdateIndexJob() {}

  public static RunSummary run(SparkSession spark, String indexUri, String embeddingsUri, ImgvecConfig config)
      throws IOException {
    long start = System.nanoTime();
    Configuration hadoopConf = spark.sparkContext().hadoopConfiguration();
    String dataset = Locations.embeddingsDataset(embeddingsUri, hadoopConf);
    String baseVersion = IndexFetcher.latestVersion(indexUri, hadoopConf);
    if (baseVersion == null) {
      throw new UserException("no published index at " + indexUri + " (no LATEST)",
          "update-index updates what build-index published: run build-index first");
    }
    Path work = Files.createTempDirectory("imgvec-update-");
    Dataset<Row> newest = null;
    try {
      Map<String, Object> base = IndexFetcher.fetch(indexUri, hadoopConf, work);
      IndexUpdater.requireDigests(base);
      String version = String.valueOf(base.get("version"));
      Dataset<Row> all = spark.read().parquet(dataset);
      boolean stream = LiveEmbeddings.isStream(all);
      // A stream's newest rows take a shuffle of every row; the joins, the query sample and the scan reuse them.
      newest = stream ? LiveEmbeddings.newestRecords(all).persist(StorageLevel.DISK_ONLY()) : all;
      Dataset<Row> live = stream ? newest.filter(col(LiveEmbeddings.DELETED).equalTo(false)) : newest;
      Dataset<Row> indexed = spark.read().option("sep", "\t").option("quote", "\u0000")
          .schema("id LONG, content_sha256 STRING, escaped_image_id STRING")
          .csv(indexUri + "/" + IndexLayout.VERSIONS + "/" + version + "/" + ContentDigests.FILE);
      Column sameImage = escaped(live.col("image_id")).equalTo(indexed.col("escaped_image_id"));
      boolean digests = List.of(live.columns()).contains("content_sha256");
      if (!digests) {
        LOG.warn("update-index: {} has no content_sha256 column (embeddings not written by embed or stream): every"
            + " row it holds counts as changed, and an indexed image_id is replaced", dataset);
      }
      Dataset<Row> upserts = !digests ? live : live.join(indexed,
          sameImage.and(live.col("content_sha256").equalTo(indexed.col("content_sha256"))), "left_anti");
      Set<String> deleted = new HashSet<>(stream ? newest.filter(col(LiveEmbeddings.DELETED))
          .join(indexed, escaped(newest.col("image_id")).equalTo(indexed.col("escaped_image_id")), "left_semi")
          .select("image_id").as(Encoders.STRING()).collectAsList() : List.of());

      List<String> metadataColumns = BuildIndexJob.metadataColumns(config);
      IndexUpdater updater = new IndexUpdater(work.resolve(version), base, new IndexUpdater.Options(
          config.get(ConfigKeys.INDEX_EVAL_QUERIES), config.get(ConfigKeys.INDEX_BATCH_SIZE),
          config.get(ConfigKeys.UPDATE_REBUILD_SHARE)), msg -> LOG.info("update-index: {}", msg));
      RunLog.stage("build");
      IndexBuilder.BuiltIndex updated;
      try (SparkVectorSource changes = new SparkVectorSource(upserts, dataset, metadataColumns);
          SparkVectorSource liveSource = new SparkVectorSource(live, dataset, metadataColumns)) {
        updated = updater.update(changes, deleted, queries(live, config.get(ConfigKeys.INDEX_EVAL_QUERIES)),
            liveSource, work.resolve("updated"));
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> update = (Map<String, Object>) updated.manifest().get("update");
      if ((boolean) update.get("rebuild_due") && config.get(ConfigKeys.UPDATE_REBUILD_IF_DUE)) {
        LOG.info("update-index: a rebuild is due ({}); rebuilding", update.get("rebuild_reasons"));
        return BuildIndexJob.run(spark, embeddingsUri, indexUri, config).put("rebuilt_because",
            update.get("rebuild_reasons"));
      }
      RunLog.stage("publish");
      Map<String, Object> manifest = IndexPublisher.publish(updated, indexUri, config.get(ConfigKeys.INDEX_RETENTION),
          hadoopConf);
      RunSummary summary = new RunSummary("update-index")
          .put("embeddings", dataset)
          .put("index", indexUri)
          .put("version", manifest.get("version"))
          .put("base_version", version)
          .put("count", manifest.get("count"))
          .put("update", update)
          .put("metrics", manifest.get("metrics"))
          .put("timings", manifest.get("timings"))
          .put("duration_s", Numbers.round((System.nanoTime() - start) / 1e9, 3));
      summary.writeTo(indexUri, hadoopConf);
      return summary;
    } finally {
      if (newest != null) {
        newest.unpersist();
      }
      LocalFiles.deleteRecursively(work);
    }
  }

  /** image_id escaped as the id map and digests files write it ({@link IdMap#escape}), to join with them. */
  private static Column escaped(Column imageId) {
    return udf((UDF1<String, String>) IdMap::escape, DataTypes.StringType).apply(imageId);
  }

  /** Up to {@code n} live vectors drawn at random (seeded), at most a tenth of them, as held-out queries. */
  private static IndexUpdater.Queries queries(Dataset<Row> live, int n) {
    long count = live.count();
    int nq = (int) Math.min(n, count / 10);
    if (nq == 0) {
      return new IndexUpdater.Queries(new float[0], new String[0]);
    }
    List<Row> rows = live.sample(Math.min(1.0, 2.0 * nq / count), 42).select("image_id", "embedding").limit(nq)
        .collectAsList();
    int d = rows.get(0).getList(1).size();
    float[] vectors = new float[rows.size() * d];
    String[] ids = new String[rows.size()];
    for (int q = 0; q < rows.size(); q++) {
      List<Float> v = rows.get(q).getList(1);
      for (int i = 0; i < d; i++) {
        vectors[q * d + i] = v.get(i);
      }
      ids[q] = rows.get(q).getString(0);
    }
    return new IndexUpdater.Queries(vectors, ids);
  }
}

package io.imgvec.jobs.embed;

import static org.apache.spark.sql.functions.col;

import io.imgvec.config.ConfigException;
import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.jobs.run.Locations;
import io.imgvec.jobs.run.ProgressReporter;
import io.imgvec.jobs.run.RunLog;
import io.imgvec.jobs.run.RunSummary;
import io.imgvec.jobs.run.SparkSessions;
import io.imgvec.model.Embedder;
import io.imgvec.model.ModelCheck;
import io.imgvec.model.ModelSpec;
import io.imgvec.pipeline.ImageFetcher;
import io.imgvec.pipeline.ThreadLayout;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.storage.StorageLevel;

/**
 * Manifest → embeddings Parquet + errors Parquet. Every manifest row ends up exactly once in
 * {@code <output>/embeddings} or {@code <output>/errors} (or, with output.mode=resume, was already embedded by an
 * earlier run with the same model).
 */
public final class EmbedJob {
  private static final long ROWS_PER_PARTITION = 5000;

  private EmbedJob() {}

  public static RunSummary run(SparkSession spark, String manifestUri, String output, ImgvecConfig config)
      throws IOException {
    long start = System.nanoTime();
    String outputUri = output.replaceAll("/+$", "");
    Configuration hadoopConf = spark.sparkContext().hadoopConfiguration();
    Locations.requireReadable("manifest", manifestUri, hadoopConf);
    CompletableFuture<Embedder> checkedModel = startModelCheck(spark, config);
    RunLog.stage("manifest");
    Dataset<Row> manifest = ManifestReader.read(spark, manifestUri, config.get(ConfigKeys.MANIFEST_FORMAT));
    long rowsRead = manifest.count();
    String modelId = ModelCheck.await(checkedModel).modelId();
    Locations.requireWritable("output", outputUri, hadoopConf);
    boolean resume = config.get(ConfigKeys.OUTPUT_MODE).equals("resume");
    String embeddingsUri = outputUri + "/embeddings";
    Dataset<Row> todo = resume ? withoutEmbedded(spark, manifest, embeddingsUri, modelId) : manifest;
    long skipped = resume ? rowsRead - todo.count() : 0;
    var sc = spark.sparkContext();
    todo = todo.repartition(partitions(config, sc.defaultParallelism(), rowsRead - skipped));

    List<String> carried = ManifestReader.carriedColumns(manifest);
    EmbedPartition.Metrics metrics = EmbedPartition.Metrics.create(sc);
    EmbedPartition embed = new EmbedPartition(config, fetcher(spark, config, false),
        new Path(manifestUri).getParent().toString(), todo.schema(), carried, metrics);

    // Inference runs once; the result is kept on executor disk and split into the two datasets.
    Dataset<Row> results = todo.mapPartitions(embed, Encoders.row(EmbedOutput.schema(manifest.schema(), carried)))
        .persist(StorageLevel.DISK_ONLY());
    RunLog.stage("embed");
    EmbedCounts counts;
    long inferStart = System.nanoTime();
    try (ProgressReporter progress = new ProgressReporter(sc, "embed", metrics.rowsDone(), rowsRead - skipped,
        5_000)) {
      counts = count(results);
      write(results, carried, embeddingsUri, outputUri + "/errors", resume);
    } finally {
      results.unpersist();
    }
    ModelRecord.write(embeddingsUri, modelId, config, hadoopConf);

    long processed = rowsRead - skipped;
    RunSummary summary = EmbedSummary.of("spark", manifestUri, outputUri, config, modelId, rowsRead, skipped, counts,
        start, inferStart)
        .put("model_loads", metrics.modelLoads().value())
        .put("images_per_executor", metrics.rowsPerExecutor())
        .put("stage_ms_per_image", metrics.stageMsPerImage(processed, counts.embedded()));
    summary.writeTo(outputUri, hadoopConf);
    return summary;
  }

  /**
   * Loads the model and runs it once on a dummy input (a misconfigured model fails here, before any task), while
   * the caller goes on; in local mode the tasks then reuse it (same thread layout, so the same cached model).
   */
  public static CompletableFuture<Embedder> startModelCheck(SparkSession spark, ImgvecConfig config) {
    boolean gpu = config.get(ConfigKeys.DEVICE).equals("gpu");
    int taskCpus = spark.sparkContext().getConf().getInt("spark.task.cpus", 1);
    ModelSpec spec = ModelSpec.from(config).withThreads(ThreadLayout.of(config, taskCpus, gpu).inferenceThreads());
    Configuration hadoopConf = spark.sparkContext().hadoopConfiguration();
    return ModelCheck.start(spec, gpu ? 0 : -1, hadoopConf);
  }

  /**
   * Reads images on the executors with the session's Hadoop settings (s3a credentials etc.), for a stream
   * ({@code stream}: records from other producers) or a manifest.
   */
  public static ImageFetcher fetcher(SparkSession spark, ImgvecConfig config, boolean stream) {
    return ImageFetcher.of(SparkSessions.hadoopProperties(spark), config, stream);
  }

  /**
   * Inference tasks: as configured, else enough for every core and at most {@value #ROWS_PER_PARTITION} images a
   * task (a retried task redoes little; output files stay few).
   */
  public static int partitions(ImgvecConfig config, int defaultParallelism, long rows) {
    int configured = config.get(ConfigKeys.PARTITIONS);
    return configured > 0 ? configured
        : (int) Math.max(defaultParallelism, Math.min(Integer.MAX_VALUE, (rows + ROWS_PER_PARTITION - 1)
            / ROWS_PER_PARTITION));
  }

  /** Runs inference (the first action on the persisted results) and counts outcomes. */
  public static EmbedCounts count(Dataset<Row> results) {
    List<Row> rows = results.groupBy(EmbedOutput.STATUS, "error_class").count().collectAsList();
    long embedded = rows.stream().filter(r -> r.getString(0).equals(EmbedOutput.EMBEDDED))
        .mapToLong(r -> r.getLong(2)).sum();
    Map<String, Long> errorsByClass = rows.stream().filter(r -> r.getString(0).equals(EmbedOutput.ERROR))
        .collect(Collectors.toMap(r -> r.getString(1), r -> r.getLong(2), Long::sum, TreeMap::new));
    return new EmbedCounts(embedded, errorsByClass);
  }

  private static void write(Dataset<Row> results, List<String> carried, String embeddingsUri, String errorsUri,
      boolean resume) {
    results.filter(col(EmbedOutput.STATUS).equalTo(EmbedOutput.EMBEDDED))
        .select(columns(EmbedOutput.EMBEDDING_COLUMNS, carried)).write()
        .mode(resume ? SaveMode.Append : SaveMode.Overwrite).parquet(embeddingsUri);
    results.filter(col(EmbedOutput.STATUS).equalTo(EmbedOutput.ERROR))
        .select(columns(EmbedOutput.ERROR_COLUMNS, List.of())).write().mode(SaveMode.Overwrite).parquet(errorsUri);
  }

  private static Dataset<Row> withoutEmbedded(SparkSession spark, Dataset<Row> manifest, String embeddingsUri,
      String modelId) throws IOException {
    Path path = new Path(embeddingsUri);
    FileSystem fs = path.getFileSystem(spark.sparkContext().hadoopConfiguration());
    if (!fs.exists(path)) {
      return manifest;
    }
    Dataset<Row> existing = spark.read().parquet(embeddingsUri);
    List<String> otherModels = existing.select("model_id").distinct().filter(col("model_id").notEqual(modelId))
        .as(Encoders.STRING()).collectAsList();
    if (!otherModels.isEmpty()) {
      throw new ConfigException("output.mode=resume: " + embeddingsUri + " holds embeddings of other models "
          + otherModels + ", not " + modelId + "; use output.mode=overwrite or another output");
    }
    Dataset<Row> embeddedIds = existing.select(ManifestReader.IMAGE_ID).distinct();
    Dataset<Row> clean = manifest.filter(col(ManifestReader.ISSUE).isNull());
    Column sameId = clean.col(ManifestReader.IMAGE_ID).equalTo(embeddedIds.col(ManifestReader.IMAGE_ID));
    return clean.join(embeddedIds, sameId, "left_anti")
        .unionByName(manifest.filter(col(ManifestReader.ISSUE).isNotNull()));
  }

  public static Column[] columns(List<String> fixed, List<String> carried) {
    return Stream.concat(fixed.stream(), carried.stream()).map(functions::col).toArray(Column[]::new);
  }

}

package io.imgvec.jobs.stream;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import com.fasterxml.jackson.core.type.TypeReference;
import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.io.Commit;
import io.imgvec.io.Json;
import io.imgvec.jobs.embed.EmbedCounts;
import io.imgvec.jobs.embed.EmbedJob;
import io.imgvec.jobs.embed.EmbedOutput;
import io.imgvec.jobs.embed.EmbedPartition;
import io.imgvec.jobs.run.RunSummary;
import io.imgvec.pipeline.ImageFetcher;
import io.imgvec.util.Numbers;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.api.java.function.VoidFunction2;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The micro-batch function: embeds a batch and publishes it exactly once; keeps the run's totals. */
final class StreamBatches implements VoidFunction2<Dataset<Row>, Long> {
  private static final Logger LOG = LoggerFactory.getLogger(StreamBatches.class);
  private final SparkSession spark;
  private final ImgvecConfig config;
  private final ImageFetcher fetcher;
  private final StreamBatchCommit commit;
  private final String modelId;
  private final EmbedPartition.Metrics metrics;
  private final Map<Long, Map<String, Object>> byBatch = new ConcurrentHashMap<>();
  private final AtomicLong committed = new AtomicLong();

  StreamBatches(SparkSession spark, ImgvecConfig config, ImageFetcher fetcher, StreamBatchCommit commit, String modelId) {
    this.spark = spark;
    this.config = config;
    this.fetcher = fetcher;
    this.commit = commit;
    this.modelId = modelId;
    this.metrics = EmbedPartition.Metrics.create(spark.sparkContext());
  }

  /** Batches this run committed (replays of committed ones included). */
  long committed() {
    return committed.get();
  }

  /** The counts of a batch this run committed, or null. */
  Map<String, Object> counts(long batch) {
    return byBatch.get(batch);
  }

  /** Models loaded by the executors so far. */
  long modelLoads() {
    return metrics.modelLoads().value();
  }

  @Override
  public void call(Dataset<Row> kafka, Long batch) throws Exception {
    Map<String, Object> counts = commit.committed(batch);
    if (counts != null) {
      LOG.info("batch {} was committed before the restart: nothing to redo", batch);
    } else {
      counts = commit.batch(batch).staged();
      if (counts == null) {
        counts = stage(kafka, batch);
      }
      commit.publish(batch, counts);
    }
    byBatch.put(batch, counts);
    committed.incrementAndGet();
  }

  private Map<String, Object> stage(Dataset<Row> kafka, long batch) throws IOException {
    long start = System.nanoTime();
    Commit staged = commit.batch(batch);
    staged.restage();
    long maxBytes = config.get(ConfigKeys.STREAM_MAX_RECORD_BYTES);
    Dataset<Row> records = kafka.map((MapFunction<Row, Row>) row -> StreamJob.parse(row, maxBytes), Encoders.row(StreamJob.RECORDS))
        .persist(StorageLevel.MEMORY_AND_DISK());
    Dataset<Row> toEmbed = records.filter(not(col("deleted")))
        .repartition(EmbedJob.partitions(config, spark.sparkContext().defaultParallelism(), 0));
    EmbedPartition embed = new EmbedPartition(config, fetcher, "file:/", StreamJob.RECORDS, StreamJob.CARRIED, metrics);
    Dataset<Row> results = toEmbed.mapPartitions(embed, Encoders.row(EmbedOutput.schema(StreamJob.RECORDS, StreamJob.CARRIED)))
        .persist(StorageLevel.DISK_ONLY());
    try {
      EmbedCounts counts = EmbedJob.count(results);
      Dataset<Row> deletions = records.filter(col("deleted"));
      long deleted = deletions.count();
      String staging = staged.staging().toString();
      if (counts.embedded() + deleted > 0) {
        embeddings(results, deletions).coalesce(1).write().parquet(staging + "/embeddings");
      }
      if (counts.errors() > 0) {
        errors(results).coalesce(1).write().parquet(staging + "/errors");
      }
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("batch_id", batch);
      out.put("records", counts.embedded() + counts.errors() + deleted);
      out.put("embedded", counts.embedded());
      out.put("deleted", deleted);
      out.put("errors", counts.errors());
      out.put("errors_by_class", counts.errorsByClass());
      out.put("duration_s", Numbers.round((System.nanoTime() - start) / 1e9, 3));
      staged.markStaged(out);
      return out;
    } finally {
      results.unpersist();
      records.unpersist();
    }
  }

  /** Embedded rows and deletion markers (no vector), with the carried and Kafka columns. */
  private Dataset<Row> embeddings(Dataset<Row> results, Dataset<Row> deletions) {
    List<String> streamColumns = new ArrayList<>(List.of("fields", "deleted"));
    streamColumns.addAll(StreamJob.KAFKA_COLUMNS);
    Dataset<Row> embedded = results.filter(col(EmbedOutput.STATUS).equalTo(EmbedOutput.EMBEDDED))
        .select(EmbedJob.columns(EmbedOutput.EMBEDDING_COLUMNS, streamColumns));
    List<Column> markers = new ArrayList<>();
    for (var field : embedded.schema().fields()) {
      String name = field.name();
      Column value = switch (name) {
        case "model_id" -> lit(modelId);
        case "image_id", "uri", "fields", "deleted", "kafka_topic", "kafka_partition", "kafka_offset",
            "kafka_timestamp" -> col(name);
        default -> lit(null);
      };
      markers.add(value.cast(field.dataType()).as(name));
    }
    return embedded.unionByName(deletions.select(markers.toArray(Column[]::new)));
  }

  private static Dataset<Row> errors(Dataset<Row> results) {
    List<String> columns = new ArrayList<>(StreamJob.KAFKA_COLUMNS);
    columns.add("raw_value");
    return results.filter(col(EmbedOutput.STATUS).equalTo(EmbedOutput.ERROR))
        .select(EmbedJob.columns(EmbedOutput.ERROR_COLUMNS, columns));
  }

  RunSummary summary(StreamJob.Source source, String output, double seconds) {
    long embedded = sum("embedded");
    long records = sum("records");
    Map<String, Long> errorsByClass = new TreeMap<>();
    for (Map<String, Object> b : byBatch.values()) {
      Json.MAPPER.convertValue(b.get("errors_by_class"), new TypeReference<Map<String, Long>>() {})
          .forEach((k, v) -> errorsByClass.merge(k, v, Long::sum));
    }
    return new RunSummary("stream")
        .put("topic", source.topic())
        .put("output", output)
        .put("model_id", modelId)
        .put("batches", byBatch.size())
        .put("records", records)
        .put("embedded", embedded)
        .put("deleted", sum("deleted"))
        .put("errors", sum("errors"))
        .put("errors_by_class", errorsByClass)
        .put("accounting_ok", embedded + sum("deleted") + sum("errors") == records)
        .put("duration_s", Numbers.round(seconds, 3))
        .put("images_per_second", Numbers.round(embedded / Math.max(seconds, 1e-9), 3))
        .put("model_loads", metrics.modelLoads().value())
        .put("images_per_executor", metrics.rowsPerExecutor())
        .put("stage_ms_per_image", metrics.stageMsPerImage(records - sum("deleted"), embedded))
        .put("embeddings", output + "/embeddings")
        .put("errors_dataset", output + "/errors");
  }

  private long sum(String key) {
    return byBatch.values().stream().mapToLong(b -> ((Number) b.get(key)).longValue()).sum();
  }
}

package io.imgvec.jobs.stream;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;

import com.fasterxml.jackson.core.type.TypeReference;
import io.imgvec.config.ConfigException;
import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.io.Commit;
import io.imgvec.io.Json;
import io.imgvec.jobs.cli.Main;
import io.imgvec.jobs.embed.EmbedCounts;
import io.imgvec.jobs.embed.EmbedJob;
import io.imgvec.jobs.embed.EmbedOutput;
import io.imgvec.jobs.embed.EmbedPartition;
import io.imgvec.jobs.embed.ManifestReader;
import io.imgvec.jobs.embed.ModelRecord;
import io.imgvec.jobs.run.Locations;
import io.imgvec.jobs.run.RunLog;
import io.imgvec.jobs.run.RunSummary;
import io.imgvec.model.ModelCheck;
import io.imgvec.pipeline.ImageFetcher;
import io.imgvec.util.Exceptions;
import io.imgvec.util.Numbers;
import io.imgvec.util.UserException;
import java.io.IOException;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.api.java.function.VoidFunction2;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.DataStreamReader;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.StreamingQueryException;
import org.apache.spark.sql.streaming.StreamingQueryListener;
import org.apache.spark.sql.streaming.Trigger;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Kafka → embeddings, as records arrive (Structured Streaming: the DStream Kafka integration is not published for
 * Spark 4.0.2).
 * Each micro-batch parses the records as manifest rows ({@link StreamRecord}), embeds them with the batch job's
 * {@link EmbedPartition}, and publishes its output exactly once ({@link StreamBatchCommit}).
 */
public final class StreamJob {
  private static final Logger LOG = LoggerFactory.getLogger(StreamJob.class);
  /** Columns of the parsed records; those after image_id and uri are carried to the output. */
  static final StructType RECORDS = DataTypes.createStructType(List.of(
      DataTypes.createStructField(ManifestReader.IMAGE_ID, DataTypes.StringType, true),
      DataTypes.createStructField(ManifestReader.URI, DataTypes.StringType, true),
      DataTypes.createStructField("fields", DataTypes.createMapType(DataTypes.StringType, DataTypes.StringType), true),
      DataTypes.createStructField("deleted", DataTypes.BooleanType, false),
      DataTypes.createStructField("kafka_topic", DataTypes.StringType, false),
      DataTypes.createStructField("kafka_partition", DataTypes.IntegerType, false),
      DataTypes.createStructField("kafka_offset", DataTypes.LongType, false),
      DataTypes.createStructField("kafka_timestamp", DataTypes.TimestampType, true),
      DataTypes.createStructField("raw_value", DataTypes.StringType, true),
      DataTypes.createStructField(ManifestReader.ISSUE, DataTypes.StringType, true),
      DataTypes.createStructField(ManifestReader.ISSUE_MESSAGE, DataTypes.StringType, true)));
  static final List<String> KAFKA_COLUMNS = List.of("kafka_topic", "kafka_partition", "kafka_offset",
      "kafka_timestamp");
  /** Carried through inference: every record column but the required ones and the issue markers. */
  private static final List<String> CARRIED = List.of("fields", "deleted", "kafka_topic", "kafka_partition",
      "kafka_offset", "kafka_timestamp", "raw_value");
  private static final long RESTART_DELAY_MS = 10_000;

  private StreamJob() {}

  /** Where and how to read. */
  public record Source(String bootstrapServers, String topic, String checkpoint) {}

  public static RunSummary run(SparkSession spark, Source source, String output, ImgvecConfig config)
      throws Exception {
    long start = System.nanoTime();
    Trigger trigger = trigger(config.get(ConfigKeys.STREAM_TRIGGER));
    ImageFetcher fetcher = EmbedJob.fetcher(spark, config, true); // a bad URI policy fails here, before any work
    String outputUri = output.replaceAll("/+$", "");
    Configuration hadoopConf = spark.sparkContext().hadoopConfiguration();
    Locations.requireWritable("output", outputUri, hadoopConf);
    Locations.requireWritable("checkpoint", source.checkpoint(), hadoopConf);
    StreamBatchCommit commit = new StreamBatchCommit(outputUri, hadoopConf);
    commit.requireCheckpointOf(source.checkpoint());
    requireTopic(source, config);
    String modelId = ModelCheck.await(EmbedJob.startModelCheck(spark, config)).modelId();
    ModelRecord.write(outputUri + "/embeddings", modelId, config, hadoopConf);

    Batches batches = new Batches(spark, config, fetcher, commit, modelId);
    try (StreamMetrics metrics = new StreamMetrics(config.get(ConfigKeys.METRICS_PORT))) {
      return run(spark, source, outputUri, config, trigger, batches, metrics, start);
    }
  }

  private static RunSummary run(SparkSession spark, Source source, String outputUri, ImgvecConfig config,
      Trigger trigger, Batches batches, StreamMetrics metrics, long start) throws Exception {
    Configuration hadoopConf = spark.sparkContext().hadoopConfiguration();
    Progress progress = new Progress(batches, metrics);
    spark.streams().addListener(progress);
    RunLog.stage("stream");
    int failures = 0;
    while (true) {
      long committedBefore = batches.committed.get();
      StreamingQuery query = reader(spark, source, config).load().writeStream()
          .queryName("imgvec-stream").option("checkpointLocation", source.checkpoint()).trigger(trigger)
          .foreachBatch(batches).start();
      LOG.info("stream running: topic {} at {} into {}, {}", source.topic(), source.bootstrapServers(), outputUri,
          config.get(ConfigKeys.STREAM_TRIGGER));
      try {
        query.awaitTermination();
        break;
      } catch (StreamingQueryException e) {
        if (spark.sparkContext().isStopped()) {
          throw e; // the JVM is shutting down
        }
        UserException user = Main.asUserError(e);
        if (user != null) {
          throw user;
        }
        failures = batches.committed.get() > committedBefore ? 1 : failures + 1;
        String reason = Exceptions.firstLine(e.getCause() == null ? e : e.getCause());
        if (failures > config.get(ConfigKeys.STREAM_RESTART_ATTEMPTS)) {
          throw new UserException("the stream failed " + failures + " times in a row; last: " + reason,
              "the log has each failure's trace (are the brokers at " + source.bootstrapServers() + " reachable?);"
                  + " restarted with the same --checkpoint, the stream resumes where it stopped");
        }
        LOG.warn("stream failed ({}); restarting from the checkpoint in {} s (attempt {} of {})", reason,
            RESTART_DELAY_MS / 1000, failures, config.get(ConfigKeys.STREAM_RESTART_ATTEMPTS));
        Thread.sleep(RESTART_DELAY_MS);
      }
    }
    spark.streams().removeListener(progress);
    RunSummary summary = batches.summary(source, outputUri, (System.nanoTime() - start) / 1e9);
    summary.writeTo(outputUri, hadoopConf);
    return summary;
  }

  /**
   * A topic that does not exist is a user error (Spark would retry it for ever); brokers that cannot be reached now
   * are not: the stream's restarts ride out an outage.
   */
  private static void requireTopic(Source source, ImgvecConfig config) throws InterruptedException {
    try (org.apache.kafka.clients.admin.Admin admin = KafkaSettings.admin(source.bootstrapServers(), config)) {
      if (!admin.listTopics().names().get(20, java.util.concurrent.TimeUnit.SECONDS).contains(source.topic())) {
        throw new UserException("topic '" + source.topic() + "' does not exist on " + source.bootstrapServers(),
            "create it, or write to it first (bin/imgvec produce; brokers that auto-create topics make it then)");
      }
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      KafkaSettings.failIfRefused(e, source.bootstrapServers());
      LOG.warn("cannot list the topics of {} now ({}); starting anyway", source.bootstrapServers(),
          Exceptions.firstLine(e));
    }
  }

  public static Trigger trigger(String setting) {
    if (setting.equals("available-now")) {
      return Trigger.AvailableNow();
    }
    var duration = java.util.regex.Pattern.compile("processing-time=(\\d+)(ms|s|m|h)").matcher(setting);
    if (duration.matches()) {
      long unit = switch (duration.group(2)) {
        case "ms" -> 1;
        case "s" -> 1000;
        case "m" -> 60_000;
        default -> 3_600_000;
      };
      return Trigger.ProcessingTime(Long.parseLong(duration.group(1)) * unit);
    }
    throw new ConfigException("stream.trigger must be available-now or processing-time=<duration> (e.g. 10s, 500ms,"
        + " 5m), got '" + setting + "'");
  }

  private static DataStreamReader reader(SparkSession spark, Source source, ImgvecConfig config) {
    DataStreamReader reader = spark.readStream().format("kafka").options(KafkaSettings.sparkOptions(config))
        .option("kafka.bootstrap.servers", source.bootstrapServers())
        .option("subscribe", source.topic())
        .option("startingOffsets", config.get(ConfigKeys.STREAM_STARTING_OFFSETS))
        .option("fetchOffset.numRetries", "10"); // a broker restart is ridden out, not a failed batch
    long max = config.get(ConfigKeys.STREAM_MAX_OFFSETS_PER_TRIGGER);
    return max > 0 ? reader.option("maxOffsetsPerTrigger", Long.toString(max)) : reader;
  }

  /** A Kafka row as a parsed record (a bad one with its issue). */
  private static Row parse(Row kafka, long maxBytes) {
    StreamRecord r = StreamRecord.parse(kafka.getAs("value"), maxBytes);
    return RowFactory.create(r.imageId(), r.uri(), CollectionConverters.asScala(r.fields()), r.deleted(),
        kafka.getAs("topic"), kafka.getAs("partition"), kafka.getAs("offset"), kafka.<Timestamp>getAs("timestamp"),
        r.rawValue(), r.issue(), r.message());
  }

  /** The micro-batch function: embeds a batch and publishes it exactly once; keeps the run's totals. */
  private static final class Batches implements VoidFunction2<Dataset<Row>, Long> {
    private final SparkSession spark;
    private final ImgvecConfig config;
    private final ImageFetcher fetcher;
    private final StreamBatchCommit commit;
    private final String modelId;
    private final EmbedPartition.Metrics metrics;
    private final Map<Long, Map<String, Object>> byBatch = new ConcurrentHashMap<>();
    private final AtomicLong committed = new AtomicLong();

    Batches(SparkSession spark, ImgvecConfig config, ImageFetcher fetcher, StreamBatchCommit commit, String modelId) {
      this.spark = spark;
      this.config = config;
      this.fetcher = fetcher;
      this.commit = commit;
      this.modelId = modelId;
      this.metrics = EmbedPartition.Metrics.create(spark.sparkContext());
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
      Dataset<Row> records = kafka.map((MapFunction<Row, Row>) row -> parse(row, maxBytes), Encoders.row(RECORDS))
          .persist(StorageLevel.MEMORY_AND_DISK());
      Dataset<Row> toEmbed = records.filter(not(col("deleted")))
          .repartition(EmbedJob.partitions(config, spark.sparkContext().defaultParallelism(), 0));
      EmbedPartition embed = new EmbedPartition(config, fetcher, "file:/", RECORDS, CARRIED, metrics);
      Dataset<Row> results = toEmbed.mapPartitions(embed, Encoders.row(EmbedOutput.schema(RECORDS, CARRIED)))
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
      streamColumns.addAll(KAFKA_COLUMNS);
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
      List<String> columns = new ArrayList<>(KAFKA_COLUMNS);
      columns.add("raw_value");
      return results.filter(col(EmbedOutput.STATUS).equalTo(EmbedOutput.ERROR))
          .select(EmbedJob.columns(EmbedOutput.ERROR_COLUMNS, columns));
    }

    RunSummary summary(Source source, String output, double seconds) {
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

  /** A JSON line per micro-batch on stdout: its counts, images/s and how far the stream is behind the topic. */
  private static final class Progress extends StreamingQueryListener {
    private final Batches batches;
    private final StreamMetrics metrics;

    Progress(Batches batches, StreamMetrics metrics) {
      this.batches = batches;
      this.metrics = metrics;
    }

    @Override
    public void onQueryProgress(QueryProgressEvent event) {
      var p = event.progress();
      Map<String, Object> counts = batches.byBatch.get(p.batchId());
      if (counts == null) {
        return; // a trigger that found no new records
      }
      Map<String, Object> line = new LinkedHashMap<>(counts);
      line.put("images_per_second", Numbers.round(((Number) counts.get("embedded")).doubleValue()
          / Math.max(1e-3, p.batchDuration() / 1e3), 3));
      line.put("batch_duration_s", p.batchDuration() / 1e3);
      Map<String, Object> lag = lag(p.sources().length == 0 ? null : p.sources()[0]);
      line.put("lag", lag);
      System.out.println(Json.line(Map.of("stream_progress", line)));
      metrics.batch(counts, p.batchDuration() / 1e3, lag, batches.metrics.modelLoads().value());
    }

    /** Records behind the topic's end, per partition ({@code topic-partition}) and in total. */
    private static Map<String, Object> lag(org.apache.spark.sql.streaming.SourceProgress source) {
      Map<String, Object> lag = new TreeMap<>();
      if (source == null || source.latestOffset() == null || source.endOffset() == null) {
        return lag;
      }
      try {
        Map<String, Map<String, Long>> latest = Json.MAPPER.readValue(source.latestOffset(),
            new TypeReference<>() {});
        Map<String, Map<String, Long>> end = Json.MAPPER.readValue(source.endOffset(), new TypeReference<>() {});
        long total = 0;
        for (var topic : latest.entrySet()) {
          for (var partition : topic.getValue().entrySet()) {
            long behind = partition.getValue() - end.getOrDefault(topic.getKey(), Map.of())
                .getOrDefault(partition.getKey(), partition.getValue());
            lag.put(topic.getKey() + "-" + partition.getKey(), behind);
            total += behind;
          }
        }
        lag.put("total", total);
      } catch (IOException e) {
        lag.put("unknown", Exceptions.firstLine(e));
      }
      return lag;
    }

    @Override
    public void onQueryStarted(QueryStartedEvent event) {}

    @Override
    public void onQueryTerminated(QueryTerminatedEvent event) {}

    @Override
    public void onQueryIdle(QueryIdleEvent event) {}
  }
}

package io.imgvec.jobs.stream;

import static org.apache.spark.sql.functions.not;

import io.imgvec.config.ConfigException;
import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.jobs.cli.Main;
import io.imgvec.jobs.embed.EmbedJob;
import io.imgvec.jobs.embed.EmbedPartition;
import io.imgvec.jobs.embed.ManifestReader;
import io.imgvec.jobs.embed.ModelRecord;
import io.imgvec.jobs.run.Locations;
import io.imgvec.jobs.run.RunLog;
import io.imgvec.jobs.run.RunSummary;
import io.imgvec.model.ModelCheck;
import io.imgvec.pipeline.ImageFetcher;
import io.imgvec.util.Exceptions;
import io.imgvec.util.UserException;
import java.sql.Timestamp;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.DataStreamReader;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.StreamingQueryException;
import org.apache.spark.sql.streaming.Trigger;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
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
  static final List<String> CARRIED = List.of("fields", "deleted", "kafka_topic", "kafka_partition",
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

    StreamBatches batches = new StreamBatches(spark, config, fetcher, commit, modelId);
    try (StreamMetrics metrics = new StreamMetrics(config.get(ConfigKeys.METRICS_PORT))) {
      return run(spark, source, outputUri, config, trigger, batches, metrics, start);
    }
  }

  private static RunSummary run(SparkSession spark, Source source, String outputUri, ImgvecConfig config,
      Trigger trigger, StreamBatches batches, StreamMetrics metrics, long start) throws Exception {
    Configuration hadoopConf = spark.sparkContext().hadoopConfiguration();
    StreamProgress progress = new StreamProgress(batches, metrics);
    spark.streams().addListener(progress);
    RunLog.stage("stream");
    int failures = 0;
    while (true) {
      long committedBefore = batches.committed();
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
        failures = batches.committed() > committedBefore ? 1 : failures + 1;
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
  static Row parse(Row kafka, long maxBytes) {
    StreamRecord r = StreamRecord.parse(kafka.getAs("value"), maxBytes);
    return RowFactory.create(r.imageId(), r.uri(), CollectionConverters.asScala(r.fields()), r.deleted(),
        kafka.getAs("topic"), kafka.getAs("partition"), kafka.getAs("offset"), kafka.<Timestamp>getAs("timestamp"),
        r.rawValue(), r.issue(), r.message());
  }
}

package io.imgvec.jobs.stream;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.to_json;
import static org.apache.spark.sql.functions.udf;

import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.jobs.embed.ManifestReader;
import io.imgvec.jobs.embed.ManifestRules;
import io.imgvec.jobs.run.Locations;
import io.imgvec.jobs.run.RunSummary;
import io.imgvec.util.Numbers;
import java.io.IOException;
import java.util.Arrays;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;

/**
 * Backfill: a manifest's rows as Kafka records, one JSON object per row keyed by image_id (so the records of one
 * image stay in one partition, in order), written by Spark's Kafka sink. URIs are resolved as the embed job resolves
 * them (ManifestRules.resolve: relative ones against the manifest's directory); a manifest may leave out uri
 * (deletions only). Records the manifest reader could not parse are counted, not sent.
 */
public final class ProduceCommand {
  private ProduceCommand() {}

  public static RunSummary run(SparkSession spark, String manifestUri, String bootstrapServers, String topic,
      ImgvecConfig config) throws IOException, InterruptedException {
    long start = System.nanoTime();
    Locations.requireReadable("manifest", manifestUri, spark.sparkContext().hadoopConfiguration());
    Path manifestPath = new Path(manifestUri);
    String dir = manifestPath.getFileSystem(spark.sparkContext().hadoopConfiguration())
        .makeQualified(manifestPath).getParent().toString();
    Dataset<Row> all = ManifestReader.read(spark, manifestUri, config.get(ConfigKeys.MANIFEST_FORMAT), false).cache();
    Dataset<Row> manifest = all.filter(col(ManifestReader.ISSUE).isNull()
        .or(col(ManifestReader.ISSUE).notEqual("malformed_record")));
    Column absolute = udf((UDF1<String, String>) uri -> uri == null ? null : ManifestRules.resolve(dir, uri),
        DataTypes.StringType).apply(col(ManifestReader.URI));
    Column[] fields = Arrays.stream(manifest.columns()).filter(c -> !c.startsWith("_imgvec_"))
        .map(c -> c.equals(ManifestReader.URI) ? absolute.as(c) : col(c)).toArray(Column[]::new);
    long rows = all.count();
    long sent = manifest.count();
    KafkaSettings.requireAccepted(bootstrapServers, config);
    manifest.select(col(ManifestReader.IMAGE_ID).as("key"), to_json(struct(fields)).as("value"))
        .write().format("kafka").options(KafkaSettings.sparkOptions(config))
        .option("kafka.bootstrap.servers", bootstrapServers).option("topic", topic).save();
    all.unpersist();
    return new RunSummary("produce")
        .put("manifest", manifestUri)
        .put("topic", topic)
        .put("rows_read", rows)
        .put("records_sent", sent)
        .put("malformed_rows_not_sent", rows - sent)
        .put("duration_s", Numbers.round((System.nanoTime() - start) / 1e9, 3));
  }
}

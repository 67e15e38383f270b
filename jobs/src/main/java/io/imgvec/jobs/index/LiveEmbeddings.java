package io.imgvec.jobs.index;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.row_number;

import io.imgvec.jobs.embed.ManifestReader;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.expressions.Window;

/**
 * What an index holds of a stream's output: per image_id only the newest record (by Kafka timestamp, then
 * partition and offset: produce keys records by image_id, so one image's records share a partition and its offsets
 * order them), and nothing for an image whose newest record is a deletion. Batch-job output passes unchanged.
 */
public final class LiveEmbeddings {
  static final String DELETED = "deleted";

  private LiveEmbeddings() {}

  static boolean isStream(Dataset<Row> embeddings) {
    return List.of(embeddings.columns()).containsAll(List.of(DELETED, "kafka_offset"));
  }

  /** The newest record of each image_id, deletions included (callers filter on {@value #DELETED}). */
  static Dataset<Row> newestRecords(Dataset<Row> stream) {
    Column newestFirst = row_number().over(Window.partitionBy(ManifestReader.IMAGE_ID).orderBy(
        col("kafka_timestamp").desc(), col("kafka_partition").desc(), col("kafka_offset").desc()));
    return stream.withColumn("_imgvec_rank", newestFirst).filter(col("_imgvec_rank").equalTo(1))
        .drop("_imgvec_rank");
  }

  public static Dataset<Row> newest(Dataset<Row> embeddings) {
    return isStream(embeddings) ? newestRecords(embeddings).filter(col(DELETED).equalTo(false)) : embeddings;
  }
}

package io.imgvec.jobs.index;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.collect_set;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.size;

import io.imgvec.index.IndexBuildException;
import io.imgvec.index.VectorSource;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;

/**
 * The embed job's Parquet output as a {@link VectorSource}: statistics by a Spark aggregation, scans streamed to
 * the driver one partition at a time ({@code toLocalIterator}), so the driver holds a partition, never the data set.
 * Partitions are bounded: a task computes its whole partition as one result, so a large Parquet file (an embed task
 * writes one per task, with 128 MB row groups) would need that much heap at once; such input is repartitioned once
 * into pieces of at most {@value #SCAN_PARTITION_BYTES} bytes, kept on executor disk for both scans.
 */
public final class SparkVectorSource implements VectorSource, AutoCloseable {
  static final long SCAN_PARTITION_BYTES = 64L << 20;

  private final Dataset<Row> embeddings;
  private final List<String> metadataColumns;
  private Dataset<Row> scanned;
  private int minPartitions;

  /**
   * The embeddings at {@code uri}; a stream's output counts only the newest live row of each image_id.
   * {@code metadataColumns}: carried columns to publish with the ids (index.metadata-columns).
   */
  SparkVectorSource(SparkSession spark, String uri, List<String> metadataColumns) {
    this(LiveEmbeddings.newest(spark.read().parquet(uri)), uri, metadataColumns);
  }

  /** Embeddings already read ({@code uri} names them in messages). */
  SparkVectorSource(Dataset<Row> df, String uri, List<String> metadataColumns) {
    for (String required : List.of("image_id", "uri", "model_id", "embedding")) {
      if (!List.of(df.columns()).contains(required)) {
        throw new IndexBuildException(uri + " is not an imgvec embeddings dataset: column '" + required
            + "' is missing (columns: " + List.of(df.columns()) + ")");
      }
    }
    for (String column : metadataColumns) {
      if (!List.of(df.columns()).contains(column)) {
        throw new IndexBuildException("index.metadata-columns names '" + column + "', which " + uri
            + " does not have (columns: " + List.of(df.columns()) + ")");
      }
    }
    this.embeddings = df;
    this.metadataColumns = metadataColumns;
  }

  /** Scans (from the first on) read at least this many partitions. */
  void requirePartitions(int partitions) {
    if (scanned != null) {
      throw new IllegalStateException("partitions must be set before the first scan");
    }
    minPartitions = partitions;
  }

  /**
   * {@code rows}, repartitioned (once, kept on disk) if its partitions would exceed the bound or be fewer than
   * required.
   */
  private Dataset<Row> bounded(Dataset<Row> rows) throws IOException {
    long bytes = 0;
    Configuration conf = rows.sparkSession().sparkContext().hadoopConfiguration();
    for (String file : embeddings.inputFiles()) {
      Path path = new Path(file);
      bytes += path.getFileSystem(conf).getFileStatus(path).getLen();
    }
    int needed = (int) Math.max(minPartitions,
        Math.min(Integer.MAX_VALUE, (bytes + SCAN_PARTITION_BYTES - 1) / SCAN_PARTITION_BYTES));
    if (rows.rdd().getNumPartitions() >= needed) {
      return rows;
    }
    // Hash-partitioned by image_id: deterministic without the sort round-robin partitioning needs for that.
    return rows.repartition(needed, col("image_id")).persist(StorageLevel.DISK_ONLY());
  }

  @Override
  public void close() {
    if (scanned != null) {
      scanned.unpersist();
    }
  }

  @Override
  public List<String> metadataColumns() {
    return metadataColumns;
  }

  @Override
  public Stats stats() {
    Row r = embeddings.agg(count(lit(1)), collect_set(size(col("embedding"))), collect_set(col("model_id"))).first();
    Set<Integer> dims = new HashSet<>(r.<Integer>getList(1));
    Set<String> models = new HashSet<>(r.<String>getList(2));
    return new Stats(r.getLong(0), dims, models);
  }

  /**
   * What the builder reads, in scan order: image_id, uri, embedding, content_sha256 (null without digests), then
   * the metadata columns as strings; partitioned as every scan and the distributed add see it.
   */
  Dataset<Row> scannedRows() throws IOException {
    if (scanned == null) {
      List<Column> columns = new ArrayList<>(List.of(col("image_id"), col("uri"), col("embedding"),
          hasDigests() ? col("content_sha256") : lit(null).cast("string")));
      metadataColumns.forEach(c -> columns.add(col(c).cast("string")));
      scanned = bounded(embeddings.select(columns.toArray(Column[]::new)));
    }
    return scanned;
  }

  private boolean hasDigests() {
    return List.of(embeddings.columns()).contains("content_sha256");
  }

  @Override
  public void scan(int batchSize, BatchConsumer consumer) throws IOException {
    // Only what the builder uses travels to the driver (not model_id, checked once by stats()).
    boolean hasDigests = hasDigests();
    Iterator<Row> rows = scannedRows().toLocalIterator();
    int carried = metadataColumns.size();
    float[] vectors = null;
    String[] ids = new String[batchSize];
    String[] uris = new String[batchSize];
    String[][] metadata = new String[batchSize][carried];
    String[] digests = hasDigests ? new String[batchSize] : null;
    int d = -1;
    int n = 0;
    while (rows.hasNext()) {
      Row row = rows.next();
      List<Float> v = row.getList(2);
      if (d < 0) {
        d = v.size();
        vectors = new float[batchSize * d];
      } else if (v.size() != d) {
        throw new IndexBuildException("image_id '" + row.getString(0) + "' has a " + v.size()
            + "-d embedding, others " + d + "-d");
      }
      for (int i = 0; i < d; i++) {
        Float x = v.get(i);
        vectors[n * d + i] = x == null ? Float.NaN : x;
      }
      ids[n] = row.getString(0);
      uris[n] = row.getString(1);
      if (digests != null) {
        digests[n] = row.getString(3);
      }
      for (int c = 0; c < carried; c++) {
        metadata[n][c] = row.getString(4 + c);
      }
      if (++n == batchSize) {
        consumer.accept(new Batch(vectors, ids, uris, metadata, digests, n, d));
        n = 0;
      }
    }
    if (n > 0) {
      consumer.accept(new Batch(vectors, ids, uris, metadata, digests, n, d));
    }
  }
}

package io.imgvec.jobs.embed;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.monotonically_increasing_id;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.substring;
import static org.apache.spark.sql.functions.trim;
import static org.apache.spark.sql.functions.when;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;

/**
 * Reads an image manifest (CSV, JSON lines or Parquet) and marks, without dropping anything, the rows that cannot
 * be embedded: malformed records, a missing {@code image_id} or {@code uri}, and repeated {@code image_id}s (the
 * first occurrence in file order wins).
 */
public final class ManifestReader {
  public static final String IMAGE_ID = "image_id";
  public static final String URI = "uri";
  /** Set on rows that must become errors without being read; null otherwise. */
  public static final String ISSUE = "_imgvec_issue";
  public static final String ISSUE_MESSAGE = "_imgvec_issue_message";
  private static final String POSITION = "_imgvec_position";
  private static final String CORRUPT = "_corrupt_record";

  private ManifestReader() {}

  public static Dataset<Row> read(SparkSession spark, String uri, String format) {
    return read(spark, uri, format, true);
  }

  /**
   * {@code uriRequired} false: a manifest without a uri column is read too (as rows without one), as when it
   * holds only deletions to send to a stream.
   */
  public static Dataset<Row> read(SparkSession spark, String uri, String format, boolean uriRequired) {
    String fmt = format.equals("auto") ? ManifestRules.formatOf(uri) : format;
    Dataset<Row> raw = switch (fmt) {
      case "csv" -> spark.read().option("header", "true").option("mode", "PERMISSIVE").csv(uri);
      case "jsonl" -> spark.read().option("mode", "PERMISSIVE").json(uri);
      default -> spark.read().parquet(uri);
    };
    if (!uriRequired && !Arrays.asList(raw.columns()).contains(URI)) {
      raw = raw.withColumn(URI, lit(null).cast("string"));
    }
    List<String> columns = Arrays.asList(raw.columns());
    ManifestRules.requireColumns(uri, columns);
    Dataset<Row> typed = raw.withColumn(IMAGE_ID, col(IMAGE_ID).cast("string")).withColumn(URI, col(URI).cast("string"))
        .withColumn(POSITION, monotonically_increasing_id());
    Column occurrence = row_number().over(Window.partitionBy(IMAGE_ID).orderBy(POSITION));
    Column corrupt = columns.contains(CORRUPT) ? col(CORRUPT).isNotNull() : lit(false);
    Column missingId = col(IMAGE_ID).isNull().or(trim(col(IMAGE_ID)).equalTo(""));
    Column missingUri = col(URI).isNull().or(trim(col(URI)).equalTo(""));
    Column issue = when(corrupt, ManifestRules.MALFORMED).when(missingId.or(missingUri), ManifestRules.MISSING_FIELD)
        .when(occurrence.gt(1), ManifestRules.DUPLICATE_ID);
    Column message = when(corrupt, concat(lit(ManifestRules.malformedPrefix(fmt)),
            substring(col(columns.contains(CORRUPT) ? CORRUPT : URI), 1, ManifestRules.QUOTED_CHARS)))
        .when(missingId, ManifestRules.NO_IMAGE_ID)
        .when(missingUri, ManifestRules.NO_URI)
        .when(occurrence.gt(1), ManifestRules.REPEATED_ID);
    Dataset<Row> marked = typed.withColumn(ISSUE, issue).withColumn(ISSUE_MESSAGE, message).drop(POSITION);
    return columns.contains(CORRUPT) ? marked.drop(CORRUPT) : marked;
  }

  /** Manifest columns other than the required ones and imgvec's markers: carried through to the output. */
  public static List<String> carriedColumns(Dataset<Row> manifest) {
    List<String> carried = new ArrayList<>();
    for (String c : manifest.columns()) {
      if (!c.equals(IMAGE_ID) && !c.equals(URI) && !c.startsWith("_imgvec_")) {
        carried.add(c);
      }
    }
    return carried;
  }
}

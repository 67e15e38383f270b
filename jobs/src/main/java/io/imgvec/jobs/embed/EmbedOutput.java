package io.imgvec.jobs.embed;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/** Column layout of the embed job's output: one combined row per manifest row, split into two datasets on write. */
public final class EmbedOutput {
  public static final String STATUS = "status";
  public static final String EMBEDDED = "embedded";
  public static final String ERROR = "error";
  public static final List<String> EMBEDDING_COLUMNS =
      List.of("image_id", "uri", "content_sha256", "model_id", "embedding", "width", "height");
  public static final List<String> ERROR_COLUMNS = List.of("image_id", "uri", "stage", "error_class", "message");
  /** The fixed columns, in order, before the carried ones. */
  public static final List<String> FIXED_COLUMNS = List.of(STATUS, "image_id", "uri", "content_sha256", "model_id",
      "embedding", "width", "height", "stage", "error_class", "message");
  public static final int FIXED = FIXED_COLUMNS.size();
  private static final Set<String> RESERVED = Set.of(STATUS, "content_sha256", "model_id", "embedding", "width",
      "height", "stage", "error_class", "message");

  private EmbedOutput() {}

  public static StructType schema(StructType manifest, List<String> carried) {
    List<StructField> fields = new ArrayList<>(List.of(
        DataTypes.createStructField(STATUS, DataTypes.StringType, false),
        DataTypes.createStructField("image_id", DataTypes.StringType, true),
        DataTypes.createStructField("uri", DataTypes.StringType, true),
        DataTypes.createStructField("content_sha256", DataTypes.StringType, true),
        DataTypes.createStructField("model_id", DataTypes.StringType, true),
        DataTypes.createStructField("embedding", DataTypes.createArrayType(DataTypes.FloatType, false), true),
        DataTypes.createStructField("width", DataTypes.IntegerType, true),
        DataTypes.createStructField("height", DataTypes.IntegerType, true),
        DataTypes.createStructField("stage", DataTypes.StringType, true),
        DataTypes.createStructField("error_class", DataTypes.StringType, true),
        DataTypes.createStructField("message", DataTypes.StringType, true)));
    for (String c : carried) {
      if (RESERVED.contains(c)) {
        throw new io.imgvec.config.ConfigException("manifest column '" + c + "' has the name of an output column;"
            + " rename it (reserved: " + RESERVED + ")");
      }
      fields.add(manifest.apply(c));
    }
    return DataTypes.createStructType(fields);
  }
}

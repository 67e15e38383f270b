package io.imgvec.jobs.commands;

import io.imgvec.jobs.index.LiveEmbeddings;
import io.imgvec.jobs.stream.StreamBatchCommit;
import io.imgvec.util.UserException;
import java.io.PrintStream;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Spark SQL over imgvec's outputs, for notebooks and scripts: {@code --run <dir>} registers the views
 * {@code embeddings} and {@code errors} of an embed or stream output ({@code embeddings} holds every row written;
 * {@code live_embeddings}, of a stream, the newest live row of each image_id); {@code --views name=uri,...} registers
 * any Parquet datasets. The result goes to stdout as JSON lines, one object per row (arrays as JSON arrays).
 */
public final class SqlCommand {
  private SqlCommand() {}

  public static void run(SparkSession spark, String query, String runDir, String views, int limit, PrintStream out)
      throws Exception {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    Map<String, String> datasets = new LinkedHashMap<>();
    if (runDir != null) {
      for (String dataset : StreamBatchCommit.DATASETS) {
        Path path = new Path(runDir, dataset);
        if (path.getFileSystem(conf).exists(path)) {
          datasets.put(dataset, path.toString());
        }
      }
    }
    if (views != null) {
      for (String view : views.split(",")) {
        String[] nameUri = view.split("=", 2);
        if (nameUri.length != 2 || !nameUri[0].trim().matches("[A-Za-z_][A-Za-z0-9_]*")) {
          throw new UserException("--views takes name=uri pairs separated by commas, got '" + view + "'");
        }
        datasets.put(nameUri[0].trim(), nameUri[1].trim());
      }
    }
    datasets.forEach((name, uri) -> spark.read().parquet(uri).createOrReplaceTempView(name));
    if (datasets.containsKey("embeddings")) {
      LiveEmbeddings.newest(spark.table("embeddings")).createOrReplaceTempView("live_embeddings");
    }
    Dataset<Row> result;
    try {
      result = spark.sql(query);
    } catch (Exception e) { // Spark's AnalysisException is checked in Java's eyes, undeclared in Scala's
      if (!(e instanceof AnalysisException analysis)) {
        throw e;
      }
      UserException user = new UserException("the query is not valid here: " + analysis.getSimpleMessage()
          .replaceAll("\\s+", " "), "views: " + String.join(", ", spark.catalog().listTables().collectAsList()
          .stream().map(org.apache.spark.sql.catalog.Table::name).toList()));
      user.initCause(e);
      throw user;
    }
    for (Iterator<String> rows = result.limit(limit).toJSON().toLocalIterator(); rows.hasNext(); ) {
      out.println(rows.next());
    }
  }
}

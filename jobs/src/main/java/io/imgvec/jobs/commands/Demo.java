package io.imgvec.jobs.commands;

import io.imgvec.config.ConfigException;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.jobs.embed.EmbedJob;
import io.imgvec.jobs.index.BuildIndexJob;
import io.imgvec.jobs.run.RunSummary;
import io.imgvec.jobs.run.SparkSessions;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;

/**
 * {@code imgvec demo}: the embed job on the sample photos in {@code demo/} with the embedded default model, then an
 * index built and published over them, then the neighbours of one photo.
 */
public final class Demo {
  private static final String QUERY_PHOTO = "skimage-motorcycle_left.png";

  private Demo() {}

  public static RunSummary run(String output, ImgvecConfig config) throws Exception {
    Path manifest = home().resolve("demo/manifest.csv");
    Path out = Path.of(output).toAbsolutePath();
    String index = out.resolve("index").toUri().toString();
    RunSummary embed;
    RunSummary built;
    try (SparkSession spark = SparkSessions.create("imgvec-demo", config)) {
      embed = EmbedJob.run(spark, manifest.toUri().toString(), out.toUri().toString(), config);
      built = BuildIndexJob.run(spark, out.resolve("embeddings").toUri().toString(), index, config);
    }
    System.out.printf("%nimgvec demo: embedded %s of %s images with %s%n", embed.get("embedded"),
        embed.get("rows_read"), embed.get("model_id"));
    System.out.printf("  errors (kept, with reasons): %s%n", embed.get("errors_by_class"));
    System.out.printf("  embeddings: %s%n  errors:     %s%n  summary:    %s%n", out.resolve("embeddings"),
        out.resolve("errors"), out.resolve("_summary.json"));
    System.out.printf("  index:      %s (version %s, %s)%n%n", out.resolve("index"), built.get("version"),
        ((java.util.Map<?, ?>) built.get("index")).get("factory"));
    Path photo = home().resolve("demo/photos/" + QUERY_PHOTO);
    System.out.println("nearest neighbours of " + QUERY_PHOTO + ":");
    RunSummary query = QueryCommand.run(index, photo.toString(), null, 4, config);
    System.out.println();
    return new RunSummary("demo").put("embed", embed.fields()).put("build_index", built.fields())
        .put("query", query.fields());
  }

  /** The project directory: {@code imgvec.home} (set by bin/imgvec) or the working directory. */
  static Path home() {
    Path home = Path.of(System.getProperty("imgvec.home", "."));
    if (!Files.exists(home.resolve("demo/manifest.csv"))) {
      throw new ConfigException("demo/manifest.csv not found under " + home.toAbsolutePath()
          + "; run the demo from the imgvec checkout (bin/imgvec demo)");
    }
    return home;
  }
}

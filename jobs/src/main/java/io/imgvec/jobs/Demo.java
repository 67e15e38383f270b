package io.imgvec.jobs;

import io.imgvec.config.ConfigException;
import io.imgvec.config.ImgvecConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;

/** {@code imgvec demo}: the embed job on the sample photos in {@code demo/}, with the embedded default model. */
final class Demo {
  private Demo() {}

  static RunSummary run(String output, ImgvecConfig config) throws Exception {
    Path manifest = home().resolve("demo/manifest.csv");
    Path out = Path.of(output).toAbsolutePath();
    RunSummary summary;
    try (SparkSession spark = SparkSessions.create("imgvec-demo", config)) {
      summary = EmbedJob.run(spark, manifest.toUri().toString(), out.toUri().toString(), config);
    }
    System.out.printf("%nimgvec demo: embedded %s of %s images with %s%n", summary.get("embedded"),
        summary.get("rows_read"), summary.get("model_id"));
    System.out.printf("  errors (kept, with reasons): %s%n", summary.get("errors_by_class"));
    System.out.printf("  embeddings: %s%n  errors:     %s%n  summary:    %s%n%n", out.resolve("embeddings"),
        out.resolve("errors"), out.resolve("_summary.json"));
    return summary;
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

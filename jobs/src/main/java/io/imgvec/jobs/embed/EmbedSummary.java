package io.imgvec.jobs.embed;

import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.jobs.run.RunSummary;
import io.imgvec.util.Numbers;

/** The embed job's run summary, alike for both runners (Spark and local). */
public final class EmbedSummary {
  private EmbedSummary() {}

  /** The summary fields both runners write, up to the run time; each adds its model loads and stage times. */
  public static RunSummary of(String runner, String manifestUri, String outputUri, ImgvecConfig config, String modelId,
      long rowsRead, long skipped, EmbedCounts counts, long startNanos, long inferStartNanos) {
    long now = System.nanoTime();
    double seconds = (now - startNanos) / 1e9;
    return new RunSummary("embed")
        .put("runner", runner)
        .put("manifest", manifestUri)
        .put("output", outputUri)
        .put("mode", config.get(ConfigKeys.OUTPUT_MODE))
        .put("model_id", modelId)
        .put("rows_read", rowsRead)
        .put("embedded", counts.embedded())
        .put("errors", counts.errors())
        .put("errors_by_class", counts.errorsByClass())
        .put("skipped_already_embedded", skipped)
        .put("accounting_ok", counts.embedded() + counts.errors() + skipped == rowsRead)
        .put("duration_s", Numbers.round(seconds, 3))
        .put("images_per_second", Numbers.round(counts.embedded() / Math.max(seconds, 1e-9), 3))
        .put("embed_and_write_s", Numbers.round((now - inferStartNanos) / 1e9, 3))
        .put("embeddings", outputUri + "/embeddings")
        .put("errors_dataset", outputUri + "/errors");
  }

}

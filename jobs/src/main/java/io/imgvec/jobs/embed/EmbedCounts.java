package io.imgvec.jobs.embed;

import java.util.Map;

/** How an embed run's rows ended: embedded, or errors by class. */
public record EmbedCounts(long embedded, Map<String, Long> errorsByClass) {
  public long errors() {
    return errorsByClass.values().stream().mapToLong(Long::longValue).sum();
  }
}

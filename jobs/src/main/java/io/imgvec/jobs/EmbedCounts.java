package io.imgvec.jobs;

import java.util.Map;

/** How an embed run's rows ended: embedded, or errors by class. */
record EmbedCounts(long embedded, Map<String, Long> errorsByClass) {
  long errors() {
    return errorsByClass.values().stream().mapToLong(Long::longValue).sum();
  }
}

package io.imgvec.jobs.run;

import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Logs a progress line every few seconds while a job runs: items done of the total, items/s and the time left. */
public final class ProgressLog implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ProgressLog.class);

  private final Thread thread;

  public ProgressLog(String what, long total, long intervalMillis, LongSupplier done) {
    long start = System.nanoTime();
    thread = new Thread(() -> {
      try {
        while (true) {
          Thread.sleep(intervalMillis);
          log(what, done.getAsLong(), total, (System.nanoTime() - start) / 1e9);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "imgvec-progress");
    thread.setDaemon(true);
    thread.start();
  }

  private static void log(String what, long items, long total, double seconds) {
    double rate = items / Math.max(seconds, 1e-9);
    String left = items == 0 ? "unknown" : String.format("%.0f s", (total - items) / rate);
    LOG.info("{}: {}/{} images ({}%), {} images/s, {} left", what, items, total,
        total == 0 ? 100 : items * 100 / total, String.format("%.1f", rate), left);
  }

  @Override
  public void close() {
    thread.interrupt();
  }
}

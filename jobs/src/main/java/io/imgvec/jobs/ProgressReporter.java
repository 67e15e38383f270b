package io.imgvec.jobs;

import org.apache.spark.SparkContext;
import org.apache.spark.SparkStageInfo;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Prints a progress line every few seconds while a job runs: tasks done per active stage and items finished. */
final class ProgressReporter implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ProgressReporter.class);
  private final Thread thread;

  ProgressReporter(SparkContext sc, String what, LongAccumulator done, long intervalMillis) {
    long start = System.nanoTime();
    thread = new Thread(() -> {
      try {
        while (true) {
          Thread.sleep(intervalMillis);
          StringBuilder line = new StringBuilder(what).append(": ");
          for (int id : sc.statusTracker().getActiveStageIds()) {
            SparkStageInfo s = sc.statusTracker().getStageInfo(id).getOrElse(() -> null);
            if (s != null) {
              line.append("stage ").append(id).append(' ').append(s.numCompletedTasks()).append('/')
                  .append(s.numTasks()).append(" tasks; ");
            }
          }
          double secs = (System.nanoTime() - start) / 1e9;
          line.append(done.value()).append(" rows finished in completed tasks, ")
              .append(String.format("%.0f", secs)).append(" s elapsed");
          LOG.info(line.toString());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "imgvec-progress");
    thread.setDaemon(true);
    thread.start();
  }

  @Override
  public void close() {
    thread.interrupt();
  }
}

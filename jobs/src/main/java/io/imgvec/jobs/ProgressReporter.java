package io.imgvec.jobs;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple4;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Logs a progress line every few seconds while a job runs: items done of the total, items/s and the time left.
 * Items finished by running tasks count too: executors report their accumulators with every heartbeat
 * ({@code spark.executor.heartbeatInterval}), which a listener reads, so progress moves before any task ends.
 */
final class ProgressReporter extends SparkListener implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ProgressReporter.class);

  private final SparkContext sc;
  private final LongAccumulator done;
  /** Items done so far by each running task, as its last heartbeat said. */
  private final Map<Object, Long> running = new ConcurrentHashMap<>();
  private final Thread thread;

  ProgressReporter(SparkContext sc, String what, LongAccumulator done, long total, long intervalMillis) {
    this.sc = sc;
    this.done = done;
    long start = System.nanoTime();
    sc.addSparkListener(this);
    thread = new Thread(() -> {
      try {
        while (true) {
          Thread.sleep(intervalMillis);
          log(what, total, (System.nanoTime() - start) / 1e9);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "imgvec-progress");
    thread.setDaemon(true);
    thread.start();
  }

  private void log(String what, long total, double seconds) {
    long items = done.value() + running.values().stream().mapToLong(Long::longValue).sum();
    double rate = items / Math.max(seconds, 1e-9);
    String left = items == 0 ? "unknown" : String.format("%.0f s", (total - items) / rate);
    LOG.info("{}: {}/{} images ({}%), {} images/s, {} left", what, items, total,
        total == 0 ? 100 : items * 100 / total, String.format("%.1f", rate), left);
  }

  @Override
  public void onExecutorMetricsUpdate(SparkListenerExecutorMetricsUpdate update) {
    for (Tuple4<Object, Object, Object, scala.collection.immutable.Seq<AccumulableInfo>> task
        : CollectionConverters.asJava(update.accumUpdates())) {
      for (AccumulableInfo info : CollectionConverters.asJava(task._4())) {
        if (info.id() == done.id() && info.update().isDefined()) {
          running.put(task._1(), ((Number) info.update().get()).longValue());
        }
      }
    }
  }

  @Override
  public void onTaskEnd(SparkListenerTaskEnd end) {
    running.remove(end.taskInfo().taskId()); // its items now count in the accumulator's value
  }

  @Override
  public void close() {
    thread.interrupt();
    sc.removeSparkListener(this);
  }
}

package io.imgvec.jobs.run;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple4;
import scala.jdk.javaapi.CollectionConverters;

/**
 * A {@link ProgressLog} of a Spark job. Items finished by running tasks count too: executors report their
 * accumulators with every heartbeat ({@code spark.executor.heartbeatInterval}), which a listener reads, so progress
 * moves before any task ends.
 */
public final class ProgressReporter extends SparkListener implements AutoCloseable {
  private final SparkContext sc;
  private final LongAccumulator done;
  /** Items done so far by each running task, as its last heartbeat said. */
  private final Map<Object, Long> running = new ConcurrentHashMap<>();
  private final ProgressLog log;

  public ProgressReporter(SparkContext sc, String what, LongAccumulator done, long total, long intervalMillis) {
    this.sc = sc;
    this.done = done;
    sc.addSparkListener(this);
    log = new ProgressLog(what, total, intervalMillis,
        () -> done.value() + running.values().stream().mapToLong(Long::longValue).sum());
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
    log.close();
    sc.removeSparkListener(this);
  }
}

package io.imgvec.index;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;

/** The largest heap use seen while it runs, sampled every few milliseconds (garbage not yet collected included). */
final class HeapSampler implements AutoCloseable {
  private final MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
  private final Thread thread;
  private volatile long maxUsed;

  HeapSampler() {
    thread = new Thread(() -> {
      while (!Thread.currentThread().isInterrupted()) {
        sample();
        try {
          Thread.sleep(10);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "imgvec-heap-sampler");
    thread.setDaemon(true);
    thread.start();
  }

  private void sample() {
    maxUsed = Math.max(maxUsed, memory.getHeapMemoryUsage().getUsed());
  }

  long maxUsedMb() {
    sample();
    return maxUsed >> 20;
  }

  /** The heap limit (-Xmx), for context beside the peak. */
  long limitMb() {
    return memory.getHeapMemoryUsage().getMax() >> 20;
  }

  @Override
  public void close() {
    thread.interrupt();
  }
}

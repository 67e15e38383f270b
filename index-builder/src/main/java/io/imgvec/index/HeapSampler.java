package io.imgvec.index;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.List;

/**
 * The largest heap use seen while it runs, sampled every few milliseconds: all of it (garbage not yet collected
 * included, so it grows toward -Xmx whatever the build needs) and what was live after each collection (what the
 * build needs).
 */
final class HeapSampler implements AutoCloseable {
  private final MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
  private final List<MemoryPoolMXBean> heapPools = ManagementFactory.getMemoryPoolMXBeans().stream()
      .filter(p -> p.getType() == MemoryType.HEAP && p.isCollectionUsageThresholdSupported()).toList();
  private final Thread thread;
  private volatile long maxUsed;
  private volatile long maxLive;

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
    long live = 0;
    for (MemoryPoolMXBean pool : heapPools) {
      MemoryUsage afterGc = pool.getCollectionUsage();
      live += afterGc == null ? 0 : afterGc.getUsed();
    }
    maxLive = Math.max(maxLive, live);
  }

  long maxUsedMb() {
    sample();
    return maxUsed >> 20;
  }

  long maxLiveMb() {
    sample();
    return maxLive >> 20;
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

package io.imgvec.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** Queries/s of 2 threads, each searching one query at a time for a few seconds, as the peers' tables report. */
final class TwoThreadThroughput {
  static final int SECONDS = 5;

  /** A search of query {@code q} (any int: take it modulo the query count), on the calling thread. */
  @FunctionalInterface
  interface Search {
    void query(int q) throws Exception;
  }

  private TwoThreadThroughput() {}

  /** {@code perThread} runs first on each thread (its set-up, e.g. one OpenMP thread). */
  static double measure(Runnable perThread, Search search) throws InterruptedException {
    AtomicLong done = new AtomicLong();
    long end = System.nanoTime() + SECONDS * 1_000_000_000L;
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 2; t++) {
      int first = t * 97; // the threads start at different queries
      Thread thread = new Thread(() -> {
        perThread.run();
        try {
          for (int q = first; System.nanoTime() < end; q++) {
            search.query(q);
            done.incrementAndGet();
          }
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      thread.start();
      threads.add(thread);
    }
    for (Thread t : threads) {
      t.join();
    }
    return done.get() / (double) SECONDS;
  }
}

package io.imgvec.pipeline;

import java.util.concurrent.atomic.LongAdder;

/** Time spent per stage (summed over threads), for run summaries and the benchmark. Thread-safe. */
public final class StageTimes {
  public final LongAdder readNanos = new LongAdder();
  public final LongAdder decodeNanos = new LongAdder();
  public final LongAdder inferenceNanos = new LongAdder();
  public final LongAdder inferenceWaitNanos = new LongAdder();
}

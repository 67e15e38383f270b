package io.imgvec.pipeline;

import io.imgvec.util.Numbers;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** Time spent per stage (summed over threads), for run summaries and the benchmark. Thread-safe. */
public final class StageTimes {
  public final LongAdder readNanos = new LongAdder();
  public final LongAdder decodeNanos = new LongAdder();
  public final LongAdder inferenceNanos = new LongAdder();
  public final LongAdder inferenceWaitNanos = new LongAdder();

  /**
   * A run summary's wall time per image of each stage, summed over threads and tasks: reads and decodes per row,
   * inference per image embedded.
   */
  public static Map<String, Double> msPerImage(long readNanos, long decodeNanos, long inferenceNanos, long rows,
      long embedded) {
    return Map.of("read", perImage(readNanos, rows), "decode_preprocess", perImage(decodeNanos, rows),
        "inference", perImage(inferenceNanos, embedded));
  }

  private static double perImage(long nanos, long images) {
    return images == 0 ? 0 : Numbers.round(nanos / 1e6 / images, 3);
  }
}

package io.imgvec.pipeline;

import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;

/**
 * How one task spreads its work over threads, derived from the cores Spark gives the task
 * ({@code spark.task.cpus}; Spark runs executor cores / task cpus tasks at once) and the device. Explicit
 * {@code inference.threads} / {@code decode.threads} settings win.
 *
 * <ul>
 *   <li>CPU: inference threads = the task's cores. With one core per task (Spark's default) the task thread runs the
 *       model itself: an engine's intra-op pool would spin on the cores the other tasks and the decoders need
 *       (measured: the same images cost 23 ms of CPU each instead of 19 ms). Decode threads = the task's cores, so
 *       reading and decoding the next batches overlaps the current batch's inference.
 *   <li>GPU: the engine's default for its own host threads; decode threads = the task's cores, since decoding is
 *       the CPU work left.
 * </ul>
 */
public record ThreadLayout(int inferenceThreads, int decodeThreads) {

  /** {@code inferenceThreads} 0 means the engine's default. */
  public static ThreadLayout of(ImgvecConfig config, int taskCpus, boolean gpu) {
    int cores = Math.max(1, taskCpus);
    int inference = config.get(ConfigKeys.INFERENCE_THREADS);
    int decode = config.get(ConfigKeys.DECODE_THREADS);
    return new ThreadLayout(inference > 0 ? inference : gpu ? 0 : cores, decode > 0 ? decode : cores);
  }
}

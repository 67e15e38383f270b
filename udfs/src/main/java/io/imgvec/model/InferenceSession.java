package io.imgvec.model;

/** One thread's use of a model: a batch of preprocessed tensors in, one embedding per tensor out. */
public interface InferenceSession extends AutoCloseable {
  /** Embeds {@code count} tensors laid out one after another in {@code batch}. */
  float[][] embed(float[] batch, int count) throws Exception;

  @Override
  void close();
}

package io.imgvec.faiss;

import java.nio.ByteBuffer;

/**
 * Distances from a query to vectors stored as 8-bit scalar codes (one byte a dimension, the vector's offset from
 * each dimension's minimum in steps), computed natively: with AVX2 where the processor has it, 8 dimensions an
 * instruction. The refine stage's hot loop; its store (io.imgvec.published.Sq8Vectors) prepares the query.
 */
public final class Sq8Distances {
  private Sq8Distances() {}

  /**
   * Writes into {@code distances[0, count)} the distance from the prepared {@code query} to the row of each of
   * {@code ids[offset, offset + count)}: with {@code l2}, the sum over dimensions of (query − code × step)², else the
   * sum of query × code. Rows are d bytes (d = the query's length), {@code rowsPerChunk} rows to each of the direct
   * buffers {@code chunks}. A negative id is skipped (distance 0); an id past the rows is refused.
   */
  public static void compute(ByteBuffer[] chunks, int rowsPerChunk, float[] query, float[] step, boolean l2,
      long[] ids, int offset, int count, float[] distances) {
    FaissNative.ensureLoaded();
    FaissNative.sq8Distances(chunks, rowsPerChunk, query, step, l2, ids, offset, count, distances);
  }
}

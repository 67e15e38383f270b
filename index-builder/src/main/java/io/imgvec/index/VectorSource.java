package io.imgvec.index;

import java.io.IOException;
import java.util.List;
import java.util.Set;

/**
 * Embeddings for the index builder: summary facts, and scans in a stable order in bounded batches, so the builder
 * never holds all vectors at once. Implemented over Spark/Parquet by the jobs module and over arrays in tests.
 */
public interface VectorSource {

  /** Facts checked before anything is read in full. */
  record Stats(long count, Set<Integer> dimensions, Set<String> modelIds) {}

  /**
   * {@code size} vectors of {@code dimension} floats, row after row, with their image ids, URIs and the values of
   * the source's metadata columns ({@code metadata[row][column]}, as strings; null when missing). Sources may reuse
   * the arrays for the next batch: they are valid until {@link BatchConsumer#accept} returns. {@code digests}: each
   * image's content_sha256 (what update-index compares), or null when the source has none.
   */
  record Batch(float[] vectors, String[] imageIds, String[] uris, String[][] metadata, String[] digests, int size,
      int dimension) {}

  @FunctionalInterface
  interface BatchConsumer {
    void accept(Batch batch) throws IOException;
  }

  Stats stats() throws IOException;

  /** The carried columns each batch brings beside the vectors (published with the ids, for search filters). */
  List<String> metadataColumns();

  /** Every vector once, always in the same order, {@code batchSize} at a time. */
  void scan(int batchSize, BatchConsumer consumer) throws IOException;
}

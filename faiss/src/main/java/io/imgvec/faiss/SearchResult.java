package io.imgvec.faiss;

/**
 * Results of a batch search: for query {@code q}, rank {@code r}, the id is {@code labels[q * k + r]} (-1 when fewer
 * than k results exist) and its distance {@code distances[q * k + r]} (squared L2, or inner product).
 */
public record SearchResult(int k, float[] distances, long[] labels) implements java.io.Serializable {
  public long label(int query, int rank) {
    return labels[query * k + rank];
  }

  public float distance(int query, int rank) {
    return distances[query * k + rank];
  }
}

package io.imgvec.faiss;

/**
 * The work of single-query searches, counted by FAISS (see {@link FaissIndex#searchWork}): four counts per query,
 * and the stored vectors a refine stage re-ranked (counted by it, {@link #withReranked}). Work adds up across shards
 * searched one after another ({@link #plus}).
 */
public record SearchWork(long[] counts, long[] reranked) {
  static final int FIELDS = 4;

  SearchWork(long[] counts) {
    this(counts, new long[counts.length / FIELDS]);
  }

  public int queries() {
    return counts.length / FIELDS;
  }

  /**
   * Codes (vectors) scanned in the inverted lists for query {@code q}; with no list probed, the vectors an HNSW graph
   * index compared it with.
   */
  public long codes(int q) {
    return counts[FIELDS * q];
  }

  /** Inverted lists probed for query {@code q}. */
  public long lists(int q) {
    return counts[FIELDS * q + 1];
  }

  /** Centroids a flat coarse quantizer compared query {@code q} with (0 with an HNSW one). */
  public long flatCentroids(int q) {
    return counts[FIELDS * q + 2];
  }

  /** Distances an HNSW coarse quantizer computed for query {@code q} (0 with a flat one). */
  public long graphDistances(int q) {
    return counts[FIELDS * q + 3];
  }

  /** Stored vectors a refine stage compared query {@code q} with. */
  public long reranked(int q) {
    return reranked[q];
  }

  /** This work followed by re-ranking {@code perQuery[q]} stored vectors for query {@code q}. */
  public SearchWork withReranked(long[] perQuery) {
    long[] sum = reranked.clone();
    for (int q = 0; q < sum.length; q++) {
      sum[q] += perQuery[q];
    }
    return new SearchWork(counts, sum);
  }

  /** The work of searching both, one after the other, for each query. */
  public SearchWork plus(SearchWork other) {
    return plus(other, FIELDS);
  }

  /** The work of scanning both's lists, probed by one coarse quantizer search (this one's), for each query. */
  public SearchWork plusScans(SearchWork other) {
    return plus(other, 2);
  }

  /** Adds the first {@code fields} counts of each query. */
  private SearchWork plus(SearchWork other, int fields) {
    long[] sum = counts.clone();
    for (int i = 0; i < sum.length; i++) {
      sum[i] += i % FIELDS < fields ? other.counts[i] : 0;
    }
    long[] reranks = reranked.clone();
    for (int q = 0; q < reranks.length; q++) {
      reranks[q] += other.reranked[q];
    }
    return new SearchWork(sum, reranks);
  }
}

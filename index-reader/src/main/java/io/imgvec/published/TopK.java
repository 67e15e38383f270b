package io.imgvec.published;

import io.imgvec.faiss.Metric;
import io.imgvec.faiss.SearchResult;
import java.util.Arrays;

/**
 * The running k best (id, distance) pairs of each of nq queries, nearest first: how results found in pieces (base
 * batches, executor partitions, index shards) become one answer.
 */
public final class TopK implements java.io.Serializable {
  private final int nq;
  private final int k;
  private final Metric metric;
  private final float[] distances;
  private final long[] ids;

  public TopK(int nq, int k, Metric metric) {
    this.nq = nq;
    this.k = k;
    this.metric = metric;
    this.distances = new float[nq * k];
    this.ids = new long[nq * k];
    Arrays.fill(ids, -1);
    Arrays.fill(distances, metric == Metric.L2 ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY);
  }

  /** Offers every result of {@code r} (a search of the same queries), its labels mapped through {@code idOf}. */
  public void offerAll(SearchResult r, java.util.function.LongUnaryOperator idOf) {
    for (int q = 0; q < nq; q++) {
      for (int j = 0; j < r.k(); j++) {
        long label = r.label(q, j);
        if (label >= 0) {
          offer(q, r.distance(q, j), idOf.applyAsLong(label));
        }
      }
    }
  }

  /** Inserts into query q's sorted top k if good enough. */
  public void offer(int q, float distance, long id) {
    int base = q * k;
    if (!better(distance, distances[base + k - 1])) {
      return;
    }
    int pos = base + k - 1;
    while (pos > base && better(distance, distances[pos - 1])) {
      distances[pos] = distances[pos - 1];
      ids[pos] = ids[pos - 1];
      pos--;
    }
    distances[pos] = distance;
    ids[pos] = id;
  }

  private boolean better(float a, float b) {
    return metric == Metric.L2 ? a < b : a > b;
  }

  /** Ids of query q's best, nearest first (-1 where fewer than k were offered). */
  public long[] ids(int q) {
    return Arrays.copyOfRange(ids, q * k, q * k + k);
  }

  /** Everything as one search result. */
  public SearchResult result() {
    return new SearchResult(k, distances.clone(), ids.clone());
  }
}

package io.imgvec.index;

import io.imgvec.faiss.FaissIndex;
import io.imgvec.faiss.Metric;
import io.imgvec.faiss.SearchParams;
import io.imgvec.faiss.SearchResult;

/**
 * Exact k nearest neighbours of a fixed query set over a base that arrives in batches: each batch is searched
 * exhaustively (FAISS Flat, BLAS) and merged into the running top k. Memory: the queries plus one batch.
 */
public final class ExactNeighbours {
  private final float[] queries;
  private final int nq;
  private final int k;
  private final int d;
  private final Metric metric;
  private final float[] bestDistances;
  private final long[] bestIds;

  public ExactNeighbours(float[] queries, int nq, int d, int k, Metric metric) {
    this.queries = queries;
    this.nq = nq;
    this.k = k;
    this.d = d;
    this.metric = metric;
    this.bestDistances = new float[nq * k];
    this.bestIds = new long[nq * k];
    java.util.Arrays.fill(bestIds, -1);
    java.util.Arrays.fill(bestDistances, worst());
  }

  public void addBase(float[] vectors, long[] ids, int n) {
    if (n == 0 || nq == 0) {
      return;
    }
    SearchResult r;
    try (FaissIndex flat = FaissIndex.create(d, "Flat", metric)) {
      flat.add(vectors, n);
      r = flat.search(queries, nq, Math.min(k, n), SearchParams.DEFAULT);
    }
    for (int q = 0; q < nq; q++) {
      for (int j = 0; j < r.k(); j++) {
        long local = r.label(q, j);
        if (local >= 0) {
          offer(q, r.distance(q, j), ids[(int) local]);
        }
      }
    }
  }

  /** Inserts into query q's sorted top k if good enough. */
  private void offer(int q, float distance, long id) {
    int base = q * k;
    if (!better(distance, bestDistances[base + k - 1])) {
      return;
    }
    int pos = base + k - 1;
    while (pos > base && better(distance, bestDistances[pos - 1])) {
      bestDistances[pos] = bestDistances[pos - 1];
      bestIds[pos] = bestIds[pos - 1];
      pos--;
    }
    bestDistances[pos] = distance;
    bestIds[pos] = id;
  }

  private boolean better(float a, float b) {
    return metric == Metric.L2 ? a < b : a > b;
  }

  private float worst() {
    return metric == Metric.L2 ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
  }

  /** Ids of query q's exact neighbours, nearest first. */
  public long[] ids(int q) {
    return java.util.Arrays.copyOfRange(bestIds, q * k, q * k + k);
  }
}

package io.imgvec.index;

import io.imgvec.faiss.FaissIndex;
import io.imgvec.faiss.Metric;
import io.imgvec.faiss.SearchParams;
import io.imgvec.faiss.SearchResult;
import io.imgvec.published.TopK;

/**
 * Exact k nearest neighbours of a fixed query set over a base that arrives in batches: each batch is searched
 * exhaustively (FAISS Flat, BLAS) and merged into the running top k. Memory: the queries plus one batch.
 */
public final class ExactNeighbours implements java.io.Serializable {
  private final float[] queries;
  private final int nq;
  private final int k;
  private final int d;
  private final Metric metric;
  private final TopK best;

  public ExactNeighbours(float[] queries, int nq, int d, int k, Metric metric) {
    this.queries = queries;
    this.nq = nq;
    this.k = k;
    this.d = d;
    this.metric = metric;
    this.best = new TopK(nq, k, metric);
  }

  public void addBase(float[] vectors, long[] ids, int n) {
    if (n == 0 || nq == 0) {
      return;
    }
    try (FaissIndex flat = FaissIndex.create(d, "Flat", metric)) {
      flat.add(vectors, n);
      best.offerAll(flat.search(queries, nq, Math.min(k, n), SearchParams.DEFAULT), local -> ids[(int) local]);
    }
  }

  /** The same queries with nothing found yet: what a worker fills over its part of the base. */
  public ExactNeighbours fresh() {
    return new ExactNeighbours(queries, nq, d, k, metric);
  }

  /** The neighbours found so far, as a search result (what a worker hands back for {@link #merge}). */
  public SearchResult partial() {
    return best.result();
  }

  /** Merges neighbours found over another part of the base (same queries): the exact neighbours of the union. */
  public void merge(SearchResult partial) {
    best.offerAll(partial, id -> id);
  }

  /** Ids of every query's exact neighbours, nearest first. */
  public long[][] allIds() {
    long[][] all = new long[nq][];
    java.util.Arrays.setAll(all, this::ids);
    return all;
  }

  /** Ids of query q's exact neighbours, nearest first. */
  public long[] ids(int q) {
    return best.ids(q);
  }
}

package io.imgvec.index;

import io.imgvec.faiss.FaissIndex;
import io.imgvec.faiss.IdBitmap;
import io.imgvec.faiss.Metric;
import io.imgvec.faiss.SearchParams;
import io.imgvec.faiss.SearchResult;
import io.imgvec.faiss.SearchWork;
import io.imgvec.faiss.VectorSearch;
import java.util.HashMap;
import java.util.Map;

/**
 * One coarse quantizer's inverted lists over the candidates' base, known before any candidate on it is built: the
 * lists hold 4-bit codes (the cheapest FAISS adds), too coarse to rank by, but their sizes are those of every
 * candidate on this quantizer. They give
 * <ul>
 *   <li>the work of each held-out query at each setting ({@link #counted}, once a setting): it depends on the
 *       quantizer and the lists' sizes, not on the codes, so a candidate's latency sweep only prices it;
 *   <li>{@link #coverage}: the share of queries whose true nearest neighbour's list is scanned (within the codes
 *       cap). Exact distances find exactly those, so it is an IVF-Flat candidate's R@10, and no codes on the same
 *       lists, re-ranked or not, can do better.
 * </ul>
 */
final class ProbedLists implements AutoCloseable {
  private final FaissIndex lists;
  private final float[] queries;
  private final int nq;
  private final long[] sizes;
  /** The list each query's true nearest neighbour is in (-1 where the base has none). */
  private final long[] nearestList;
  private final Map<SearchParams, SearchWork> work = new HashMap<>();
  private final Map<SearchParams, Double> coverage = new HashMap<>();

  private ProbedLists(FaissIndex lists, float[] queries, int nq, long[] nearestList) {
    this.lists = lists;
    this.queries = queries;
    this.nq = nq;
    this.sizes = lists.listSizes();
    this.nearestList = nearestList;
  }

  /**
   * The lists of {@code quantizer} ({@code IVF<nlist>} or {@code IVF<nlist>_HNSW32}) over the first {@code base}
   * vectors of {@code sample} (ids their places), trained on the centroids of {@code centroids};
   * {@code nearest[q]} is held-out query q's true nearest neighbour among them.
   */
  static ProbedLists of(String quantizer, FaissIndex centroids, float[] sample, int base, int d, Metric metric,
      float[] queries, long[] nearest) {
    int nq = nearest.length;
    FaissIndex lists = FaissIndex.create(d, quantizer + ",SQ4", metric);
    try {
      lists.trainFrom(centroids, sample, Math.min(base, CandidateSelector.QUICK_TRAIN_VECTORS), true);
      lists.add(sample, CandidateSelector.sequentialIds(base), base);
      float[] neighbours = new float[nq * d];
      for (int q = 0; q < nq; q++) {
        System.arraycopy(sample, (int) Math.max(0, nearest[q]) * d, neighbours, q * d, d);
      }
      long[] assigned = lists.probe(neighbours, nq, new SearchParams(1, 0, 0)).lists(); // as add assigns them
      for (int q = 0; q < nq; q++) {
        assigned[q] = nearest[q] < 0 ? -1 : assigned[q];
      }
      return new ProbedLists(lists, queries, nq, assigned);
    } catch (RuntimeException e) {
      lists.close();
      throw e;
    }
  }

  /**
   * The share of held-out queries whose true nearest neighbour's list a search with {@code params} scans: lists in
   * the quantizer's order, stopping once the codes scanned reach the cap (as FAISS does, between lists).
   */
  double coverage(SearchParams params) {
    return coverage.computeIfAbsent(params, p -> {
      long[] probed = lists.probe(queries, nq, p).lists();
      int perQuery = probed.length / nq;
      int covered = 0;
      for (int q = 0; q < nq; q++) {
        long scanned = 0;
        for (int i = 0; i < perQuery && (p.maxCodes() <= 0 || scanned < p.maxCodes()); i++) {
          long list = probed[q * perQuery + i];
          if (list >= 0 && list == nearestList[q]) {
            covered++;
            break;
          }
          scanned += list < 0 ? 0 : sizes[(int) list];
        }
      }
      return covered / (double) nq;
    });
  }

  /** The lists' own index (4-bit codes: coarse ranking), its work counted once for each setting. */
  VectorSearch counted() {
    return countingFor(lists);
  }

  /** {@code codes}, a candidate's index on the same quantizer and base, its work counted by these lists. */
  VectorSearch countingFor(FaissIndex codes) {
    return new VectorSearch() {
      @Override
      public SearchResult search(float[] queries, int n, int k, SearchParams params) {
        return codes.search(queries, n, k, params);
      }

      @Override
      public SearchResult search(float[] queries, int n, int k, SearchParams params, IdBitmap allowed) {
        return codes.search(queries, n, k, params, allowed);
      }

      /** Counted once for each setting: every call is for the held-out queries, and work does not depend on k. */
      @Override
      public SearchWork searchWork(float[] queries, int n, int k, SearchParams params) {
        return work.computeIfAbsent(params, p -> lists.searchWork(queries, n, k, p));
      }
    };
  }

  @Override
  public void close() {
    lists.close();
  }
}

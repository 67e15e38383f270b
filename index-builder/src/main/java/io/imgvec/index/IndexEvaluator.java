package io.imgvec.index;

import io.imgvec.faiss.FaissIndex;
import io.imgvec.faiss.SearchParams;
import io.imgvec.faiss.SearchResult;
import io.imgvec.faiss.VectorSearch;
import io.imgvec.util.Numbers;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Recall against exact search and single-query latency of an index, on held-out queries. Recall follows FAISS's
 * convention: R@k = share of queries whose exact nearest neighbour is among the k returned; 10-recall@10 = mean
 * overlap of the 10 returned with the exact 10.
 */
public final class IndexEvaluator {
  public static final int K = 10;

  /** Metrics at one search setting. */
  public record Metrics(SearchParams params, double recallAt1, double recallAt10, double tenRecallAt10, double p50Ms, double p99Ms,
      double qpsOneThread) {
    public Map<String, Object> asMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("nprobe", params.nprobe());
      m.put("max_codes", params.maxCodes());
      if (params.efSearch() > 0) {
        m.put("ef_search", params.efSearch());
      }
      m.put("recall_at_1", round4(recallAt1));
      m.put("recall_at_10", round4(recallAt10));
      m.put("ten_recall_at_10", round4(tenRecallAt10));
      m.put("latency_p50_ms", round4(p50Ms));
      m.put("latency_p99_ms", round4(p99Ms));
      m.put("qps_one_thread", round4(qpsOneThread));
      return m;
    }
  }

  private final float[] queries;
  private final int nq;
  private final int d;
  private final ExactNeighbours truth;

  public IndexEvaluator(float[] queries, int nq, int d, ExactNeighbours truth) {
    this.queries = queries;
    this.nq = nq;
    this.d = d;
    this.truth = truth;
  }

  /** How many held-out queries each measurement searches. */
  public int queries() {
    return nq;
  }

  /**
   * Chooses the first nprobe (1, 2, 3, 4, 6, 8, 12, ... up to nlist: powers of two and the steps between) whose R@10
   * reaches {@code targetRecallAt10}, or else the largest whose p99 single-query latency is within {@code limitP99Ms}
   * (the latency target less its headroom) before the recall stops growing; each setting stops further probes after
   * {@code maxCodesPerProbe} × nprobe codes (0: never). Stopping at the recall target rather than the latency edge
   * leaves headroom for a busier server. When the latency limit stops it short of the recall target, the sweep goes
   * on to find what the recall target would take.
   */
  public Tuning tuneNprobe(VectorSearch index, int nlist, long maxCodesPerProbe, boolean hnswQuantizer,
      double limitP99Ms, double targetRecallAt10) {
    List<Metrics> swept = sweep(index, nlist, maxCodesPerProbe, hnswQuantizer,
        SWEEP_LATENCY_FACTOR * limitP99Ms, targetRecallAt10);
    Metrics chosen = swept.get(0);
    for (Metrics m : swept) {
      if (m.p99Ms() <= limitP99Ms) {
        chosen = m;
      }
    }
    Metrics last = swept.get(swept.size() - 1);
    return new Tuning(chosen, reaches(last, targetRecallAt10) ? last : null);
  }

  /**
   * Measures nprobe 1, 2, 3, 4, 6, 8, 12, ... (at most nlist) until one reaches the recall target, exceeds
   * {@code stopP99Ms} or the recall stops growing; returns every setting measured, in order.
   */
  public List<Metrics> sweep(VectorSearch index, int nlist, long maxCodesPerProbe, boolean hnswQuantizer,
      double stopP99Ms, double targetRecallAt10) {
    List<Metrics> swept = new ArrayList<>();
    Metrics last = measure(index, params(1, maxCodesPerProbe, hnswQuantizer));
    swept.add(last);
    for (int step = 1; !reaches(last, targetRecallAt10) && last.p99Ms() <= stopP99Ms && !plateaued(swept)
        && nprobeStep(step) <= nlist; step++) {
      last = measure(index, params(nprobeStep(step), maxCodesPerProbe, hnswQuantizer));
      swept.add(last);
    }
    return swept;
  }

  /** Recall of one batched search of every query; latency is not timed (NaN): batching hides a query's own cost. */
  public Metrics recall(VectorSearch index, SearchParams params) {
    long[] labels = index.search(queries, nq, K, params).labels();
    long[][] found = new long[nq][];
    for (int q = 0; q < nq; q++) {
      found[q] = Arrays.copyOfRange(labels, q * K, q * K + K);
    }
    return score(found, params, Double.NaN, Double.NaN, Double.NaN);
  }

  /**
   * Whether doubling nprobe (two steps) gained less than {@value #PLATEAU} R@10: the codes' own error bounds the
   * recall there, and more probes would only cost time.
   */
  private static boolean plateaued(List<Metrics> swept) {
    int n = swept.size();
    return n >= 3 && swept.get(n - 1).recallAt10() - swept.get(n - 3).recallAt10() < PLATEAU; // vs half this nprobe
  }

  static final double PLATEAU = 0.002;

  /** The sweep's nprobe at {@code step}: 1, 2, 3, 4, 6, 8, 12, ... (powers of two and the steps between). */
  static int nprobeStep(int step) {
    return step == 0 ? 1 : (step % 2 == 1 ? 2 : 3) << ((step - 1) / 2);
  }

  /**
   * Search parameters for nprobe: the codes cap scales with it, and an HNSW coarse quantizer must return nprobe
   * centroids, so its candidate list (efSearch) is kept at twice that, at least FAISS's default 16.
   */
  static SearchParams params(int nprobe, long maxCodesPerProbe, boolean hnswQuantizer) {
    return new SearchParams(nprobe, hnswQuantizer ? Math.max(16, 2 * nprobe) : 0, maxCodesPerProbe * nprobe);
  }

  /** Past the latency limit the sweep goes on (to say what the recall target would cost) up to this factor. */
  static final double SWEEP_LATENCY_FACTOR = 10;

  /**
   * The chosen setting (within the latency limit), and the first setting that reaches the recall target at any
   * latency up to {@value #SWEEP_LATENCY_FACTOR} × the limit (null if none does).
   */
  public record Tuning(Metrics chosen, Metrics reachingRecallTarget) {}

  /** Whether {@code m} reaches the recall target (or finds every true neighbour, when the target cannot be met). */
  static boolean reaches(Metrics m, double targetRecallAt10) {
    return m.recallAt10() >= targetRecallAt10 || m.tenRecallAt10() >= 1.0;
  }

  /**
   * Searches every query alone on one thread, timing each (in {@value #TIMED_PASSES} passes), then scores the
   * results.
   */
  public Metrics measure(VectorSearch index, SearchParams params) {
    int previousThreads = FaissIndex.threads();
    FaissIndex.setThreads(1);
    try {
      float[] one = new float[d];
      for (int q = 0; q < Math.min(nq, 20); q++) { // warm caches and code paths
        System.arraycopy(queries, q * d, one, 0, d);
        index.search(one, 1, K, params);
      }
      long[][] found = new long[nq][];
      double[] p50 = new double[TIMED_PASSES];
      double[] p99 = new double[TIMED_PASSES];
      long total = System.nanoTime();
      for (int pass = 0; pass < TIMED_PASSES; pass++) {
        long[] nanos = new long[nq];
        for (int q = 0; q < nq; q++) {
          System.arraycopy(queries, q * d, one, 0, d);
          long start = System.nanoTime();
          SearchResult r = index.search(one, 1, K, params);
          nanos[q] = System.nanoTime() - start;
          found[q] = r.labels();
        }
        Arrays.sort(nanos);
        p50[pass] = Numbers.percentile(nanos, 0.50) / 1e6;
        p99[pass] = Numbers.percentile(nanos, 0.99) / 1e6;
      }
      double totalSeconds = (System.nanoTime() - total) / 1e9;
      return score(found, params, Numbers.median(p50), Numbers.median(p99), TIMED_PASSES * nq / totalSeconds);
    } finally {
      FaissIndex.setThreads(previousThreads);
    }
  }

  /**
   * Latency is the median of this many timed passes over the queries: one pass's p99 rests on its 10 slowest
   * queries, so a busy moment of the machine could move the tuned nprobe from one build to the next.
   */
  static final int TIMED_PASSES = 3;

  private Metrics score(long[][] found, SearchParams params, double p50Ms, double p99Ms, double qps) {
    double at1 = 0;
    double at10 = 0;
    double overlap = 0;
    for (int q = 0; q < nq; q++) {
      long[] exact = truth.ids(q);
      long[] got = found[q];
      at1 += got[0] == exact[0] ? 1 : 0;
      at10 += contains(got, exact[0]) ? 1 : 0;
      int common = 0;
      int known = 0;
      for (long id : exact) {
        known += id >= 0 ? 1 : 0;
        common += id >= 0 && contains(got, id) ? 1 : 0;
      }
      overlap += common / (double) Math.max(1, known); // bases smaller than K have fewer true neighbours
    }
    return new Metrics(params, at1 / nq, at10 / nq, overlap / nq, p50Ms, p99Ms, qps);
  }

  private static boolean contains(long[] ids, long id) {
    for (long x : ids) {
      if (x == id) {
        return true;
      }
    }
    return false;
  }

  /** Metrics are reported to 4 decimals. */
  static double round4(double v) {
    return Numbers.round(v, 4);
  }
}

package io.imgvec.index;

import io.imgvec.faiss.FaissIndex;
import io.imgvec.faiss.SearchParams;
import io.imgvec.faiss.SearchResult;
import io.imgvec.faiss.SearchWork;
import io.imgvec.faiss.VectorSearch;
import io.imgvec.published.HeldOutQueries;
import io.imgvec.util.Numbers;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * Recall against exact search and single-query latency of an index, on held-out queries. Recall follows FAISS's
 * convention: R@k = share of queries whose exact nearest neighbour is among the k returned; 10-recall@10 = mean
 * overlap of the 10 returned with the exact 10.
 */
public final class IndexEvaluator {
  public static final int K = 10;

  /** Metrics at one search setting. */
  public record Metrics(SearchParams params, double recallAt1, double recallAt10, double tenRecallAt10, double p50Ms,
      double p99Ms, double qpsOneThread, double predictedP99Ms, MachineSpeed.State machine) {
    /** These metrics with the p99 the latency model predicted for them. */
    Metrics withPredictedP99(double predicted) {
      return new Metrics(params, recallAt1, recallAt10, tenRecallAt10, p50Ms, p99Ms, qpsOneThread, predicted,
          machine);
    }

    private Metrics withMachine(MachineSpeed.State state) {
      return new Metrics(params, recallAt1, recallAt10, tenRecallAt10, p50Ms, p99Ms, qpsOneThread, predictedP99Ms,
          state);
    }

    public Map<String, Object> asMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("nprobe", params.nprobe());
      m.put("max_codes", params.maxCodes());
      if (params.efSearch() > 0) {
        m.put("ef_search", params.efSearch());
      }
      if (params.kFactor() > 0) {
        m.put("k_factor", params.kFactor());
      }
      if (!Double.isNaN(recallAt10)) { // NaN: latency alone was measured
        m.put("recall_at_1", round4(recallAt1));
        m.put("recall_at_10", round4(recallAt10));
        m.put("ten_recall_at_10", round4(tenRecallAt10));
      }
      m.put("latency_p50_ms", round4(p50Ms));
      m.put("latency_p99_ms", round4(p99Ms));
      m.put("qps_one_thread", round4(qpsOneThread));
      if (!Double.isNaN(predictedP99Ms)) {
        m.put("predicted_latency_p99_ms", round4(predictedP99Ms));
      }
      return m;
    }
  }

  private final float[] queries;
  private final int nq;
  private final int d;
  private final IntFunction<long[]> truth;
  /** Each query's own id when the index holds the queries (left out of its results), else null. */
  private final long[] ownIds;

  public IndexEvaluator(float[] queries, int nq, int d, ExactNeighbours truth) {
    this(queries, nq, d, truth::ids, null);
  }

  private IndexEvaluator(float[] queries, int nq, int d, IntFunction<long[]> truth, long[] ownIds) {
    this.queries = queries;
    this.nq = nq;
    this.d = d;
    this.truth = truth;
    this.ownIds = ownIds;
  }

  /** An evaluator of latency alone, on queries whose exact neighbours are unknown (recall is NaN). */
  public static IndexEvaluator forLatency(float[] queries, int nq, int d) {
    return new IndexEvaluator(queries, nq, d, null, null);
  }

  /**
   * An evaluator of a published version with its held-out queries: they were added after the build measured it, so
   * each search asks for one more result and leaves the query itself out.
   */
  public static IndexEvaluator ofPublished(HeldOutQueries heldOut) {
    return new IndexEvaluator(heldOut.vectors(), heldOut.count(), heldOut.dimension(), q -> heldOut.exactIds()[q],
        heldOut.ids());
  }

  /**
   * An evaluator of an index that holds the queries under {@code ownIds} (a graph cannot have them removed while
   * measured): each search asks for one more result and leaves the query itself out.
   */
  public static IndexEvaluator holdingQueries(float[] queries, int nq, int d, ExactNeighbours truth, long[] ownIds) {
    return new IndexEvaluator(queries, nq, d, truth::ids, ownIds);
  }

  /** How many held-out queries each measurement searches. */
  public int queries() {
    return nq;
  }

  /**
   * Chooses the first of {@code settings} (nprobe 1, 2, 3, 4, 6, 8, 12, ... up to nlist, or a graph's efSearch 16,
   * 32, 48, 64, 96, ...: {@link #settings}) whose R@10 reaches {@code targetRecallAt10}, or else the last whose p99
   * single-query latency, predicted by {@code model} from the work each query does ({@link LatencyModel}), is within
   * {@code limitP99Ms} (the latency target less its headroom) before the recall stops growing. Stopping at the recall
   * target rather than the latency edge leaves headroom for a busier server. When the latency limit stops it short
   * of the recall target, the sweep goes on to find what the recall target would take. A re-ranked index is swept at
   * each of {@code kFactors} in turn (candidates per result; {0} for one that is not) until one reaches the recall
   * target within the limit, the best recall within the limit kept. The settings found are then timed
   * ({@link #measure}): predicted latencies choose (the same index gives the same choice), measured ones are
   * reported.
   */
  public Tuning tune(VectorSearch index, List<SearchParams> settings, int pqM, LatencyModel model, double limitP99Ms,
      double targetRecallAt10, List<Integer> kFactors) {
    Metrics chosen = null;
    Metrics reaching = null; // the cheapest setting that reaches the recall target, past the limit or not
    for (int kFactor : kFactors) {
      Metrics[] swept = sweep(index, settings, pqM, model, limitP99Ms, targetRecallAt10, kFactor);
      if (chosen == null || better(swept[0], chosen, limitP99Ms)) {
        chosen = swept[0];
      }
      if (reaches(swept[1], targetRecallAt10)
          && (reaching == null || swept[1].predictedP99Ms() < reaching.predictedP99Ms())) {
        reaching = swept[1];
      }
      if (reaches(chosen, targetRecallAt10) && chosen.predictedP99Ms() <= limitP99Ms) {
        break;
      }
    }
    Metrics measured = measure(index, chosen.params()).withPredictedP99(chosen.predictedP99Ms());
    return new Tuning(measured, reaching == null ? null : reaching == chosen ? measured
        : measure(index, reaching.params()).withPredictedP99(reaching.predictedP99Ms()));
  }

  /** Within the limit before past it; then more recall within it, or less latency past it. */
  private static boolean better(Metrics a, Metrics b, double limitP99Ms) {
    boolean aWithin = a.predictedP99Ms() <= limitP99Ms;
    boolean bWithin = b.predictedP99Ms() <= limitP99Ms;
    if (aWithin != bWithin) {
      return aWithin;
    }
    return aWithin ? a.recallAt10() > b.recallAt10() : a.predictedP99Ms() < b.predictedP99Ms();
  }

  /** {@link #tune}'s sweep at one kFactor: the chosen setting and the last swept, predicted and scored. */
  private Metrics[] sweep(VectorSearch index, List<SearchParams> settings, int pqM, LatencyModel model,
      double limitP99Ms, double targetRecallAt10, int kFactor) {
    Metrics chosen = null;
    Metrics last = null;
    List<Metrics> swept = new ArrayList<>();
    for (SearchParams setting : settings) {
      SearchParams params = setting.withKFactor(kFactor);
      double predicted = model.p99Ms(work(index, params), 1, d, pqM);
      last = recall(index, params).withPredictedP99(predicted);
      swept.add(last);
      if (predicted <= limitP99Ms || chosen == null) {
        chosen = last;
      }
      if (reaches(last, targetRecallAt10) || predicted > SWEEP_LATENCY_FACTOR * limitP99Ms || plateaued(swept)) {
        break;
      }
    }
    return new Metrics[] {chosen, last};
  }

  /** The work of searching each query alone with {@code params} (FAISS's counts). */
  SearchWork work(VectorSearch index, SearchParams params) {
    return index.searchWork(queries, nq, searchK(), params);
  }

  /** Recall of one batched search of every query; latency is not timed (NaN): batching hides a query's own cost. */
  public Metrics recall(VectorSearch index, SearchParams params) {
    long[] labels = index.search(queries, nq, searchK(), params).labels();
    long[][] found = new long[nq][];
    for (int q = 0; q < nq; q++) {
      found[q] = results(labels, q * searchK(), q);
    }
    return score(found, params, Double.NaN, Double.NaN, Double.NaN);
  }

  /**
   * Whether doubling the setting (two steps) gained less than {@value #PLATEAU} R@10: the codes' own error (or a
   * graph's unreachable neighbours) bounds the recall there, and more work would only cost time.
   */
  private static boolean plateaued(List<Metrics> swept) {
    int n = swept.size();
    return n >= 3 && swept.get(n - 1).recallAt10() - swept.get(n - 3).recallAt10() < PLATEAU; // vs half this nprobe
  }

  static final double PLATEAU = 0.002;

  /**
   * The settings a sweep of {@code plan} tries, cheapest first: an IVF index's nprobe 1, 2, 3, 4, 6, 8, 12, ... up
   * to nlist (powers of two and the steps between), each stopping after {@code maxCodesPerProbe} × nprobe codes
   * (0: never); a graph's efSearch 16, 32, 48, 64, 96, ... up to {@value #MAX_EF_SEARCH}.
   */
  static List<SearchParams> settings(IndexPlan plan, long maxCodesPerProbe) {
    List<SearchParams> settings = new ArrayList<>();
    if (plan.isGraph()) {
      for (int step = 0; 16 * stepAt(step) <= MAX_EF_SEARCH; step++) {
        settings.add(new SearchParams(0, 16 * stepAt(step), 0));
      }
      return settings;
    }
    for (int step = 0; step == 0 || stepAt(step) <= plan.nlist(); step++) {
      settings.add(params(stepAt(step), maxCodesPerProbe, plan.hasHnswQuantizer()));
    }
    return settings;
  }

  /** A graph's largest swept efSearch: its searches then visit several thousand nodes, past any 1 ms target. */
  static final int MAX_EF_SEARCH = 1024;

  private static int stepAt(int step) {
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
   * Searches every query alone on one thread, timing each (in {@value #TIMED_PASSES} passes, {@value #PASS_GAP_MS} ms
   * apart), then scores the results, on a steady machine ({@link MachineSpeed#onSteadyMachine}): the machine's speed
   * is kept beside the metrics.
   */
  public Metrics measure(VectorSearch index, SearchParams params) {
    MachineSpeed.Steady<Metrics> timed = MachineSpeed.onSteadyMachine(() -> timePasses(index, params));
    return timed.result().withMachine(timed.state());
  }

  private Metrics timePasses(VectorSearch index, SearchParams params) {
    return FaissIndex.onOneThread(() -> {
      float[] one = new float[d];
      for (int q = 0; q < Math.min(nq, WARM_UP_QUERIES); q++) { // warm caches and code paths
        System.arraycopy(queries, q * d, one, 0, d);
        index.search(one, 1, searchK(), params);
      }
      long[][] found = new long[nq][];
      long[][] nanos = new long[TIMED_PASSES][nq];
      long total = System.nanoTime();
      for (int pass = 0; pass < TIMED_PASSES; pass++) {
        if (pass > 0) {
          pause(PASS_GAP_MS);
        }
        for (int q = 0; q < nq; q++) {
          System.arraycopy(queries, q * d, one, 0, d);
          long start = System.nanoTime();
          SearchResult r = index.search(one, 1, searchK(), params);
          nanos[pass][q] = System.nanoTime() - start;
          found[q] = results(r.labels(), 0, q);
        }
      }
      double searchSeconds = (System.nanoTime() - total) / 1e9 - (TIMED_PASSES - 1) * PASS_GAP_MS / 1e3;
      double[] ms = percentilesMs(perQueryMedians(nanos));
      return score(found, params, ms[0], ms[1], TIMED_PASSES * nq / searchSeconds);
    });
  }

  /**
   * Latency is timed in this many passes over the queries, spread over a second or so, and each query counts with
   * its median time ({@link #perQueryMedians}).
   */
  static final int TIMED_PASSES = 5;
  static final int PASS_GAP_MS = 250;
  static final int WARM_UP_QUERIES = 20;

  static void pause(int ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while timing searches", e);
    }
  }

  /**
   * Times each of {@code nq} queries alone on one thread, in {@code passes} passes after a warm-up pass: each query's
   * median time (ns), as {@link #perQueryMedians} takes it. For references timed beside the measurements.
   */
  static long[] timeEachQuery(VectorSearch index, float[] queries, int nq, int d, SearchParams params, int passes) {
    return FaissIndex.onOneThread(() -> {
      float[] one = new float[d];
      long[][] nanos = new long[passes][nq];
      for (int pass = -1; pass < passes; pass++) { // pass -1 warms caches and code paths
        for (int q = 0; q < nq; q++) {
          System.arraycopy(queries, q * d, one, 0, d);
          long t = System.nanoTime();
          index.search(one, 1, K, params);
          if (pass >= 0) {
            nanos[pass][q] = System.nanoTime() - t;
          }
        }
      }
      return perQueryMedians(nanos);
    });
  }

  /**
   * Each query's median time over the passes ({@code nanos[pass][query]}). A query's own cost (the lists it scans)
   * shows in every pass, while a busy moment of a shared machine (seen to last seconds, and to raise one pass's p99
   * by half with its p50 unchanged) slows the queries of some passes only: a p99 over single passes rests on 10
   * queries of 1,000 and such a moment decides it.
   */
  static long[] perQueryMedians(long[][] nanos) {
    long[] medians = new long[nanos[0].length];
    for (int q = 0; q < medians.length; q++) {
      int query = q;
      medians[q] = Math.round(Numbers.median(Arrays.stream(nanos).mapToDouble(pass -> pass[query]).toArray()));
    }
    return medians;
  }

  /** p50 and p99 in ms of per-query times in ns. */
  static double[] percentilesMs(long[] perQueryNanos) {
    long[] sorted = perQueryNanos.clone();
    Arrays.sort(sorted);
    return new double[] {Numbers.percentile(sorted, 0.50) / 1e6, Numbers.percentile(sorted, 0.99) / 1e6};
  }

  /**
   * How {@link #measure} timed the published latency, for the manifest: what anyone repeats (with the published
   * held-out queries, or their own) to measure the same file the same way.
   */
  public static Map<String, Object> method(int queries, Metrics metrics) {
    SearchParams params = metrics.params();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("threads", 1);
    m.put("queries_per_search", 1);
    m.put("k", K);
    m.put("queries", queries);
    m.put("warm_up_queries", Math.min(queries, WARM_UP_QUERIES));
    m.put("passes", TIMED_PASSES);
    m.put("pause_between_passes_ms", PASS_GAP_MS);
    m.put("statistic", "each query's median time over the passes, then p50 and p99 (nearest rank) over the queries:"
        + " a busy moment slows some passes, not every pass of a query");
    Map<String, Object> search = new LinkedHashMap<>();
    search.put("nprobe", params.nprobe());
    search.put("max_codes", params.maxCodes());
    if (params.efSearch() > 0) {
      search.put("ef_search", params.efSearch());
    }
    if (params.kFactor() > 0) {
      search.put("k_factor", params.kFactor());
    }
    m.put("search_parameters", search);
    if (metrics.machine() != null) {
      m.put("machine_speed", metrics.machine().asMap());
    }
    m.put("note", "FAISS stores nprobe and efSearch in the index file but not max_codes: a stock FAISS reader sets"
        + " it (Python: faiss.extract_index_ivf(index).max_codes = max_codes) to search as imgvec does");
    m.put("queries_file", HeldOutQueries.FILE);
    m.put("queries_drawn_from", "a uniform sample of the indexed vectors, held out of training and measuring and"
        + " added afterwards (search k + 1 and leave the query itself out); users' own queries may be harder:"
        + " bin/imgvec measure --queries <embeddings> measures on them");
    m.put("measure_again", "bin/imgvec measure --index <published index>");
    return m;
  }

  private int searchK() {
    return ownIds == null ? K : K + 1;
  }

  /** Query q's K results from {@code labels} at {@code offset}, its own id left out when the index holds it. */
  private long[] results(long[] labels, int offset, int q) {
    if (ownIds == null) {
      return Arrays.copyOfRange(labels, offset, offset + K);
    }
    long[] kept = new long[K];
    int n = 0;
    for (int i = offset; i < offset + K + 1 && n < K; i++) {
      if (labels[i] != ownIds[q]) {
        kept[n++] = labels[i];
      }
    }
    return kept;
  }

  private Metrics score(long[][] found, SearchParams params, double p50Ms, double p99Ms, double qps) {
    if (truth == null) {
      return new Metrics(params, Double.NaN, Double.NaN, Double.NaN, p50Ms, p99Ms, qps, Double.NaN, null);
    }
    double at1 = 0;
    double at10 = 0;
    double overlap = 0;
    for (int q = 0; q < nq; q++) {
      long[] exact = truth.apply(q);
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
    return new Metrics(params, at1 / nq, at10 / nq, overlap / nq, p50Ms, p99Ms, qps, Double.NaN, null);
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

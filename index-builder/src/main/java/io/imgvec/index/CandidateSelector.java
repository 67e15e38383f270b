package io.imgvec.index;

import io.imgvec.faiss.FaissIndex;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Chooses the index to build by measurement ({@code index.type=auto}), autofaiss-style but measured rather than
 * modelled. Every candidate trains on the build's training sample (candidates with the same nlist share one quick
 * balanced k-means), holds half the sample as its base, and is swept over nprobe on the held-out queries against
 * exact neighbours in that base (powers of two: the build tunes the winner finely). Latency at the full count is
 * extrapolated from two measured base sizes (that half and half of it): a query's cost is the centroid scan plus
 * lists that grow linearly with the base. A candidate whose single probe (median) already spends
 * {@value #CENTROID_SHARE} of the latency target, nearly all on centroids, also gets a twin with an HNSW coarse
 * quantizer.
 *
 * <p>Candidates train their PQ encoders quickly (see {@link FaissIndex#trainFrom}). The winner has the best R@10 at
 * the latency limit (the target less its headroom); candidates within {@value #RECALL_TIE} of it tie, and the
 * smallest wins. It is handed back trained as a single build would train it.
 */
final class CandidateSelector {
  /**
   * Scores this close tie (less than one query of {@value #MAX_QUERIES}): with fewer vectors than the full index,
   * coarse codes look closer to fine ones on the sample than they are, so measured recall is not traded for size.
   */
  static final double RECALL_TIE = 0.002;
  static final double CENTROID_SHARE = 0.5;
  /** Queries per measurement: enough for a p99, few enough that eight candidates stay near one build's time. */
  static final int MAX_QUERIES = 300;
  /** Coarse k-means iterations for candidates (FAISS's IVF training runs 10); the winner is trained in full. */
  static final int QUICK_KMEANS_ITERATIONS = 4;

  /** The winner's plan and trained (empty) index, every candidate's measured trade-off, and why the winner won. */
  record Selection(IndexPlan plan, FaissIndex trained, int listsSplit, Map<String, Object> report) {}

  /** A candidate at its operating point: the nprobe the build would choose, judged at the full count. */
  record Measured(IndexPlan plan, boolean feasible, double recall, double predictedP99Ms, long bytes,
      double oneProbeP50Ms, Map<String, Object> report) {}

  private final IndexBuilder.Options options;
  private final Consumer<String> progress;
  private final long count;
  private final int d;
  private final float[] sample;
  private final int sampleSize;
  private final int base;
  private final IndexEvaluator evaluator;
  private final double limitP99Ms;

  CandidateSelector(IndexBuilder.Options options, Consumer<String> progress, long count, int d, float[] sample,
      int sampleSize, float[] queries, int nq) {
    this.options = options;
    this.progress = progress;
    this.count = count;
    this.d = d;
    this.sample = sample;
    this.sampleSize = sampleSize;
    this.base = sampleSize / 2;
    int used = Math.min(nq, MAX_QUERIES);
    ExactNeighbours truth = new ExactNeighbours(queries, used, d, IndexEvaluator.K, options.metric());
    truth.addBase(sample, sequentialIds(0, base), base);
    this.evaluator = new IndexEvaluator(queries, used, d, truth);
    this.limitP99Ms = options.latencyHeadroom() * options.targetLatencyMs();
  }

  Selection select(List<IndexPlan> candidates) {
    long start = System.nanoTime();
    Map<Integer, List<IndexPlan>> byNlist = new TreeMap<>(Comparator.reverseOrder());
    candidates.forEach(p -> byNlist.computeIfAbsent(p.nlist(), k -> new ArrayList<>()).add(p));
    List<Measured> measured = new ArrayList<>();
    for (Map.Entry<Integer, List<IndexPlan>> group : byNlist.entrySet()) {
      long t = System.nanoTime();
      try (FaissIndex centroids = FaissIndex.create(d, "IVF" + group.getKey() + ",Flat", options.metric())) {
        centroids.trainWithBalancedLists(sample, sampleSize, options.maxListFactor(), QUICK_KMEANS_ITERATIONS);
        double kmeansS = IndexBuilder.seconds(t);
        for (IndexPlan plan : group.getValue()) {
          Measured m = measure(plan, centroids, kmeansS);
          measured.add(m);
          if (onlyCentroidsTooSlow(m)) {
            measured.add(measure(plan.withHnswQuantizer(), centroids, 0));
          }
          kmeansS = 0; // the shared k-means is charged to the first candidate of the group
        }
      }
    }
    Measured best = choose(measured);
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("winner", best.plan().factory());
    report.put("why", why(best, measured.size()));
    report.put("sample_size", sampleSize);
    report.put("candidate_base", base);
    report.put("queries", evaluator.queries());
    report.put("latency_limit_ms", IndexEvaluator.round4(limitP99Ms));
    report.put("selection_s", IndexBuilder.seconds(start));
    report.put("candidates", measured.stream().map(Measured::report).toList());
    progress.accept("chose " + best.plan().factory() + ": " + report.get("why"));
    return trainedFully(best.plan(), report);
  }

  /**
   * The winner trained as a single build trains it: full k-means with split hub lists, and its encoder on the whole
   * sample (candidates had quick ones).
   */
  private Selection trainedFully(IndexPlan plan, Map<String, Object> report) {
    progress.accept("training " + plan.factory() + " on " + sampleSize + " vectors");
    try (FaissIndex centroids = FaissIndex.create(d, "IVF" + plan.nlist() + ",Flat", options.metric())) {
      int split = centroids.trainWithBalancedLists(sample, sampleSize, options.maxListFactor());
      FaissIndex index = FaissIndex.create(d, plan.factory(), options.metric());
      try {
        index.trainFrom(centroids, sample, sampleSize, false);
        return new Selection(plan, index, split, report);
      } catch (RuntimeException e) {
        index.close();
        throw e;
      }
    }
  }

  private Measured measure(IndexPlan plan, FaissIndex centroids, double kmeansS) {
    long start = System.nanoTime();
    try (FaissIndex index = FaissIndex.create(d, plan.factory(), options.metric())) {
      index.trainFrom(centroids, sample, sampleSize, true);
      index.add(sample, sequentialIds(0, base), base);
      return sweep(plan, index, kmeansS, start);
    }
  }

  /**
   * Sweeps nprobe over powers of two at the base and predicts each setting's p99 at the full count (see
   * {@link #listMsPerProbe}); then measures the step between the last power within the latency limit and the first
   * beyond it (e.g. 24 between 16 and 32). The candidate's score is its R@10 interpolated at the latency limit along
   * that frontier: a little noise in a measured latency moves the score a little, never a whole nprobe step, so a
   * rebuild judges the candidates alike.
   */
  private Measured sweep(IndexPlan plan, FaissIndex index, double kmeansS, long start) {
    boolean hnsw = plan.hasHnswQuantizer();
    List<IndexEvaluator.Metrics> swept = new ArrayList<>(evaluator.sweep(index, plan.nlist(),
        codesPerProbe(plan, base), hnsw, limitP99Ms, options.targetRecall(), true));
    double listMs = listMsPerProbe(plan, index, swept.get(swept.size() - 1));
    int at = operatingPoint(swept, listMs);
    int nprobe = swept.get(at).params().nprobe();
    int between = nprobe * 3 / 2;
    if (at + 1 < swept.size() && between > nprobe && !IndexEvaluator.reaches(swept.get(at), options.targetRecall())) {
      swept.add(at + 1, evaluator.measure(index, IndexEvaluator.params(between, codesPerProbe(plan, base), hnsw)));
      at = operatingPoint(swept, listMs);
    }
    List<Map<String, Object>> frontier = new ArrayList<>();
    for (IndexEvaluator.Metrics m : swept) {
      frontier.add(Map.of("nprobe", m.params().nprobe(), "recall_at_10", IndexEvaluator.round4(m.recallAt10()),
          "p99_ms_at_base", IndexEvaluator.round4(m.p99Ms()),
          "p99_ms_predicted", IndexEvaluator.round4(predicted(m, listMs))));
    }
    IndexEvaluator.Metrics operating = swept.get(at);
    double operatingP99 = predicted(operating, listMs);
    boolean feasible = operatingP99 <= limitP99Ms;
    double score = feasible ? recallAtLimit(swept, at, listMs) : 0;
    long bytes = IndexPlanner.estimatedBytes(plan, count, d);
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("factory", plan.factory());
    report.put("bytes", bytes);
    report.put("recall_at_10_at_latency_limit", IndexEvaluator.round4(score));
    report.put("nprobe", operating.params().nprobe());
    report.put("recall_at_10", IndexEvaluator.round4(operating.recallAt10()));
    report.put("p99_ms_predicted", IndexEvaluator.round4(operatingP99));
    report.put("within_latency_limit", feasible);
    report.put("kmeans_s", kmeansS);
    report.put("measure_s", IndexBuilder.seconds(start));
    report.put("sweep", frontier);
    progress.accept("candidate " + plan.factory() + ": R@10 " + report.get("recall_at_10_at_latency_limit")
        + " at the latency limit (nprobe " + report.get("nprobe") + ", predicted p99 " + report.get(
        "p99_ms_predicted") + " ms), " + bytes + " bytes");
    return new Measured(plan, feasible, score, operatingP99, bytes, swept.get(0).p50Ms(), report);
  }

  /**
   * R@10 interpolated (linearly in predicted p99) between the operating point and the next setting, at the latency
   * limit; the operating point's own recall when the sweep ended there.
   */
  private double recallAtLimit(List<IndexEvaluator.Metrics> swept, int at, double listMs) {
    IndexEvaluator.Metrics within = swept.get(at);
    if (at + 1 == swept.size()) {
      return within.recallAt10();
    }
    IndexEvaluator.Metrics beyond = swept.get(at + 1);
    double from = predicted(within, listMs);
    double to = predicted(beyond, listMs);
    double share = to > from ? Math.min(1, Math.max(0, (limitP99Ms - from) / (to - from))) : 0;
    return within.recallAt10() + share * (beyond.recallAt10() - within.recallAt10());
  }

  /**
   * What each probe adds to a query's p99 at the full count beyond what it costs at the base: the lists a query
   * scans grow with the base in proportion to nprobe, so the difference per probe between the base and half of it
   * (measured at the widest setting) scales to the full count. The half is added back afterwards.
   */
  private double listMsPerProbe(IndexPlan plan, FaissIndex index, IndexEvaluator.Metrics widest) {
    int half = base / 2;
    long[] secondHalf = sequentialIds(half, base - half);
    index.removeIds(secondHalf);
    int nprobe = widest.params().nprobe();
    double halfP99 = evaluator.measure(index, IndexEvaluator.params(nprobe, codesPerProbe(plan, half),
        plan.hasHnswQuantizer())).p99Ms();
    index.add(Arrays.copyOfRange(sample, half * d, base * d), secondHalf, secondHalf.length);
    return Math.max(0, widest.p99Ms() - halfP99) / nprobe * (count - base) / (base - half);
  }

  private static double predicted(IndexEvaluator.Metrics m, double listMsPerProbe) {
    return m.p99Ms() + listMsPerProbe * m.params().nprobe();
  }

  /** The last setting predicted within the latency limit (the first if none is). */
  private int operatingPoint(List<IndexEvaluator.Metrics> swept, double listMsPerProbe) {
    int at = 0;
    for (int i = 0; i < swept.size(); i++) {
      if (predicted(swept.get(i), listMsPerProbe) <= limitP99Ms) {
        at = i;
      }
    }
    return at;
  }

  /** Whether one probe, nearly all centroid scan, already takes a large share of the target (median latency). */
  private boolean onlyCentroidsTooSlow(Measured m) {
    return !m.plan().hasHnswQuantizer() && m.oneProbeP50Ms() > CENTROID_SHARE * options.targetLatencyMs();
  }

  /**
   * Among the candidates within the latency limit, those within {@link #RECALL_TIE} of the best recall tie, and the
   * smallest of them wins (then the fastest); if none is within the limit, the fastest.
   */
  static Measured choose(List<Measured> all) {
    List<Measured> feasible = all.stream().filter(Measured::feasible).toList();
    if (feasible.isEmpty()) {
      return all.stream().min(Comparator.comparingDouble(Measured::predictedP99Ms)).orElseThrow();
    }
    double best = feasible.stream().mapToDouble(Measured::recall).max().orElseThrow();
    return feasible.stream().filter(m -> m.recall() >= best - RECALL_TIE)
        .min(Comparator.comparingLong(Measured::bytes).thenComparingDouble(Measured::predictedP99Ms)).orElseThrow();
  }

  private String why(Measured best, int candidates) {
    if (!best.feasible()) {
      return "no candidate of " + candidates + " keeps one probe within p99 " + IndexEvaluator.round4(limitP99Ms)
          + " ms at " + count + " vectors; this one comes closest (" + IndexEvaluator.round4(best.predictedP99Ms())
          + " ms predicted)";
    }
    return "the smallest index within " + RECALL_TIE + " of the best R@10 at the latency limit on the sample"
        + " (this one: " + IndexEvaluator.round4(best.recall()) + ") with p99 predicted within "
        + IndexEvaluator.round4(limitP99Ms) + " ms at " + count + " vectors, among " + candidates + " candidates";
  }

  private long codesPerProbe(IndexPlan plan, long base) {
    return (long) Math.ceil(options.maxCodesFactor() * base / plan.nlist());
  }

  private static long[] sequentialIds(int from, int n) {
    long[] ids = new long[n];
    for (int i = 0; i < n; i++) {
      ids[i] = from + i;
    }
    return ids;
  }
}

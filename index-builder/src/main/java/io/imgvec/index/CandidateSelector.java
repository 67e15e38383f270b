package io.imgvec.index;

import io.imgvec.faiss.FaissIndex;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Chooses the index to build by measurement ({@code index.type=auto}), autofaiss-style but measured rather than
 * modelled. Every candidate trains on the build's training sample (candidates with the same nlist share one
 * balanced k-means), holds the sample as its base, and is swept over nprobe on the held-out queries against exact
 * neighbours in the sample (powers of two: the build tunes the winner finely). Latency at the full count is
 * extrapolated from two measured base sizes (half the sample and all of it): a query's cost is the centroid scan
 * plus lists that grow linearly with the base. A candidate whose single probe (median) already spends
 * {@value #CENTROID_SHARE} of the latency target, nearly all on centroids, also gets a twin with an HNSW coarse
 * quantizer.
 *
 * <p>Candidates train their PQ encoders quickly (see {@link FaissIndex#trainFrom}). The winner has the best R@10
 * within the latency limit (the target less its headroom); candidates within {@value #RECALL_TIE} of it tie, and the
 * smallest wins. It is handed back trained as a single build would train it, on the shared k-means.
 */
final class CandidateSelector {
  static final double RECALL_TIE = 0.005;
  static final double CENTROID_SHARE = 0.25;
  /** Queries per measurement: enough for a p99, few enough that eight candidates stay well within one build. */
  static final int MAX_QUERIES = 500;

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
    int used = Math.min(nq, MAX_QUERIES);
    ExactNeighbours truth = new ExactNeighbours(queries, used, d, IndexEvaluator.K, options.metric());
    truth.addBase(sample, sequentialIds(0, sampleSize), sampleSize);
    this.evaluator = new IndexEvaluator(queries, used, d, truth);
    this.limitP99Ms = options.latencyHeadroom() * options.targetLatencyMs();
  }

  Selection select(List<IndexPlan> candidates) {
    long start = System.nanoTime();
    Map<Integer, List<IndexPlan>> byNlist = new TreeMap<>(Comparator.reverseOrder());
    candidates.forEach(p -> byNlist.computeIfAbsent(p.nlist(), k -> new ArrayList<>()).add(p));
    Map<Integer, FaissIndex> centroids = new HashMap<>();
    Map<Integer, Integer> splits = new HashMap<>();
    List<Measured> measured = new ArrayList<>();
    try {
      for (Map.Entry<Integer, List<IndexPlan>> group : byNlist.entrySet()) {
        int nlist = group.getKey();
        long t = System.nanoTime();
        FaissIndex trained = FaissIndex.create(d, "IVF" + nlist + ",Flat", options.metric());
        centroids.put(nlist, trained);
        splits.put(nlist, trained.trainWithBalancedLists(sample, sampleSize, options.maxListFactor()));
        double kmeansS = IndexBuilder.seconds(t);
        for (IndexPlan plan : group.getValue()) {
          Measured m = measure(plan, trained, kmeansS);
          measured.add(m);
          if (onlyCentroidsTooSlow(m)) {
            measured.add(measure(plan.withHnswQuantizer(), trained, 0));
          }
          kmeansS = 0; // the shared k-means is charged to the first candidate of the group
        }
      }
      Measured best = choose(measured);
      Map<String, Object> report = new LinkedHashMap<>();
      report.put("winner", best.plan().factory());
      report.put("why", why(best, measured.size()));
      report.put("sample_size", sampleSize);
      report.put("queries", evaluator.queries());
      report.put("latency_limit_ms", IndexEvaluator.round4(limitP99Ms));
      report.put("selection_s", IndexBuilder.seconds(start));
      report.put("candidates", measured.stream().map(Measured::report).toList());
      progress.accept("chose " + best.plan().factory() + ": " + report.get("why"));
      return new Selection(best.plan(), trainedFully(best.plan(), centroids.get(best.plan().nlist())),
          splits.get(best.plan().nlist()), report);
    } finally {
      centroids.values().forEach(FaissIndex::close);
    }
  }

  /** The winner trained as a single build trains it: its encoder on the whole sample (candidates had a quick one). */
  private FaissIndex trainedFully(IndexPlan plan, FaissIndex centroids) {
    progress.accept("training " + plan.factory() + " on " + sampleSize + " vectors");
    FaissIndex index = FaissIndex.create(d, plan.factory(), options.metric());
    try {
      index.trainFrom(centroids, sample, sampleSize, false);
      return index;
    } catch (RuntimeException e) {
      index.close();
      throw e;
    }
  }

  private Measured measure(IndexPlan plan, FaissIndex centroids, double kmeansS) {
    long start = System.nanoTime();
    try (FaissIndex index = FaissIndex.create(d, plan.factory(), options.metric())) {
      index.trainFrom(centroids, sample, sampleSize, true);
      index.add(sample, sequentialIds(0, sampleSize), sampleSize);
      return sweep(plan, index, kmeansS, start);
    }
  }

  /**
   * Sweeps nprobe over powers of two at the whole sample, measures the largest setting again at half the sample,
   * and predicts each setting's p99 at the full count: the lists a query scans grow with the base, in proportion to
   * nprobe, so the half-sample difference per probe, scaled to the full count, is added to each measured p99.
   */
  private Measured sweep(IndexPlan plan, FaissIndex index, double kmeansS, long start) {
    boolean hnsw = plan.hasHnswQuantizer();
    List<IndexEvaluator.Metrics> full = evaluator.sweep(index, plan.nlist(), codesPerProbe(plan, sampleSize), hnsw,
        limitP99Ms, options.targetRecall(), true);
    int half = sampleSize / 2;
    index.removeIds(sequentialIds(half, sampleSize - half));
    IndexEvaluator.Metrics widest = full.get(full.size() - 1);
    int widestNprobe = widest.params().nprobe();
    double halfP99 = evaluator.measure(index, IndexEvaluator.params(widestNprobe, codesPerProbe(plan, half), hnsw))
        .p99Ms();
    double listMsPerProbe = Math.max(0, widest.p99Ms() - halfP99) / widestNprobe * (count - sampleSize)
        / (sampleSize - half);
    List<Map<String, Object>> frontier = new ArrayList<>();
    IndexEvaluator.Metrics operating = null;
    double operatingP99 = Double.NaN;
    for (IndexEvaluator.Metrics m : full) {
      int nprobe = m.params().nprobe();
      double predicted = m.p99Ms() + listMsPerProbe * nprobe;
      frontier.add(Map.of("nprobe", nprobe, "recall_at_10", IndexEvaluator.round4(m.recallAt10()),
          "p99_ms_at_sample", IndexEvaluator.round4(m.p99Ms()), "p99_ms_predicted", IndexEvaluator.round4(predicted)));
      if (operating == null || predicted <= limitP99Ms) {
        operating = m;
        operatingP99 = predicted;
      }
    }
    boolean feasible = operatingP99 <= limitP99Ms;
    long bytes = IndexPlanner.estimatedBytes(plan, count, d);
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("factory", plan.factory());
    report.put("bytes", bytes);
    report.put("nprobe", operating.params().nprobe());
    report.put("recall_at_10", IndexEvaluator.round4(operating.recallAt10()));
    report.put("p99_ms_predicted", IndexEvaluator.round4(operatingP99));
    report.put("within_latency_limit", feasible);
    report.put("kmeans_s", kmeansS);
    report.put("measure_s", IndexBuilder.seconds(start));
    report.put("sweep", frontier);
    progress.accept("candidate " + plan.factory() + ": R@10 " + report.get("recall_at_10") + " at nprobe "
        + report.get("nprobe") + ", predicted p99 " + report.get("p99_ms_predicted") + " ms, " + bytes + " bytes");
    return new Measured(plan, feasible, operating.recallAt10(), operatingP99, bytes, full.get(0).p50Ms(), report);
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
    return "the smallest index within " + RECALL_TIE + " of the best R@10 on the sample (this one: "
        + IndexEvaluator.round4(best.recall()) + ") with p99 predicted within " + IndexEvaluator.round4(limitP99Ms) + " ms at "
        + count + " vectors, among " + candidates + " candidates";
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

package io.imgvec.index;

import io.imgvec.faiss.FaissIndex;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Chooses the index to build by measurement ({@code index.type=auto}), autofaiss-style but measured rather than
 * modelled. Every candidate trains on the build's training sample (candidates with the same nlist share one quick
 * balanced k-means) and holds half the sample as its base. Recall is measured there on every held-out query, in
 * batches, over nprobe 1, 2, 3, 4, 6, ... until it reaches the target or stops growing. Latency is timed at the full
 * count: the candidate's inverted lists are grown to it by repeating their own entries ({@link FaissIndex#growLists}),
 * so a query scans as many codes as it will in the built index (a sample's own, smaller lists sit in cache and time
 * several times too fast). The latency edge is found by bisection over the swept settings. A candidate whose single
 * probe (median) already spends {@value #CENTROID_SHARE} of the latency target, nearly all on centroids, also gets a
 * twin with an HNSW coarse quantizer.
 *
 * <p>Candidates train their PQ encoders quickly (see {@link FaissIndex#trainFrom}). The winner has the best R@10 at
 * the latency limit (the target less its headroom); candidates within {@value #RECALL_TIE} of it tie, and the
 * smallest wins. It is handed back trained as a single build would train it.
 */
final class CandidateSelector {
  /** Scores this close tie: the smaller index is kept rather than a difference within the measurement's noise. */
  static final double RECALL_TIE = 0.002;
  static final double CENTROID_SHARE = 0.5;
  /** Queries timed per setting: enough for a p99 (the 3rd slowest), few enough to time several settings quickly. */
  static final int TIMED_QUERIES = 300;
  /** Coarse k-means iterations for candidates (FAISS's IVF training runs 10); the winner is trained in full. */
  static final int QUICK_KMEANS_ITERATIONS = 4;
  /** A quick PQ encoder samples 64 vectors per codeword anyway; training on only those skips the rest's residuals. */
  static final int QUICK_TRAIN_VECTORS = 64 * 256;
  /**
   * Grown lists stop at this many bytes of codes; beyond, the latency's growth from one probe is scaled with the
   * count (lists then scan from memory at a steady cost per code).
   */
  static final long GROWN_MAX_BYTES = 512L << 20;

  /** The winner's plan and trained (empty) index, every candidate's measured trade-off, and why the winner won. */
  record Selection(IndexPlan plan, FaissIndex trained, int listsSplit, Map<String, Object> report) {}

  /** A candidate at its operating point: the nprobe the build would choose, judged at the full count. */
  record Measured(IndexPlan plan, boolean feasible, double recall, double p99Ms, long bytes,
      double oneProbeP50Ms, Map<String, Object> report) {}

  private final IndexBuilder.Options options;
  private final Consumer<String> progress;
  private final long count;
  private final int d;
  private final float[] sample;
  private final int sampleSize;
  private final int base;
  private final IndexEvaluator recallEvaluator;
  private final IndexEvaluator timingEvaluator;
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
    ExactNeighbours truth = new ExactNeighbours(queries, nq, d, IndexEvaluator.K, options.metric());
    truth.addBase(sample, sequentialIds(base), base);
    this.recallEvaluator = new IndexEvaluator(queries, nq, d, truth);
    this.timingEvaluator = new IndexEvaluator(queries, Math.min(nq, TIMED_QUERIES), d, truth);
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
    report.put("recall_queries", recallEvaluator.queries());
    report.put("timed_queries", timingEvaluator.queries());
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
      index.trainFrom(centroids, sample, Math.min(sampleSize, QUICK_TRAIN_VECTORS), true);
      index.add(sample, sequentialIds(base), base);
      List<IndexEvaluator.Metrics> recalls = recallEvaluator.recallSweep(index, plan.nlist(),
          codesPerProbe(plan, base), plan.hasHnswQuantizer(), options.targetRecall());
      long grown = grownCount(plan);
      if (grown > base) {
        index.growLists(grown);
      }
      Latencies latencies = new Latencies(plan, index, recalls, grown);
      return measured(plan, recalls, latencies, kmeansS, start);
    }
  }

  /** The count a candidate's lists are grown to for timing: the full count, or as many as fit GROWN_MAX_BYTES. */
  private long grownCount(IndexPlan plan) {
    long perVector = IndexPlanner.estimatedBytes(plan, 1, d) - IndexPlanner.estimatedBytes(plan, 0, d);
    return Math.max(base, Math.min(count, GROWN_MAX_BYTES / perVector));
  }

  /**
   * A candidate's p99 at the full count for the settings of its recall sweep, timed on demand (settings are timed
   * only where the bisection needs them).
   */
  private final class Latencies {
    private final IndexPlan plan;
    private final FaissIndex grownIndex;
    private final List<IndexEvaluator.Metrics> settings;
    private final long grown;
    private final IndexEvaluator.Metrics[] timed;

    Latencies(IndexPlan plan, FaissIndex grownIndex, List<IndexEvaluator.Metrics> settings, long grown) {
      this.plan = plan;
      this.grownIndex = grownIndex;
      this.settings = settings;
      this.grown = grown;
      this.timed = new IndexEvaluator.Metrics[settings.size()];
    }

    IndexEvaluator.Metrics timed(int i) {
      if (timed[i] == null) {
        timed[i] = timingEvaluator.measure(grownIndex, IndexEvaluator.params(settings.get(i).params().nprobe(),
            codesPerProbe(plan, grown), plan.hasHnswQuantizer()));
      }
      return timed[i];
    }

    /** Timed p99, its growth beyond one probe scaled to the full count when the lists could not grow that far. */
    double p99(int i) {
      double oneProbe = timed(0).p99Ms();
      return oneProbe + (timed(i).p99Ms() - oneProbe) * count / grown;
    }

    /** The last setting within the latency limit (-1 if none), by bisection: p99 grows with nprobe. */
    int operatingPoint() {
      if (p99(0) > limitP99Ms) {
        return -1;
      }
      int within = 0;
      int beyond = settings.size();
      while (beyond - within > 1) {
        int mid = (within + beyond) >>> 1;
        if (p99(mid) <= limitP99Ms) {
          within = mid;
        } else {
          beyond = mid;
        }
      }
      return within;
    }

    boolean isTimed(int i) {
      return timed[i] != null;
    }
  }

  /**
   * The candidate's score: its R@10 at the latency limit, interpolated (linearly in p99) between the operating point
   * and the next setting, so that a little noise in a timed latency moves the score a little, never a whole nprobe
   * step, and a rebuild judges the candidates alike; the operating point's own recall when the sweep ended there.
   */
  private Measured measured(IndexPlan plan, List<IndexEvaluator.Metrics> recalls, Latencies latencies,
      double kmeansS, long start) {
    int at = latencies.operatingPoint();
    boolean feasible = at >= 0;
    int operating = Math.max(at, 0);
    double score = 0;
    if (feasible) {
      score = recalls.get(at).recallAt10();
      if (at + 1 < recalls.size()) {
        double from = latencies.p99(at);
        double to = latencies.p99(at + 1);
        double share = to > from ? Math.min(1, Math.max(0, (limitP99Ms - from) / (to - from))) : 0;
        score += share * (recalls.get(at + 1).recallAt10() - score);
      }
    }
    List<Map<String, Object>> frontier = new ArrayList<>();
    for (int i = 0; i < recalls.size(); i++) {
      Map<String, Object> point = new LinkedHashMap<>();
      point.put("nprobe", recalls.get(i).params().nprobe());
      point.put("recall_at_10", IndexEvaluator.round4(recalls.get(i).recallAt10()));
      if (latencies.isTimed(i)) {
        point.put("p99_ms", IndexEvaluator.round4(latencies.p99(i)));
      }
      frontier.add(point);
    }
    double operatingP99 = latencies.p99(operating);
    long bytes = IndexPlanner.estimatedBytes(plan, count, d);
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("factory", plan.factory());
    report.put("bytes", bytes);
    report.put("recall_at_10_at_latency_limit", IndexEvaluator.round4(score));
    report.put("nprobe", recalls.get(operating).params().nprobe());
    report.put("recall_at_10", IndexEvaluator.round4(recalls.get(operating).recallAt10()));
    report.put("p99_ms", IndexEvaluator.round4(operatingP99));
    report.put("within_latency_limit", feasible);
    report.put("timed_at_count", latencies.grown);
    report.put("kmeans_s", kmeansS);
    report.put("measure_s", IndexBuilder.seconds(start));
    report.put("sweep", frontier);
    progress.accept("candidate " + plan.factory() + ": R@10 " + report.get("recall_at_10_at_latency_limit")
        + " at the latency limit (nprobe " + report.get("nprobe") + ", p99 " + report.get("p99_ms") + " ms at "
        + latencies.grown + " vectors), " + bytes + " bytes");
    return new Measured(plan, feasible, score, operatingP99, bytes, latencies.timed(0).p50Ms(), report);
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
      return all.stream().min(Comparator.comparingDouble(Measured::p99Ms)).orElseThrow();
    }
    double best = feasible.stream().mapToDouble(Measured::recall).max().orElseThrow();
    return feasible.stream().filter(m -> m.recall() >= best - RECALL_TIE)
        .min(Comparator.comparingLong(Measured::bytes).thenComparingDouble(Measured::p99Ms)).orElseThrow();
  }

  private String why(Measured best, int candidates) {
    if (!best.feasible()) {
      return "no candidate of " + candidates + " keeps one probe within p99 " + IndexEvaluator.round4(limitP99Ms)
          + " ms at " + count + " vectors; this one comes closest (" + IndexEvaluator.round4(best.p99Ms())
          + " ms)";
    }
    return "the smallest index within " + RECALL_TIE + " of the best R@10 at the latency limit on the sample"
        + " (this one: " + IndexEvaluator.round4(best.recall()) + ") with p99 timed within "
        + IndexEvaluator.round4(limitP99Ms) + " ms at " + count + " vectors, among " + candidates + " candidates";
  }

  private long codesPerProbe(IndexPlan plan, long base) {
    return (long) Math.ceil(options.maxCodesFactor() * base / plan.nlist());
  }

  /** Ids 0 to n - 1: a sample's vectors are added under their place in it. */
  static long[] sequentialIds(int n) {
    return java.util.stream.LongStream.range(0, n).toArray();
  }
}

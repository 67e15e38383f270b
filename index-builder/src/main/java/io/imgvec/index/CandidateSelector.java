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
 * modelled. Every candidate trains as a single build would, only quicker (candidates with the same nlist share one
 * quick balanced k-means; PQ encoders train quickly, see {@link FaissIndex#trainFrom}), and holds half the sample as
 * its base. Latency is timed at the full count, on a copy whose inverted lists are grown to it by repeating their
 * own entries ({@link FaissIndex#growLists}): a query scans as many codes as it will in the built index (a sample's
 * own, smaller lists sit in cache and time twice too fast). Over nprobe 1, 2, 3, 4, 6, 8, ... (up to the first
 * setting that reaches the recall target, where a build stops) the last setting within the latency limit is found,
 * and recall is measured on every held-out query, in batches, up to just beyond it. A candidate whose single probe
 * (median) already spends {@value #CENTROID_SHARE} of the latency target, nearly all on centroids, also gets a twin
 * with an HNSW coarse quantizer.
 *
 * <p>Candidates are measured smallest first, and measuring stops at the first that reaches the recall target within
 * the latency limit (the target less its headroom): it wins. Otherwise the winner has the best R@10 at the latency
 * limit, or the smallest within a hair of it, and a rebuild keeps its previous choice while that ties the best within
 * the timings' noise ({@link #choose}). It is handed back trained as a single build would train it.
 */
final class CandidateSelector {
  /** Scores this close tie: the smaller index is kept rather than a difference within the measurement's noise. */
  static final double RECALL_TIE = 0.002;
  /**
   * How far a candidate's timed p99 moves between two builds of the same data: one setting timed 0.83-0.91 ms over
   * four builds here (±5% about its mean; it differs between builds more than between the passes of one, so more
   * timing within a build would not average it out). A rebuild keeps its choice within it.
   */
  static final double LATENCY_NOISE = 0.05;
  static final double CENTROID_SHARE = 0.5;
  /** Queries timed per setting: enough for a p99 (the 3rd slowest), few enough to time several settings quickly. */
  static final int TIMED_QUERIES = 300;
  /** Coarse k-means iterations for candidates (FAISS's IVF training runs 10); the winner is trained in full. */
  static final int QUICK_KMEANS_ITERATIONS = 3;
  /** A quick PQ encoder samples 32 vectors per codeword anyway; training on only those skips the rest's residuals. */
  static final int QUICK_TRAIN_VECTORS = 32 * 256;
  /**
   * Grown lists stop at this many bytes of codes; beyond, the latency's growth from one probe is scaled with the
   * count (lists then scan from memory at a steady cost per code).
   */
  static final long GROWN_MAX_BYTES = 512L << 20;

  /** The winner's plan and trained (empty) index, every candidate's measured trade-off, and why the winner won. */
  record Selection(IndexPlan plan, FaissIndex trained, int listsSplit, Map<String, Object> report) {}

  /** A candidate at its operating point: the nprobe the build would choose, judged at the full count. */
  record Measured(IndexPlan plan, boolean feasible, double recall, double recallLow, double recallHigh,
      double p99Ms, long bytes, double oneProbeP50Ms, Map<String, Object> report) {}

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

  /** Measures the candidates and trains the winner; {@code previousChoice} (nullable) is kept while it ties. */
  Selection select(List<IndexPlan> candidates, String previousChoice) {
    long start = System.nanoTime();
    List<IndexPlan> smallestFirst = candidates.stream()
        .sorted(Comparator.comparingLong(p -> IndexPlanner.estimatedBytes(p, count, d))).toList();
    Map<Integer, FaissIndex> centroidsByNlist = new TreeMap<>();
    List<Measured> measured = new ArrayList<>();
    try {
      for (IndexPlan plan : smallestFirst) {
        long t = System.nanoTime();
        double kmeansS = 0; // the shared k-means is charged to the first candidate of its nlist
        if (!centroidsByNlist.containsKey(plan.nlist())) {
          centroidsByNlist.put(plan.nlist(), quickCentroids(plan));
          kmeansS = IndexBuilder.seconds(t);
        }
        Measured m = measure(plan, centroidsByNlist.get(plan.nlist()), kmeansS);
        measured.add(m);
        if (onlyCentroidsTooSlow(m)) {
          measured.add(measure(plan.withHnswQuantizer(), centroidsByNlist.get(plan.nlist()), 0));
        }
        if (measured.stream().anyMatch(c -> meetsTarget(c, options.targetRecall()))) {
          break; // the smallest that reaches the recall target: a larger index could only add recall beyond it
        }
      }
    } finally {
      centroidsByNlist.values().forEach(FaissIndex::close);
    }
    Measured best = choose(measured, previousChoice, options.targetRecall());
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("winner", best.plan().factory());
    report.put("why", why(best, measured.size(), candidates.size(), best.plan().factory().equals(previousChoice)));
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

  /** A quick balanced k-means for the candidates of {@code plan}'s nlist (a single build's sample, fewer rounds). */
  private FaissIndex quickCentroids(IndexPlan plan) {
    FaissIndex centroids = FaissIndex.create(d, "IVF" + plan.nlist() + ",Flat", options.metric());
    try {
      centroids.trainWithBalancedLists(sample, trainSize(plan), options.maxListFactor(), QUICK_KMEANS_ITERATIONS);
      return centroids;
    } catch (RuntimeException e) {
      centroids.close();
      throw e;
    }
  }

  /**
   * The winner trained as a single build trains it: full k-means with split hub lists and its encoder, on as many
   * vectors (candidates had quick ones).
   */
  private Selection trainedFully(IndexPlan plan, Map<String, Object> report) {
    int n = trainSize(plan);
    progress.accept("training " + plan.factory() + " on " + n + " vectors");
    try (FaissIndex centroids = FaissIndex.create(d, "IVF" + plan.nlist() + ",Flat", options.metric())) {
      int split = centroids.trainWithBalancedLists(sample, n, options.maxListFactor());
      FaissIndex index = FaissIndex.create(d, plan.factory(), options.metric());
      try {
        index.trainFrom(centroids, sample, n, false);
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
      index.trainFrom(centroids, sample, Math.min(trainSize(plan), QUICK_TRAIN_VECTORS), true);
      index.add(sample, sequentialIds(base), base);
      long grown = grownCount(plan);
      try (FaissIndex grownIndex = FaissIndex.fromBytes(index.toBytes())) {
        if (grown > base) {
          grownIndex.growLists(grown);
        }
        Latencies latencies = new Latencies(plan, grownIndex, grown);
        List<IndexEvaluator.Metrics> recalls = new ArrayList<>();
        int at = operatingPoint(plan, index, latencies, recalls);
        return measured(plan, at, recalls, latencies, kmeansS, start);
      }
    }
  }

  /**
   * The last setting within the latency limit (-1 if none), with {@code recalls} measured on {@code index} up to two
   * settings beyond it (the top of the noise band) or the first that reaches the recall target.
   */
  private int operatingPoint(IndexPlan plan, FaissIndex index, Latencies latencies,
      List<IndexEvaluator.Metrics> recalls) {
    int guess = latencies.guess();
    int last = latencies.nprobes.size() - 1;
    while (recalls.size() <= Math.min(guess + 1, last) && !reachesTarget(recalls)) {
      recalls.add(recall(plan, index, latencies.nprobes.get(recalls.size())));
    }
    if (reachesTarget(recalls)) {
      last = recalls.size() - 1; // a build stops probing at the recall target
    }
    int at = latencies.operatingPoint(last);
    while (recalls.size() <= Math.min(Math.max(at, 0) + 2, last)) {
      recalls.add(recall(plan, index, latencies.nprobes.get(recalls.size())));
    }
    return at;
  }

  /** The training vectors a single build of {@code plan} takes: the sample's first (it is in random order). */
  private int trainSize(IndexPlan plan) {
    return Math.min(sampleSize, plan.trainSize());
  }

  private IndexEvaluator.Metrics recall(IndexPlan plan, FaissIndex index, int nprobe) {
    return recallEvaluator.recall(index, IndexEvaluator.params(nprobe, codesPerProbe(plan, base),
        plan.hasHnswQuantizer()));
  }

  private boolean reachesTarget(List<IndexEvaluator.Metrics> recalls) {
    return !recalls.isEmpty() && IndexEvaluator.reaches(recalls.get(recalls.size() - 1), options.targetRecall());
  }

  /** The count a candidate's lists are grown to for timing: the full count, or as many as fit GROWN_MAX_BYTES. */
  private long grownCount(IndexPlan plan) {
    long perVector = IndexPlanner.estimatedBytes(plan, 1, d) - IndexPlanner.estimatedBytes(plan, 0, d);
    return Math.max(base, Math.min(count, GROWN_MAX_BYTES / perVector));
  }

  /**
   * A candidate's p99 at the full count over nprobe 1, 2, 3, 4, 6, 8, ... (at most nlist), timed on its grown index
   * where the search for the latency edge needs it.
   */
  private final class Latencies {
    /** The sweep's index of nprobe 16: with one probe, the two points of the first line. */
    private static final int ANCHOR = 7;
    private final IndexPlan plan;
    private final FaissIndex grownIndex;
    private final long grown;
    private final List<Integer> nprobes = new ArrayList<>();
    private final IndexEvaluator.Metrics[] timed;

    Latencies(IndexPlan plan, FaissIndex grownIndex, long grown) {
      this.plan = plan;
      this.grownIndex = grownIndex;
      this.grown = grown;
      for (int step = 0; IndexEvaluator.nprobeStep(step) <= plan.nlist(); step++) {
        nprobes.add(IndexEvaluator.nprobeStep(step));
      }
      this.timed = new IndexEvaluator.Metrics[nprobes.size()];
    }

    IndexEvaluator.Metrics timed(int i) {
      if (timed[i] == null) {
        timed[i] = timingEvaluator.measure(grownIndex, IndexEvaluator.params(nprobes.get(i),
            codesPerProbe(plan, grown), plan.hasHnswQuantizer()));
      }
      return timed[i];
    }

    /** Timed p99, its growth beyond one probe scaled to the full count when the lists could not grow that far. */
    double p99(int i) {
      double oneProbe = timed(0).p99Ms();
      return oneProbe + (timed(i).p99Ms() - oneProbe) * count / grown;
    }

    /** The last setting the line through one probe and nprobe 16 puts within the latency limit. */
    int guess() {
      timed(0);
      timed(Math.min(ANCHOR, nprobes.size() - 1));
      return settingAtOrBelow(edgeNprobe(limitP99Ms));
    }

    /**
     * The last setting up to {@code last} within the latency limit (-1 if none), the next one timed too. A query's
     * cost grows about linearly with nprobe: each round times the setting where the line through every timing so
     * far crosses the limit, and the one after it, so the edge is usually found with four settings timed, none far
     * beyond the limit.
     */
    int operatingPoint(int last) {
      if (p99(0) > limitP99Ms) {
        return -1;
      }
      int within = 0;
      int beyond = last + 1; // past the last setting: nothing there to time
      while (beyond - within > 1) {
        int edge = Math.max(within + 1, Math.min(beyond - 1, settingAtOrBelow(edgeNprobe(limitP99Ms))));
        for (int i = edge; i < Math.min(edge + 2, beyond); i++) {
          if (p99(i) <= limitP99Ms) {
            within = i;
          } else {
            beyond = i;
          }
        }
      }
      return within;
    }

    private int settingAtOrBelow(double nprobe) {
      int i = 0;
      while (i + 1 < nprobes.size() && nprobes.get(i + 1) <= nprobe) {
        i++;
      }
      return i;
    }

    /**
     * Where the least-squares line through every timed setting (p99 against nprobe) crosses {@code limitMs}: from
     * all timings rather than the two around it, so one timing's noise moves it less.
     */
    double edgeNprobe(double limitMs) {
      double n = 0;
      double sx = 0;
      double sy = 0;
      double sxx = 0;
      double sxy = 0;
      for (int i = 0; i < timed.length; i++) {
        if (timed[i] != null) {
          double x = nprobes.get(i);
          double y = p99(i);
          n++;
          sx += x;
          sy += y;
          sxx += x * x;
          sxy += x * y;
        }
      }
      double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
      return slope > 0 ? (limitMs - (sy - slope * sx) / n) / slope : Double.POSITIVE_INFINITY;
    }

    boolean isTimed(int i) {
      return timed[i] != null;
    }
  }

  /**
   * The candidate's score, its R@10 at the latency limit, and the scores at the limit less and more
   * {@value #LATENCY_NOISE} of it: the band a rebuild's timings could move the score within.
   */
  private Measured measured(IndexPlan plan, int at, List<IndexEvaluator.Metrics> recalls, Latencies latencies,
      double kmeansS, long start) {
    boolean feasible = at >= 0;
    int operating = Math.max(at, 0);
    double score = feasible ? recallAt(limitP99Ms, recalls, latencies) : 0;
    double low = feasible ? recallAt((1 - LATENCY_NOISE) * limitP99Ms, recalls, latencies) : 0;
    double high = feasible ? recallAt((1 + LATENCY_NOISE) * limitP99Ms, recalls, latencies) : 0;
    List<Map<String, Object>> frontier = new ArrayList<>();
    for (int i = 0; i < latencies.nprobes.size(); i++) {
      if (i < recalls.size() || latencies.isTimed(i)) {
        Map<String, Object> point = new LinkedHashMap<>();
        point.put("nprobe", latencies.nprobes.get(i));
        if (i < recalls.size()) {
          point.put("recall_at_10", IndexEvaluator.round4(recalls.get(i).recallAt10()));
        }
        if (latencies.isTimed(i)) {
          point.put("p99_ms", IndexEvaluator.round4(latencies.p99(i)));
        }
        frontier.add(point);
      }
    }
    double operatingP99 = latencies.p99(operating);
    long bytes = IndexPlanner.estimatedBytes(plan, count, d);
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("factory", plan.factory());
    report.put("bytes", bytes);
    report.put("recall_at_10_at_latency_limit", IndexEvaluator.round4(score));
    report.put("recall_at_10_within_latency_noise", List.of(IndexEvaluator.round4(low), IndexEvaluator.round4(high)));
    report.put("nprobe", latencies.nprobes.get(operating));
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
    return new Measured(plan, feasible, score, low, high, operatingP99, bytes, latencies.timed(0).p50Ms(), report);
  }

  /**
   * R@10 at a p99 limit: interpolated between the two swept settings around the nprobe where the timed line crosses
   * it ({@link Latencies#edgeNprobe}), so that a little noise in a timing moves a score a little, never a whole
   * nprobe step; the last swept setting's recall beyond it (where a build stops: the recall target, or every list).
   */
  private static double recallAt(double limitMs, List<IndexEvaluator.Metrics> recalls, Latencies latencies) {
    double edge = latencies.edgeNprobe(limitMs);
    int below = 0;
    while (below + 1 < recalls.size() && latencies.nprobes.get(below + 1) <= edge) {
      below++;
    }
    double recall = recalls.get(below).recallAt10();
    if (below + 1 == recalls.size()) {
      return recall;
    }
    int from = latencies.nprobes.get(below);
    int to = latencies.nprobes.get(below + 1);
    double share = Math.max(0, (edge - from) / (to - from));
    return recall + share * (recalls.get(below + 1).recallAt10() - recall);
  }

  /** Whether one probe, nearly all centroid scan, already takes a large share of the target (median latency). */
  private boolean onlyCentroidsTooSlow(Measured m) {
    return !m.plan().hasHnswQuantizer() && m.oneProbeP50Ms() > CENTROID_SHARE * options.targetLatencyMs();
  }

  /** Whether {@code m} reaches the recall target within the latency limit (at its band's top: within the noise). */
  static boolean meetsTarget(Measured m, double targetRecall) {
    return m.feasible() && m.recallHigh() >= targetRecall;
  }

  /**
   * The winner. Candidates that reach the recall target within the latency limit are equals (recall beyond the
   * target is not worth more bytes). Otherwise the best score wins, or the smallest within {@link #RECALL_TIE} of it
   * (then the fastest). A rebuild keeps its previous choice while that still ties the best within the timings' noise
   * (its band, see {@link #measured}, reaching the best's): noise then cannot flip a rebuild between equals, while a
   * fresh choice still needs the measured recall, not the noise band, to prefer a smaller index (a sample flatters
   * coarse codes a little). If none is within the limit, the fastest.
   */
  static Measured choose(List<Measured> all, String previousChoice, double targetRecall) {
    List<Measured> feasible = all.stream().filter(Measured::feasible).toList();
    if (feasible.isEmpty()) {
      return all.stream().min(Comparator.comparingDouble(Measured::p99Ms)).orElseThrow();
    }
    Measured best = feasible.stream().max(Comparator.comparingDouble(Measured::recall)).orElseThrow();
    List<Measured> meeting = feasible.stream().filter(m -> meetsTarget(m, targetRecall)).toList();
    List<Measured> kept = (meeting.isEmpty() ? feasible : meeting).stream()
        .filter(m -> m.plan().factory().equals(previousChoice))
        .filter(m -> !meeting.isEmpty() || m.recallHigh() + RECALL_TIE >= best.recallLow()).toList();
    if (!kept.isEmpty()) {
      return kept.get(0);
    }
    List<Measured> tied = !meeting.isEmpty() ? meeting
        : feasible.stream().filter(m -> m.recall() >= best.recall() - RECALL_TIE).toList();
    return tied.stream().min(Comparator.comparingLong(Measured::bytes).thenComparingDouble(Measured::p99Ms))
        .orElseThrow();
  }

  private String why(Measured best, int measured, int candidates, boolean kept) {
    if (!best.feasible()) {
      return "no candidate of " + candidates + " keeps one probe within p99 " + IndexEvaluator.round4(limitP99Ms)
          + " ms at " + count + " vectors; this one comes closest (" + IndexEvaluator.round4(best.p99Ms())
          + " ms)";
    }
    String within = " with p99 timed within " + IndexEvaluator.round4(limitP99Ms) + " ms at " + count + " vectors";
    if (meetsTarget(best, options.targetRecall())) {
      return (kept ? "the published index's choice" : "the smallest index") + " that reaches R@10 "
          + options.targetRecall() + " on the sample (" + IndexEvaluator.round4(best.recall()) + ")" + within
          + "; candidates are measured smallest first, " + measured + " of " + candidates;
    }
    return (kept ? "the published index's choice, still tying the best R@10 at the latency limit on the sample"
        + " within the timings' noise (" + Math.round(100 * LATENCY_NOISE) + "% either way)"
        : "the smallest index within " + RECALL_TIE + " of the best R@10 at the latency limit on the sample")
        + " (this one: " + IndexEvaluator.round4(best.recall()) + ")" + within + ", among " + candidates
        + " candidates";
  }

  private long codesPerProbe(IndexPlan plan, long base) {
    return (long) Math.ceil(options.maxCodesFactor() * base / plan.nlist());
  }

  /** Ids 0 to n - 1: a sample's vectors are added under their place in it. */
  static long[] sequentialIds(int n) {
    return java.util.stream.LongStream.range(0, n).toArray();
  }
}

package io.imgvec.index;

import io.imgvec.faiss.FaissIndex;
import io.imgvec.faiss.SearchParams;
import io.imgvec.faiss.VectorSearch;
import io.imgvec.index.CandidateChoice.Measured;
import io.imgvec.published.RerankedSearch;
import io.imgvec.published.Sq8Vectors;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Chooses the index to build by measurement ({@code index.type=auto}), autofaiss-style but measured rather than
 * modelled. Every candidate trains as a single build would, only quicker (candidates with the same nlist share one
 * quick balanced k-means; PQ encoders train quickly, see {@link FaissIndex#trainFrom}), and holds half the sample as
 * its base. Latency is predicted at the full count from the work each held-out query does ({@link LatencySweep}),
 * never timed: the same sample gives the same choice on a busy driver or a quiet one. Over nprobe 1, 2, 3, 4, 6, 8,
 * ... (up to the first setting that reaches the recall target, where a build stops) the last setting within the
 * latency limit is found, and recall is measured on every held-out query, in batches, up to just beyond it. A
 * candidate whose single probe (median) already spends {@value #CENTROID_SHARE} of the latency target, nearly all on
 * centroids, also gets a twin with an HNSW coarse quantizer; an IVF-PQ one whose codes alone miss the recall target,
 * a twin with a refine stage ({@link RerankedSearch}) where its stored vectors fit the budget. A graph candidate
 * (HNSW over full vectors) is the largest, so it is measured only when no IVF one reached the target: a graph of
 * the candidates' base is built and swept over efSearch.
 *
 * <p>What every candidate on one coarse quantizer shares is known before any is built ({@link ProbedLists}): the
 * work of each query (so a sweep only prices it) and the share of queries whose nearest neighbour's list is scanned,
 * which is an IVF-Flat candidate's recall (never built) and bounds a PQ one's. A PQ candidate whose bound at the
 * latency limit is below the best score so far is skipped unbuilt.
 *
 * <p>Candidates are measured smallest first, and measuring stops at the first that reaches the recall target within
 * the latency limit (the target less its headroom): it wins. Otherwise the winner has the best R@10 at the latency
 * limit, or the smallest within a hair of it ({@link CandidateChoice#choose}). It is handed back trained as a single
 * build would train it.
 */
final class CandidateSelector {
  static final double CENTROID_SHARE = 0.5;
  /** Coarse k-means iterations for candidates (FAISS's IVF training runs 10); the winner is trained in full. */
  static final int QUICK_KMEANS_ITERATIONS = 3;
  /** A quick PQ encoder samples 32 vectors per codeword anyway; training on only those skips the rest's residuals. */
  static final int QUICK_TRAIN_VECTORS = 32 * 256;
  /**
   * The winner's plan and trained (empty) index, every candidate's measured trade-off and why the winner won, and
   * the seconds its full training took (a part of the selection's time that a pinned build spends too).
   */
  record Selection(IndexPlan plan, FaissIndex trained, int listsSplit, Map<String, Object> report,
      double trainSeconds) {}

  private final IndexBuilder.Options options;
  private final Consumer<String> progress;
  private final long count;
  private final int d;
  private final float[] sample;
  private final int sampleSize;
  private final int base;
  private final IndexEvaluator evaluator;
  private final LatencyModel model;
  private final double limitP99Ms;
  /** Whether IVF-PQ candidates also get a refine stage measured (where it fits the budget, see IndexPlanner). */
  private final boolean refine;
  private Sq8Vectors storedSample;
  private final float[] queries;
  /** Each held-out query's true nearest neighbour among the candidates' base (its place in the sample). */
  private final long[] nearest;
  private final Map<Integer, FaissIndex> centroidsByNlist = new TreeMap<>();
  private final Map<String, ProbedLists> listsByQuantizer = new HashMap<>();
  private final List<Measured> measured = new ArrayList<>();
  private final List<Map<String, Object>> skipped = new ArrayList<>();

  CandidateSelector(IndexBuilder.Options options, Consumer<String> progress, long count, int d, float[] sample,
      int sampleSize, float[] queries, int nq, LatencyModel model, boolean refine) {
    this.options = options;
    this.refine = refine;
    this.progress = progress;
    this.count = count;
    this.d = d;
    this.sample = sample;
    this.sampleSize = sampleSize;
    this.base = sampleSize / 2;
    ExactNeighbours truth = new ExactNeighbours(queries, nq, d, IndexEvaluator.K, options.metric());
    truth.addBase(sample, sequentialIds(base), base);
    this.evaluator = new IndexEvaluator(queries, nq, d, truth);
    this.queries = queries;
    this.nearest = java.util.stream.IntStream.range(0, nq).mapToLong(q -> truth.ids(q)[0]).toArray();
    this.model = model;
    this.limitP99Ms = options.latencyHeadroom() * options.targetLatencyMs();
  }

  /** Measures the candidates and trains the winner. */
  Selection select(List<IndexPlan> candidates) {
    long start = System.nanoTime();
    List<IndexPlan> smallestFirst = candidates.stream()
        .sorted(Comparator.comparingLong(p -> IndexPlanner.estimatedBytes(p, count, d))).toList();
    try {
      for (IndexPlan plan : smallestFirst) {
        if (plan.isGraph()) {
          measureGraph(plan);
          continue;
        }
        long t = System.nanoTime();
        double kmeansS = 0; // the shared k-means is charged to the first candidate of its nlist
        if (!centroidsByNlist.containsKey(plan.nlist())) {
          centroidsByNlist.put(plan.nlist(), quickCentroids(plan));
          kmeansS = IndexBuilder.seconds(t);
        }
        measureWithTwins(plan, kmeansS);
        if (measured.stream().anyMatch(c -> CandidateChoice.meetsTarget(c, options.targetRecall()))) {
          break; // the smallest that reaches the recall target: a larger index could only add recall beyond it
        }
      }
    } finally {
      listsByQuantizer.values().forEach(ProbedLists::close);
      centroidsByNlist.values().forEach(FaissIndex::close);
    }
    Measured best = CandidateChoice.choose(measured, options.targetRecall());
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("winner", best.plan().name());
    report.put("why", why(best, candidates.size()));
    report.put("sample_size", sampleSize);
    report.put("candidate_base", base);
    report.put("queries", evaluator.queries());
    report.put("latency", "predicted from each query's counted work (latency_model in the manifest), not timed");
    report.put("latency_limit_ms", IndexEvaluator.round4(limitP99Ms));
    report.put("selection_s", IndexBuilder.seconds(start));
    report.put("candidates", measured.stream().map(Measured::report).toList());
    report.put("skipped", skipped);
    progress.accept("chose " + best.plan().name() + ": " + report.get("why"));
    return trainedFully(best.plan(), report);
  }

  /**
   * A graph candidate: an HNSW graph of the candidates' base (its build is its measuring cost), swept over efSearch.
   */
  private void measureGraph(IndexPlan plan) {
    long start = System.nanoTime();
    progress.accept("candidate " + plan.name() + ": building its graph of " + base + " sample vectors");
    try (FaissIndex graph = FaissIndex.create(d, plan.factory(), options.metric())) {
      graph.add(sample, sequentialIds(base), base);
      LatencySweep latencies = new LatencySweep(plan, graph, base, d, count, evaluator, 0, model);
      List<IndexEvaluator.Metrics> recalls = new ArrayList<>();
      int at = operatingPoint(latencies, recalls, params -> evaluator.recall(graph, params));
      measured.add(measured(plan, at, recalls, latencies, 0, start));
    }
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
    if (plan.isGraph()) { // a graph is built as vectors are added: nothing to train
      return new Selection(plan, FaissIndex.create(d, plan.factory(), options.metric()), 0, report, 0);
    }
    long start = System.nanoTime();
    int n = trainSize(plan);
    progress.accept("training " + plan.factory() + " on " + n + " vectors");
    try (FaissIndex centroids = FaissIndex.create(d, "IVF" + plan.nlist() + ",Flat", options.metric())) {
      int split = centroids.trainWithBalancedLists(sample, n, options.maxListFactor());
      FaissIndex index = FaissIndex.create(d, plan.factory(), options.metric());
      try {
        index.trainFrom(centroids, sample, n, false);
        return new Selection(plan, index, split, report, IndexBuilder.seconds(start));
      } catch (RuntimeException e) {
        index.close();
        throw e;
      }
    }
  }

  /**
   * {@code plan}, and its twins: where its codes alone miss the target and stored vectors fit the budget, the same
   * codes with a refine stage (re-ranked against the sample's stored vectors: no second index to train); where one
   * probe, nearly all centroid scan, takes a large share of the target, the same with an HNSW coarse quantizer.
   */
  private void measureWithTwins(IndexPlan plan, double kmeansS) {
    ProbedLists lists = listsFor(plan);
    try (CandidateIndex index = new CandidateIndex(plan, lists)) {
      Optional<Measured> first = consider(plan, index, kmeansS);
      boolean missed = first.map(m -> !CandidateChoice.meetsTarget(m, options.targetRecall())).orElse(true);
      Optional<IndexPlan> refined = refine && missed
          ? IndexPlanner.refined(plan, count, d, options.memoryBudget()) : Optional.empty();
      refined.ifPresent(r -> consider(r, index, 0));
    }
    if (!plan.hasHnswQuantizer()
        && sweep(plan, lists).p50(0) > CENTROID_SHARE * options.targetLatencyMs()) { // nearly all centroid scan
      measureWithTwins(plan.withHnswQuantizer(), 0);
    }
  }

  /**
   * Measures {@code plan} unless its probed lists show that it cannot beat the best candidate so far: then it is
   * skipped, unbuilt (reported in the selection's {@code skipped}). An IVF-Flat candidate's recall is its lists'
   * coverage (exact distances), so it is never built either.
   */
  private Optional<Measured> consider(IndexPlan plan, CandidateIndex index, double kmeansS) {
    long start = System.nanoTime();
    VectorSearch searched = index.lists.counted();
    Function<SearchParams, IndexEvaluator.Metrics> recallAt = params -> covered(index.lists, params);
    if (plan.pqM() > 0) {
      OptionalDouble best = measured.stream().filter(Measured::feasible).mapToDouble(Measured::recall).max();
      double most = upperBound(plan, index.lists);
      if (best.isPresent() && most < best.getAsDouble()) {
        skip(plan, most);
        return Optional.empty();
      }
      VectorSearch codes = plan.refines() ? reranked(index.codes(), plan) : index.codes();
      searched = codes;
      recallAt = params -> evaluator.recall(codes, params);
    }
    LatencySweep latencies = new LatencySweep(plan, searched, base, d, count, evaluator, codesPerProbe(plan, base),
        model);
    List<IndexEvaluator.Metrics> recalls = new ArrayList<>();
    int at = operatingPoint(latencies, recalls, recallAt);
    Measured m = measured(plan, at, recalls, latencies, kmeansS, start);
    measured.add(m);
    return Optional.of(m);
  }

  private void skip(IndexPlan plan, double most) {
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("factory", plan.name());
    report.put("bytes", IndexPlanner.estimatedBytes(plan, count, d));
    report.put("recall_at_10_at_most", IndexEvaluator.round4(most));
    skipped.add(report);
    progress.accept("candidate " + plan.name() + " skipped: R@10 at most " + report.get("recall_at_10_at_most")
        + " at the latency limit (its lists' coverage), below the best so far");
  }

  /**
   * The most R@10 {@code plan} can have at the latency limit: its lists' coverage there, interpolated as scores are,
   * over its work priced without re-ranking (which only adds to each query's work, so a refine twin's own settings
   * reach the limit no later).
   */
  private double upperBound(IndexPlan plan, ProbedLists lists) {
    LatencySweep latencies = sweep(plan, lists);
    int last = latencies.settings.size() - 1;
    int within = latencies.operatingPoint(last, limitP99Ms);
    if (within < 0) {
      return 0;
    }
    List<IndexEvaluator.Metrics> coverages = latencies.settings.subList(0, Math.min(within + 1, last) + 1).stream()
        .map(params -> covered(lists, params)).toList();
    return latencies.recallAt(limitP99Ms, coverages);
  }

  /** {@code plan}'s sweep of its lists' counted work (re-ranking aside). */
  private LatencySweep sweep(IndexPlan plan, ProbedLists lists) {
    return new LatencySweep(plan, lists.counted(), base, d, count, evaluator, codesPerProbe(plan, base), model);
  }

  /** The lists of {@code plan}'s coarse quantizer over the candidates' base, built for the first that needs them. */
  private ProbedLists listsFor(IndexPlan plan) {
    String quantizer = plan.factory().substring(0, plan.factory().indexOf(','));
    return listsByQuantizer.computeIfAbsent(quantizer, q -> ProbedLists.of(q, centroidsByNlist.get(plan.nlist()),
        sample, base, d, options.metric(), queries, nearest));
  }

  /** An IVF-Flat candidate's metrics at {@code params}: exact distances find what its lists cover. */
  private IndexEvaluator.Metrics covered(ProbedLists lists, SearchParams params) {
    double coverage = lists.coverage(params);
    return new IndexEvaluator.Metrics(params, coverage, coverage, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
        Double.NaN, null);
  }

  /**
   * A candidate's index of the candidates' base, trained and filled on first use ({@link #codes}): shared by its
   * refine twin, never built for a candidate that is skipped. Its counted work is its lists' (the same quantizer
   * and list sizes).
   */
  private final class CandidateIndex implements AutoCloseable {
    private final IndexPlan plan;
    private final ProbedLists lists;
    private FaissIndex index;

    CandidateIndex(IndexPlan plan, ProbedLists lists) {
      this.plan = plan;
      this.lists = lists;
    }

    VectorSearch codes() {
      if (index == null) {
        index = FaissIndex.create(d, plan.factory(), options.metric());
        index.trainFrom(centroidsByNlist.get(plan.nlist()), sample, Math.min(trainSize(plan), QUICK_TRAIN_VECTORS),
            true);
        index.add(sample, sequentialIds(base), base);
      }
      return lists.countingFor(index);
    }

    @Override
    public void close() {
      if (index != null) {
        index.close();
      }
    }
  }

  /**
   * {@code index}'s results re-ranked as {@code plan}'s refine stage would, against the candidates' base vectors in
   * 8-bit codes (encoded once).
   */
  private RerankedSearch reranked(VectorSearch index, IndexPlan plan) {
    if (storedSample == null) {
      storedSample = Sq8Vectors.inMemory(Sq8Vectors.Codec.train(sample, sampleSize, d), sample, base);
    }
    return new RerankedSearch(index, storedSample, options.metric(), plan.kFactor());
  }

  /**
   * The last setting within the latency limit (-1 if none), with {@code recalls} measured up to the setting after it
   * (the score interpolates between the two) or the first that reaches the recall target, where a build stops.
   */
  private int operatingPoint(LatencySweep latencies, List<IndexEvaluator.Metrics> recalls,
      Function<SearchParams, IndexEvaluator.Metrics> recallAt) {
    int last = latencies.settings.size() - 1;
    int at = -1;
    while (at < last && latencies.p99(at + 1) <= limitP99Ms && !reachesTarget(recalls)) {
      at++;
      recalls.add(recallAt.apply(latencies.settings.get(at)));
    }
    while (recalls.size() <= Math.min(at + 1, last) && !reachesTarget(recalls)) {
      recalls.add(recallAt.apply(latencies.settings.get(recalls.size())));
    }
    return at;
  }

  /** The training vectors a single build of {@code plan} takes: the sample's first (it is in random order). */
  private int trainSize(IndexPlan plan) {
    return Math.min(sampleSize, plan.trainSize());
  }

  private boolean reachesTarget(List<IndexEvaluator.Metrics> recalls) {
    return !recalls.isEmpty() && IndexEvaluator.reaches(recalls.get(recalls.size() - 1), options.targetRecall());
  }

  /** The candidate's score (its R@10 at the latency limit) and its sweep, for the report. */
  private Measured measured(IndexPlan plan, int at, List<IndexEvaluator.Metrics> recalls, LatencySweep latencies,
      double kmeansS, long start) {
    boolean feasible = at >= 0;
    int operating = Math.max(at, 0);
    double score = feasible ? latencies.recallAt(limitP99Ms, recalls) : 0;
    List<Map<String, Object>> sweep = new ArrayList<>();
    for (int i = 0; i < recalls.size(); i++) {
      Map<String, Object> point = new LinkedHashMap<>();
      putSetting(point, plan, latencies.settings.get(i));
      point.put("recall_at_10", IndexEvaluator.round4(recalls.get(i).recallAt10()));
      point.put("predicted_p99_ms", IndexEvaluator.round4(latencies.p99(i)));
      sweep.add(point);
    }
    double operatingP99 = latencies.p99(operating);
    long bytes = IndexPlanner.estimatedBytes(plan, count, d);
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("factory", plan.name());
    report.put("bytes", bytes);
    report.put("recall_at_10_at_latency_limit", IndexEvaluator.round4(score));
    putSetting(report, plan, latencies.settings.get(operating));
    report.put("recall_at_10", IndexEvaluator.round4(recalls.get(operating).recallAt10()));
    report.put("predicted_p99_ms", IndexEvaluator.round4(operatingP99));
    report.put("within_latency_limit", feasible);
    report.put("kmeans_s", kmeansS);
    report.put("measure_s", IndexBuilder.seconds(start));
    report.put("sweep", sweep);
    progress.accept("candidate " + plan.name() + ": R@10 " + report.get("recall_at_10_at_latency_limit")
        + " at the latency limit (" + setting(plan) + " " + report.get(setting(plan)) + ", predicted p99 " + report.get("predicted_p99_ms")
        + " ms at " + count + " vectors), " + bytes + " bytes");
    return new Measured(plan, feasible, score, operatingP99, bytes, latencies.p50(0), report);
  }

  /** The name of {@code plan}'s swept setting in reports: a graph's efSearch, else nprobe. */
  static String setting(IndexPlan plan) {
    return plan.isGraph() ? "ef_search" : "nprobe";
  }

  private static void putSetting(Map<String, Object> report, IndexPlan plan, SearchParams params) {
    report.put(setting(plan), plan.isGraph() ? params.efSearch() : params.nprobe());
  }

  private String why(Measured best, int candidates) {
    if (!best.feasible()) {
      return "no candidate of " + candidates + " keeps one probe within p99 " + IndexEvaluator.round4(limitP99Ms)
          + " ms at " + count + " vectors; this one comes closest (" + IndexEvaluator.round4(best.p99Ms())
          + " ms predicted)";
    }
    String within = " with p99 predicted within " + IndexEvaluator.round4(limitP99Ms) + " ms at " + count
        + " vectors";
    if (CandidateChoice.meetsTarget(best, options.targetRecall())) {
      return "the smallest index that reaches R@10 " + options.targetRecall() + " on the sample ("
          + IndexEvaluator.round4(best.recall()) + ")" + within + "; candidates are measured smallest first, "
          + measured.size() + " of " + candidates + " and their twins" + skippedNote();
    }
    return "the smallest index within " + CandidateChoice.RECALL_TIE + " of the best R@10 at the latency limit on the"
        + " sample (this one: " + IndexEvaluator.round4(best.recall()) + ")" + within + ", among " + candidates
        + " candidates and their twins" + skippedNote();
  }

  private String skippedNote() {
    return skipped.isEmpty() ? "" : " (" + skipped.size() + " skipped unbuilt: their lists' coverage is below the"
        + " best so far)";
  }

  private long codesPerProbe(IndexPlan plan, long base) {
    return (long) Math.ceil(options.maxCodesFactor() * base / plan.nlist());
  }

  /** Ids 0 to n - 1: a sample's vectors are added under their place in it. */
  static long[] sequentialIds(int n) {
    return java.util.stream.LongStream.range(0, n).toArray();
  }
}

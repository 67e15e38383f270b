package io.imgvec.index;

import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.faiss.FaissIndex;
import io.imgvec.faiss.Metric;
import io.imgvec.faiss.SearchParams;
import io.imgvec.faiss.VectorSearch;
import io.imgvec.published.HeldOutQueries;
import io.imgvec.published.IdMap;
import io.imgvec.published.RerankedSearch;
import io.imgvec.published.ShardedIndex;
import io.imgvec.published.Sq8Vectors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Builds a FAISS index from a {@link VectorSource} into a local directory: validates the input, plans the index,
 * trains on a sample, streams every vector in batches (memory bounded by the index, not the raw vectors), measures
 * recall and latency on held-out queries, then adds those too. Two scans: sample, then add.
 */
public final class IndexBuilder {

  /** Build settings, from the shared configuration. */
  public record Options(String type, long memoryBudget, Metric metric, int nlist, int pqM, int nprobe,
      double targetLatencyMs, double latencyHeadroom, double targetRecall, double maxCodesFactor,
      double maxListFactor, int pointsPerCentroid, int evalQueries, int batchSize, boolean requireTarget, int shards,
      long maxShardBytes, boolean distributed, long distributedAbove, String latencyModelFile, String refine) {
    public static Options from(ImgvecConfig c) {
      return new Options(c.get(ConfigKeys.INDEX_TYPE), c.get(ConfigKeys.INDEX_MEMORY_BUDGET),
          c.get(ConfigKeys.INDEX_METRIC).equals("L2") ? Metric.L2 : Metric.INNER_PRODUCT,
          c.get(ConfigKeys.INDEX_NLIST), c.get(ConfigKeys.INDEX_PQ_M), c.get(ConfigKeys.INDEX_NPROBE),
          c.get(ConfigKeys.INDEX_TARGET_LATENCY_MS), c.get(ConfigKeys.INDEX_LATENCY_HEADROOM),
          c.get(ConfigKeys.INDEX_TARGET_RECALL),
          c.get(ConfigKeys.INDEX_MAX_CODES_FACTOR),
          c.get(ConfigKeys.INDEX_MAX_LIST_FACTOR), c.get(ConfigKeys.INDEX_TRAIN_POINTS_PER_CENTROID),
          c.get(ConfigKeys.INDEX_EVAL_QUERIES), c.get(ConfigKeys.INDEX_BATCH_SIZE),
          c.get(ConfigKeys.INDEX_REQUIRE_TARGET), c.get(ConfigKeys.INDEX_SHARDS),
          c.get(ConfigKeys.INDEX_MAX_SHARD_BYTES), c.get(ConfigKeys.INDEX_DISTRIBUTED),
          c.get(ConfigKeys.INDEX_DISTRIBUTED_ABOVE), c.get(ConfigKeys.INDEX_LATENCY_MODEL_FILE),
          c.get(ConfigKeys.INDEX_REFINE));
    }
  }

  /** The built files in {@code dir} and the facts for the index manifest (files and version are added on publish). */
  public record BuiltIndex(Path dir, Map<String, Object> manifest) {}

  /**
   * Adds the vectors elsewhere than on this machine: {@code build-index --distributed} adds them on Spark executors,
   * each partition into its own copy of the trained index, and merges the copies into shards here.
   */
  public interface DistributedAdd {
    /**
     * Adds every vector of the source except {@code heldOutIds} (ids are scan positions) to copies of
     * {@code trained}, writes the id map and digests into {@code dir}, merges the exact neighbours of
     * {@code truth}'s queries over the vectors added, and returns them as {@code shards} shards by id range,
     * memory-mapped with {@code mapShards} (they would not fit in memory together).
     */
    ShardedIndex addAll(FaissIndex trained, long[] heldOutIds, ExactNeighbours truth, int shards, boolean mapShards,
        Path dir, Map<String, Object> timings) throws IOException;

    /**
     * Called before the first scan, once the build is known to add this way: the source may repartition so that
     * every shard gets whole partitions and every task slot has work.
     */
    void prepare(int shards);

    /** Task slots that add at once (executor cores). */
    int parallelism();

    /** Vectors in the largest partition: what one task adds into its copy. */
    long largestPartitionRows();

    /**
     * The build's sample drawn where the vectors are: each partition's {@link Sample} of its rows (ids are scan
     * positions, as {@link #addAll} numbers them), merged; only sampled vectors reach this machine.
     */
    Sample.Part sample(int trainSize, int nq);
  }

  private final VectorSource source;
  private final Options options;
  private final Consumer<String> progress;
  private final DistributedAdd distributedAdd;
  private final SourceScans scans;

  public IndexBuilder(VectorSource source, Options options, Consumer<String> progress) {
    this(source, options, progress, null);
  }

  /**
   * A builder that can add through {@code distributedAdd} (null: only on this machine); it does when
   * {@code index.distributed} is set or the input has more than {@code index.distributed-above} vectors.
   */
  public IndexBuilder(VectorSource source, Options options, Consumer<String> progress, DistributedAdd distributedAdd) {
    this.source = source;
    this.options = options;
    this.progress = progress;
    this.distributedAdd = distributedAdd;
    this.scans = new SourceScans(source, options.batchSize(), progress);
  }

  public BuiltIndex build(Path dir) throws IOException {
    try (HeapSampler heap = new HeapSampler()) {
      return build(dir, heap);
    }
  }

  private BuiltIndex build(Path dir, HeapSampler heap) throws IOException {
    long start = System.nanoTime();
    VectorSource.Stats stats = validated(source.stats());
    long n = stats.count();
    int d = stats.dimensions().iterator().next();
    IndexPlan plan = IndexPlanner.plan(options.type(), n, d, options.memoryBudget(), options.nlist(), options.pqM(),
        options.nprobe(), options.pointsPerCentroid(), options.metric());
    boolean select = measuresCandidates(plan);
    DistributedAdd adder = options.distributed() || options.distributedAbove() > 0 && n > options.distributedAbove()
        ? distributedAdd : null;
    plan = withPinnedRefine(plan, select, adder != null);
    // executors add without the vectors' store a refine stage needs: distributed builds measure none
    boolean refine = adder == null && !options.refine().equals("none");
    boolean graph = graphAllowed(plan, adder != null);
    List<IndexPlan> candidates = select ? IndexPlanner.candidates(n, d, options.memoryBudget(),
        options.pointsPerCentroid(), options.metric()).stream()
        .filter(p -> (refine || !p.refines()) && (graph || !p.isGraph())).toList()
        : List.of(plan);
    if (adder != null) {
      adder.prepare(options.shards());
    }
    ResourcePlan resources = ResourcePlan.check(candidates, n, d, options, adder);
    candidates = resources.candidates();
    progress.accept(resources.describe());
    int nq = resources.queries();
    int trainSize = resources.trainSize();
    progress.accept(select ? "measuring " + candidates.size() + " candidate indexes for " + n + " x " + d
        : "index plan: " + plan.name() + " (" + plan.reason() + ") for " + n + " x " + d);
    Map<String, Object> timings = new LinkedHashMap<>();
    long t = System.nanoTime();
    Sample.Part drawn = adder != null ? adder.sample(trainSize, nq) : null;
    long drawnRows = drawn == null ? 0 : drawn.size();
    Sample sample = drawn != null ? SourceScans.sample(drawn, n, trainSize, nq) : scans.sample(n, d, trainSize, nq);
    drawn = null; // the sample holds its rows now: let the part go before training
    timings.put("sample_s", seconds(t));
    Files.createDirectories(dir);
    // predicted latency chooses the candidate and tunes nprobe; a pinned nprobe needs neither
    LatencyModel model = plan.isTuned() ? LatencyModel.forThisMachine(options.metric(),
        options.latencyModelFile(), progress) : null;
    t = System.nanoTime();
    CandidateSelector.Selection selection = select ? new CandidateSelector(options, progress, n, d, sample.train,
        trainSize, sample.queries, nq, model, refine).select(candidates) : null;
    if (selection != null) {
      plan = selection.plan();
      timings.put("selection_s", IndexEvaluator.round4(seconds(t) - selection.trainSeconds())); // measuring alone
      plan = refine ? refinedForFilters(plan, n, d) : plan;
    }
    plan = plan.withTrainSize(Math.min(plan.trainSize(), trainSize));
    try (FaissIndex trained = selection != null ? selection.trained()
        : FaissIndex.create(d, plan.factory(), plan.metric())) {
      t = System.nanoTime();
      int listsSplit = selection != null ? selection.listsSplit() : 0;
      if (selection == null && plan.trainSize() > 0) {
        progress.accept("training on " + plan.trainSize() + " vectors");
        listsSplit = trained.trainWithBalancedLists(sample.train, plan.trainSize(), options.maxListFactor());
      }
      timings.put("train_s", selection != null ? selection.trainSeconds() : seconds(t));
      // a graph's add cost grows with the graph: timing its first vectors would not tell it
      Map<String, Object> expected = plan.isGraph() ? new LinkedHashMap<>()
          : resources.expectedAdd(trained, sample.train, trainSize, progress);
      Sq8Vectors.Codec codec = plan.refines() ? Sq8Vectors.Codec.train(sample.train, trainSize, d) : null;
      sample.train = null; // trained: let the sample go before the index grows
      ExactNeighbours truth = new ExactNeighbours(sample.queries, nq, d, IndexEvaluator.K, plan.metric());
      t = System.nanoTime();
      try (ShardedIndex index = adder != null
          ? adder.addAll(trained, sample.queryIds, truth, resources.shards(), !resources.fitsTogether(), dir,
              timings)
          : scans.addAll(trained, sample, truth, dir.resolve(IdMap.FILE), codec, n, d, resources.shards(),
              timings)) {
        timings.put("add_phase_s", seconds(t));
        IndexEvaluator.Tuning tuning = finish(index, plan, model, sample, truth, nq, dir, timings, start);
        IndexEvaluator.Metrics metrics = tuning == null ? null : tuning.chosen();
        Map<String, Object> manifest = BuildManifest.of(stats.modelIds().iterator().next(), source.metadataColumns(),
            plan, metrics == null ? fixedParams(plan, index.ntotal()) : metrics.params(), metrics, index, nq, dir);
        if (plan.isIvf()) {
          manifest.put("lists", BuildManifest.listStats(index.listSizes(), listsSplit, options.maxListFactor()));
        }
        manifest.put("timings", timings);
        manifest.put("vectors_through_driver", scans.rowsRead() + drawnRows);
        BuildManifest.recordHeap(manifest, heap);
        manifest.put("outcome", tuning == null ? null : outcome(tuning, plan));
        if (metrics != null) {
          manifest.put("latency_measurement", IndexEvaluator.method(nq, metrics));
        }
        if (model != null) {
          manifest.put("latency_model", model.asMap());
        }
        resources.record(manifest, expected);
        if (selection != null) {
          manifest.put("selection", selection.report());
        }
        return new BuiltIndex(dir, manifest);
      }
    }
  }

  /**
   * Whether {@code auto} measures a graph, refusing a pinned {@code index.type=HNSW} that cannot be built: FAISS
   * cannot merge the HNSW graphs executors would build apart. {@code auto} also leaves it out where metadata columns
   * are published: FAISS's HNSW search cannot skip ids outside a filter, so a filtered search would scan every
   * matching id exactly (as over a Flat or PQ index), too slow for broad filters.
   */
  private boolean graphAllowed(IndexPlan plan, boolean distributed) {
    if (distributed && plan.isGraph()) {
      throw new IndexBuildException("index.type=HNSW cannot be built distributed: executors add into copies of the"
          + " index that are merged, and FAISS cannot merge HNSW graphs; build it on the driver"
          + " (index.distributed=false and index.distributed-above above the vector count) or use index.type=auto");
    }
    return !distributed && source.metadataColumns().isEmpty();
  }

  /**
   * {@code plan} with the refine stage {@code index.refine=sq8} pins (a build not measuring candidates, with PQ
   * codes), refused where a pinned index.type cannot have it.
   */
  private IndexPlan withPinnedRefine(IndexPlan plan, boolean select, boolean distributed) {
    if (!options.refine().equals("sq8") || select || plan.pqM() == 0 && options.type().equals("auto")) {
      return plan; // measured candidates get it where it fits; auto's Flat or IVF-Flat has no codes to re-rank
    }
    if (plan.pqM() == 0) {
      throw new IndexBuildException("index.refine=sq8 re-ranks PQ codes, and this build is " + plan.type() + ": use"
          + " index.type=IVF-PQ, PQ or auto");
    }
    if (distributed) {
      throw new IndexBuildException("index.refine=sq8 needs every vector stored by the build, which a distributed"
          + " build (executors add) does not do yet: use index.refine=none, or build on the driver"
          + " (index.distributed=false and index.distributed-above above the vector count)");
    }
    return plan.withRefine(IndexPlanner.REFINE_K_FACTOR);
  }

  /**
   * A chosen PQ index with metadata columns, given the refine stage where its store fits the budget
   * ({@code index.refine=auto}): a filter matching few ids is searched exactly among them, and PQ codes cannot rank
   * a thousand near-equidistant vectors (R@10 0.5 at 0.1% of the synthetic 1M set, bench/filtered.sh).
   */
  private IndexPlan refinedForFilters(IndexPlan plan, long n, int d) {
    if (source.metadataColumns().isEmpty() || !options.refine().equals("auto")) {
      return plan;
    }
    return IndexPlanner.refined(plan, n, d, options.memoryBudget()).map(refined -> {
      progress.accept("keeping vectors for filters: " + refined.name() + " re-ranks filtered searches among few"
          + " matching ids, which PQ codes alone cannot rank");
      return refined;
    }).orElse(plan);
  }

  /** Whether the index is chosen by measuring candidates: type auto, IVF-sized, nothing pinned by the user. */
  private boolean measuresCandidates(IndexPlan plan) {
    return options.type().equals("auto") && plan.isIvf() && options.nlist() == 0 && options.pqM() == 0
        && options.nprobe() == 0;
  }

  /**
   * Measures and tunes the filled index, adds the held-out queries back, stores the tuned setting in the files and
   * writes them. Returns the tuning (null without held-out queries).
   */
  private IndexEvaluator.Tuning finish(ShardedIndex index, IndexPlan plan, LatencyModel model, Sample sample,
      ExactNeighbours truth, int nq, Path dir, Map<String, Object> timings, long start) throws IOException {
    long t = System.nanoTime();
    int d = index.dimension();
    VectorSearch searched = plan.refines() ? new RerankedSearch(index, Sq8Vectors.map(dir.resolve(Sq8Vectors.FILE), d),
        plan.metric(), plan.kFactor()) : index;
    IndexEvaluator.Tuning tuning = nq == 0 ? null
        : evaluate(searched, plan, model, new IndexEvaluator(sample.queries, nq, d, truth), index.ntotal() + nq);
    Map<String, Object> outcome = tuning == null ? null : outcome(tuning, plan);
    if (outcome != null && options.requireTarget() && !(boolean) outcome.get("target_met")) {
      throw new IndexBuildException("index.require-target=true and the target was missed: " + outcome
          + "; nothing is published");
    }
    timings.put("evaluate_s", seconds(t));
    if (nq > 0) {
      new HeldOutQueries(sample.queryImageIds, sample.queryIds, truth.allIds(), sample.queries, d)
          .write(dir.resolve(HeldOutQueries.FILE));
    }
    t = System.nanoTime();
    // the tuned setting goes into the files: stock FAISS readers search as tuned
    index.complete(sample.queries, sample.queryIds, nq, tuning == null ? null : tuning.chosen().params(), dir);
    timings.put("write_s", seconds(t));
    timings.put("total_s", seconds(start));
    return tuning;
  }

  private static VectorSource.Stats validated(VectorSource.Stats stats) {
    if (stats.count() == 0) {
      throw new IndexBuildException("the embeddings input is empty: nothing to index");
    }
    if (stats.dimensions().size() != 1) {
      throw new IndexBuildException("embeddings have mixed dimensions " + stats.dimensions()
          + "; an index holds one dimension: filter the input to one model");
    }
    if (stats.modelIds().size() != 1) {
      throw new IndexBuildException("embeddings come from several models " + stats.modelIds()
          + "; vectors of different models are not comparable: build one index per model");
    }
    return stats;
  }

  private IndexEvaluator.Tuning evaluate(VectorSearch index, IndexPlan plan, LatencyModel model,
      IndexEvaluator evaluator, long n) {
    if (!plan.isTuned()) {
      IndexEvaluator.Metrics fixed = evaluator.measure(index, fixedParams(plan, n));
      return new IndexEvaluator.Tuning(fixed, IndexEvaluator.reaches(fixed, options.targetRecall()) ? fixed : null);
    }
    IndexEvaluator.Tuning tuning = evaluator.tune(index, IndexEvaluator.settings(plan, maxCodesPerProbe(plan, n)),
        plan.pqM(), model, options.latencyHeadroom() * options.targetLatencyMs(), options.targetRecall(),
        kFactors(plan));
    IndexEvaluator.Metrics tuned = tuning.chosen();
    String kFactor = plan.refines() ? ", k_factor=" + tuned.params().kFactor() : "";
    progress.accept("tuned " + setting(plan, tuned.params()) + kFactor + " for R@10 >= " + options.targetRecall()
        + " within p99 <= " + IndexEvaluator.round4(options.latencyHeadroom() * options.targetLatencyMs())
        + " ms (the target less its headroom): R@10 " + IndexEvaluator.round4(tuned.recallAt10())
        + ", p99 " + IndexEvaluator.round4(tuned.p99Ms()) + " ms measured, "
        + IndexEvaluator.round4(tuned.predictedP99Ms()) + " ms predicted");
    return tuning;
  }

  /**
   * The candidates per result a re-ranked plan's tuning tries: its own, then twice as many while the target is missed
   * (up to {@value IndexPlanner#MAX_REFINE_K_FACTOR}); {0} (no refine stage) otherwise.
   */
  private static List<Integer> kFactors(IndexPlan plan) {
    List<Integer> factors = new ArrayList<>();
    for (int f = plan.kFactor(); f > 0 && f <= IndexPlanner.MAX_REFINE_K_FACTOR; f *= 2) {
      factors.add(f);
    }
    return factors.isEmpty() ? List.of(0) : factors;
  }

  /**
   * Whether the build met its targets, said plainly: the recall reached within the latency target, and what the
   * recall target would take (its nprobe, or a graph's efSearch, and p99), so a missed target is visible in the
   * summary and manifest.
   */
  private Map<String, Object> outcome(IndexEvaluator.Tuning tuning, IndexPlan plan) {
    IndexEvaluator.Metrics chosen = tuning.chosen();
    IndexEvaluator.Metrics reaching = tuning.reachingRecallTarget();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("target_met", IndexEvaluator.reaches(chosen, options.targetRecall())
        && chosen.p99Ms() <= options.targetLatencyMs());
    out.put("target_recall_at_10", options.targetRecall());
    out.put("target_latency_p99_ms", options.targetLatencyMs());
    out.put("recall_at_10", IndexEvaluator.round4(chosen.recallAt10()));
    out.put("latency_p99_ms", IndexEvaluator.round4(chosen.p99Ms()));
    out.put(CandidateSelector.setting(plan) + "_for_recall_target", reaching == null ? null
        : plan.isGraph() ? reaching.params().efSearch() : reaching.params().nprobe());
    if (reaching != null && reaching.params().kFactor() > 0) {
      out.put("k_factor_for_recall_target", reaching.params().kFactor());
    }
    out.put("latency_p99_ms_for_recall_target", reaching == null ? null : IndexEvaluator.round4(reaching.p99Ms()));
    return out;
  }

  /** Search parameters when nprobe is not tuned: the given nprobe (or 1) with its codes cap. */
  private SearchParams fixedParams(IndexPlan plan, long n) {
    if (!plan.isIvf()) {
      return SearchParams.DEFAULT;
    }
    int nprobe = Math.max(1, Math.min(plan.nprobe(), plan.nlist()));
    return IndexEvaluator.params(nprobe, maxCodesPerProbe(plan, n), plan.hasHnswQuantizer());
  }

  private long maxCodesPerProbe(IndexPlan plan, long n) {
    return plan.isIvf() ? (long) Math.ceil(options.maxCodesFactor() * n / plan.nlist()) : 0;
  }

  /** The tuned setting as progress lines say it: {@code nprobe=12}, or a graph's {@code ef_search=64}. */
  private static String setting(IndexPlan plan, SearchParams params) {
    return CandidateSelector.setting(plan) + "=" + (plan.isGraph() ? params.efSearch() : params.nprobe());
  }

  static double seconds(long startNanos) {
    return IndexEvaluator.round4((System.nanoTime() - startNanos) / 1e9);
  }
}

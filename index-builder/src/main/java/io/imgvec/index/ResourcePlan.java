package io.imgvec.index;

import io.imgvec.faiss.FaissIndex;
import java.lang.management.ManagementFactory;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Memory and time before the build. Memory: the index's size (for a measured choice, its largest candidate that fits;
 * candidates that do not fit are not measured), the shards it needs so that one fits what a shard may take
 * ({@code index.max-shard-bytes}; by default half of this machine's physical memory beyond the JVM heap: the driver
 * holds one shard at a time while merging, a local build all of them), and what each executor task holds. A build
 * that cannot fit is refused before anything is read, with the plan and settings that would fit. Time: after
 * training, the add time expected from a measured per-vector cost (one thread) over the cores that add.
 */
final class ResourcePlan {
  /** Vectors timed to measure the add cost. */
  static final int TIMED_ADDS = 20_000;

  private final long count;
  private final int d;
  private final long indexBytes;
  private final int shards;
  private final long shardLimit;
  private final IndexBuilder.DistributedAdd distributed;
  private final int queries;
  private final int trainSize;
  private final IndexPlan candidate;
  /** The candidates whose index fits, when this is the plan for the largest of them. */
  private final List<IndexPlan> candidates;

  private ResourcePlan(long count, int d, long indexBytes, long shardLimit, IndexBuilder.Options options,
      IndexBuilder.DistributedAdd distributed, IndexPlan candidate, List<IndexPlan> candidates) {
    this.count = count;
    this.d = d;
    this.indexBytes = indexBytes;
    this.shardLimit = shardLimit;
    this.distributed = distributed;
    this.queries = (int) Math.min(options.evalQueries(), count / 10);
    // one sample for every candidate; held-out queries stay out of training
    this.trainSize = (int) Math.min(candidates.stream().mapToInt(IndexPlan::trainSize).max().orElseThrow(),
        count - queries);
    this.candidate = candidate;
    this.candidates = candidates;
    this.shards = options.shards() > 0 ? options.shards() : distributed != null ? shardsToFit() : 1;
  }

  static ResourcePlan check(List<IndexPlan> candidates, long count, int d, IndexBuilder.Options options,
      IndexBuilder.DistributedAdd distributed) {
    long limit = options.maxShardBytes() > 0 ? options.maxShardBytes() : defaultShardLimit();
    List<ResourcePlan> plans = candidates.stream().map(p -> new ResourcePlan(count, d,
        IndexPlanner.estimatedBytes(p, count, d), limit, options, distributed, p, List.of(p))).toList();
    List<ResourcePlan> fitting = plans.stream().filter(ResourcePlan::fits).toList();
    if (fitting.isEmpty()) {
      ResourcePlan smallest = plans.stream().min(Comparator.comparingLong(r -> r.indexBytes)).orElseThrow();
      int shards = smallest.shardsToFit();
      String fix = distributed != null ? "set index.shards=" + shards + " or more"
          : "build with --distributed" + (shards > 1 ? " and index.shards=" + shards : "");
      throw new IndexBuildException("the index does not fit: " + smallest.describe() + "; " + fix
          + ", or lower index.memory-budget for smaller codes");
    }
    ResourcePlan largest = fitting.stream().max(Comparator.comparingLong(r -> r.indexBytes)).orElseThrow();
    return new ResourcePlan(count, d, largest.indexBytes, limit, options, distributed, largest.candidate,
        fitting.stream().map(r -> r.candidate).toList());
  }

  /** The candidates whose index fits (those that do not are not measured). */
  List<IndexPlan> candidates() {
    return candidates;
  }

  private int shardsToFit() {
    return (int) Math.max(1, (indexBytes + shardLimit - 1) / shardLimit);
  }

  /** Whether the build can hold it: a distributed build one shard at a time, a local build every shard at once. */
  private boolean fits() {
    return (distributed != null ? shardBytes() : indexBytes) <= shardLimit;
  }

  /** Half of the physical memory beyond the heap: FAISS indexes live in native memory. */
  private static long defaultShardLimit() {
    long physical = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getTotalMemorySize();
    return Math.max(1L << 20, (physical - Runtime.getRuntime().maxMemory()) / 2);
  }

  int shards() {
    return shards;
  }

  /** The held-out queries measured. */
  int queries() {
    return queries;
  }

  /** The training vectors sampled (the most any candidate trains on). */
  int trainSize() {
    return trainSize;
  }

  /**
   * The driver's JVM heap the sample takes at its peak: it arrives as one part, is held row by row, and is then laid
   * out for training: three copies of up to trainSize + 2 queries rows (the training candidates keep a spare for each
   * row that turns out to be a query).
   */
  private long sampleHeapBytes() {
    return 3L * (trainSize + 2L * queries) * d * Float.BYTES;
  }

  /** Whether every shard fits in memory at once (else a distributed build maps them). */
  boolean fitsTogether() {
    return indexBytes <= shardLimit;
  }

  private long shardBytes() {
    return (indexBytes + shards - 1) / shards;
  }

  String describe() {
    StringBuilder sb = new StringBuilder("plan: index of " + count + " x " + d + " about " + mb(indexBytes) + " MB in "
        + shards + " shard(s) of " + mb(shardBytes()) + " MB, at most " + mb(shardLimit) + " MB per shard");
    if (distributed != null) {
      sb.append("; each of ").append(distributed.parallelism()).append(" executor task slots holds a trained copy (")
          .append(mb(IndexPlanner.estimatedBytes(candidate, 0, d))).append(" MB) and the codes of its partition")
          .append(" (largest ").append(distributed.largestPartitionRows()).append(" vectors, about ")
          .append(mb(distributed.largestPartitionRows() * bytesPerVector())).append(" MB) in native memory: give")
          .append(" executors spark.executor.memoryOverhead of at least ").append(mb(taskNativeBytes()))
          .append(" MB per core beside Spark's 384 MB; the driver merges one shard at a time")
          .append(fitsTogether() ? " and then holds them all" : " and then maps them from files");
    } else {
      sb.append("; the driver holds the whole index");
    }
    return sb.append("; the driver's heap holds the sample of ").append(trainSize).append(" + ").append(queries)
        .append(" vectors: give it (--driver-memory) at least ").append(mb(sampleHeapBytes()))
        .append(" MB beside Spark's own").toString();
  }

  /** What one executor task holds off the JVM heap while adding: a trained copy and its partition's codes and ids. */
  private long taskNativeBytes() {
    return IndexPlanner.estimatedBytes(candidate, 0, d) + Math.round(distributed.largestPartitionRows()
        * bytesPerVector());
  }

  private double bytesPerVector() {
    return (double) indexBytes / Math.max(1, count);
  }

  /**
   * Times adding up to {@value #TIMED_ADDS} sample vectors to a copy of {@code trained} on one thread, and expects
   * the add of every vector over the cores that will add (the executors', or this machine's).
   */
  Map<String, Object> expectedAdd(FaissIndex trained, float[] sample, int sampleSize, Consumer<String> progress) {
    int timed = Math.min(sampleSize, TIMED_ADDS);
    Map<String, Object> expected = new LinkedHashMap<>();
    if (timed == 0) {
      return expected;
    }
    long[] ids = CandidateSelector.sequentialIds(timed);
    double perVector;
    try (FaissIndex copy = FaissIndex.fromBytes(trained.toBytes())) {
      perVector = FaissIndex.onOneThread(() -> {
        long t = System.nanoTime();
        copy.add(sample, ids, timed);
        return (System.nanoTime() - t) / 1e9 / timed;
      });
    }
    int cores = distributed != null ? distributed.parallelism() : Runtime.getRuntime().availableProcessors();
    expected.put("add_us_per_vector_one_thread", IndexEvaluator.round4(perVector * 1e6));
    expected.put("adding_cores", cores);
    expected.put("expected_add_s", IndexEvaluator.round4(perVector * count / cores));
    progress.accept("expected add: " + expected.get("expected_add_s") + " s (" + expected.get(
        "add_us_per_vector_one_thread") + " us per vector on one thread, " + cores + " cores)");
    return expected;
  }

  /** The plan in the manifest, beside what was expected. */
  void record(Map<String, Object> manifest, Map<String, Object> expected) {
    Map<String, Object> plan = new LinkedHashMap<>();
    plan.put("estimated_index_bytes", indexBytes);
    plan.put("shards", shards);
    plan.put("max_shard_bytes", shardLimit);
    plan.put("distributed", distributed != null);
    plan.put("driver_sample_heap_bytes", sampleHeapBytes());
    if (distributed != null) {
      plan.put("executor_task_native_bytes", taskNativeBytes());
    }
    plan.putAll(expected);
    manifest.put("resource_plan", plan);
  }

  private static double mb(double bytes) {
    return Math.round(bytes / (1 << 20) * 10) / 10.0;
  }
}

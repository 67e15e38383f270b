package io.imgvec.jobs.index;

import io.imgvec.faiss.FaissIndex;
import io.imgvec.faiss.SearchResult;
import io.imgvec.index.ExactNeighbours;
import io.imgvec.index.IndexBuildException;
import io.imgvec.index.IndexBuilder;
import io.imgvec.index.Sample;
import io.imgvec.io.LocalFiles;
import io.imgvec.published.ContentDigests;
import io.imgvec.published.IdMap;
import io.imgvec.published.ShardedIndex;
import io.imgvec.util.Numbers;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.SerializableConfiguration;

/**
 * {@code build-index --distributed}: the vectors are sampled and added on the executors. Ids are scan positions, so
 * partition p's ids start after the rows of the partitions before it, exactly as a build on the driver numbers them;
 * a first job counts each partition's rows, a second draws the sample ({@link #sample}). Then each task loads the
 * broadcast trained index, adds its partition's vectors (held-out queries aside) on one thread, finds its partial
 * exact neighbours of the held-out queries, and writes its index's entries (an IVF index's codes and ids, not the
 * trained quantizer every task shares), id map and digests under {@code <output>/_staging/}. The driver merges the
 * entries into shards of consecutive partitions, one shard at a time (codes and ids move, the raw vectors never reach
 * the driver), and concatenates the id maps and digests (gzip members concatenate).
 */
public final class SparkDistributedAdd implements IndexBuilder.DistributedAdd {
  private final SparkSession spark;
  private final SparkVectorSource source;
  private final String stagingRoot;
  private final Configuration hadoopConf;
  private final Consumer<String> progress;
  private long[] counts;

  SparkDistributedAdd(SparkSession spark, SparkVectorSource source, String outputUri, Configuration hadoopConf,
      Consumer<String> progress) {
    this.spark = spark;
    this.source = source;
    this.stagingRoot = new org.apache.hadoop.fs.Path(outputUri, "_staging").toString();
    this.hadoopConf = hadoopConf;
    this.progress = progress;
  }

  /** At least two partitions per task slot (so that a slow one does not hold the others), and per shard. */
  @Override
  public void prepare(int shards) {
    source.requirePartitions(Math.max(shards, 2 * parallelism()));
  }

  /**
   * Executor cores: executors registered (the driver is listed among them) times their cores; in local mode, or
   * before any executor has registered, Spark's default parallelism.
   */
  @Override
  public int parallelism() {
    int executors = spark.sparkContext().getExecutorMemoryStatus().size() - 1;
    int cores = spark.sparkContext().getConf().getInt("spark.executor.cores", 1);
    return executors > 0 ? executors * cores
        : JavaSparkContext.fromSparkContext(spark.sparkContext()).defaultParallelism();
  }

  @Override
  public long largestPartitionRows() {
    return Arrays.stream(counts()).max().orElse(0);
  }

  /** Rows per partition of the scan, counted once. */
  private long[] counts() {
    if (counts == null) {
      try {
        List<long[]> perPartition = source.scannedRows().javaRDD().mapPartitionsWithIndex(
            (Function2<Integer, Iterator<Row>, Iterator<long[]>>) (p, rows) -> {
              long n = 0;
              for (; rows.hasNext(); rows.next()) {
                n++;
              }
              return List.of(new long[] {p, n}).iterator();
            }, true).collect();
        counts = new long[perPartition.size()];
        perPartition.forEach(c -> counts[(int) c[0]] = c[1]);
      } catch (IOException e) {
        throw new IndexBuildException("cannot read the embeddings: " + e.getMessage());
      }
    }
    return counts;
  }

  /**
   * Each partition samples its rows (positions from the partition offsets, as {@link #addAll} numbers them), holding
   * only rows that hash where the sample of all rows is expected (so it sends about its share of the sample), and
   * the parts merge pairwise on the executors ({@code treeReduce}, deep enough that about 4 reach a node at each
   * level), so the driver receives one part: the sample. Should that bound have cut a row the sample needs (8
   * standard deviations: it will not), the partitions are sampled again without it.
   */
  @Override
  public Sample.Part sample(int trainSize, int nq) {
    long[] rows = counts();
    long total = Arrays.stream(rows).sum();
    progress.accept("sampling on the executors: " + rows.length + " partitions");
    long[] offsets = offsets(rows);
    Sample.Part part = sampleOnExecutors(offsets, trainSize, nq, total);
    if (!part.complete(trainSize, nq)) {
      progress.accept("the sample's hash bound left too few rows; sampling again without it");
      part = sampleOnExecutors(offsets, trainSize, nq, 0);
    }
    return part;
  }

  private Sample.Part sampleOnExecutors(long[] offsets, int trainSize, int nq, long totalRows) {
    int depth = Math.max(2, (int) Math.ceil(Math.log(offsets.length) / Math.log(4)));
    try {
      return source.scannedRows().javaRDD().mapPartitionsWithIndex(
          (Function2<Integer, Iterator<Row>, Iterator<Sample.Part>>) (p, rows) -> List.of(
              samplePartition(rows, offsets[p], new Sample(trainSize, nq, totalRows))).iterator(), true)
          .treeReduce((a, b) -> Sample.merge(a, b, trainSize, nq), depth);
    } catch (IOException e) {
      throw new IndexBuildException("cannot read the embeddings: " + e.getMessage());
    }
  }

  private static Sample.Part samplePartition(Iterator<Row> rows, long firstId, Sample sample) {
    float[] vector = null;
    for (long id = firstId; rows.hasNext(); id++) {
      Row row = rows.next();
      List<Float> v = row.getList(2);
      vector = vector == null ? new float[v.size()] : vector; // stats() checked every vector has one dimension
      for (int i = 0; i < vector.length; i++) {
        Float x = v.get(i);
        vector[i] = x == null ? Float.NaN : x;
      }
      sample.offer(row.getString(0), id, vector, 0, vector.length);
    }
    return sample.part(vector == null ? 0 : vector.length);
  }

  private static long[] offsets(long[] rows) {
    long[] offsets = new long[rows.length];
    for (int p = 1; p < rows.length; p++) {
      offsets[p] = offsets[p - 1] + rows[p - 1];
    }
    return offsets;
  }

  @Override
  public ShardedIndex addAll(FaissIndex trained, long[] heldOutIds, ExactNeighbours truth, int shards,
      boolean mapShards, Path dir, Map<String, Object> timings) throws IOException {
    long[] rows = counts();
    long[] offsets = offsets(rows);
    String staging = stagingRoot + "/" + UUID.randomUUID();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Broadcast<AddTask> task = jsc.broadcast(new AddTask(trained.toBytes(), offsets, heldOutIds, truth.fresh(),
        staging, new SerializableConfiguration(hadoopConf)));
    FileSystem fs = new org.apache.hadoop.fs.Path(staging).getFileSystem(hadoopConf);
    try {
      long t = System.nanoTime();
      progress.accept("adding on the executors: " + rows.length + " partitions");
      List<PartAdded> added = source.scannedRows().javaRDD().mapPartitionsWithIndex(
          (Function2<Integer, Iterator<Row>, Iterator<PartAdded>>) (p, it) -> List.of(task.value().add(p, it))
              .iterator(), true).collect();
      timings.put("executor_add_s", Numbers.round((System.nanoTime() - t) / 1e9, 4));
      for (PartAdded part : added) {
        if (part.rows() != rows[part.partition()]) {
          throw new IndexBuildException("the input changed while building: partition " + part.partition()
              + " had " + rows[part.partition()] + " rows, then " + part.rows());
        }
        truth.merge(part.truth());
      }
      t = System.nanoTime();
      ShardedIndex merged = merge(trained, fs, staging, offsets, shards, mapShards, dir.resolve("merging"));
      timings.put("merge_s", Numbers.round((System.nanoTime() - t) / 1e9, 4));
      concatenate(fs, staging, "ids", rows.length, dir.resolve(IdMap.FILE));
      concatenate(fs, staging, "digests", rows.length, dir.resolve(ContentDigests.FILE));
      return merged;
    } finally {
      task.destroy();
      fs.delete(new org.apache.hadoop.fs.Path(staging), true);
      org.apache.hadoop.fs.Path root = new org.apache.hadoop.fs.Path(stagingRoot);
      if (fs.exists(root) && fs.listStatus(root).length == 0) { // other builds may be staging there too
        fs.delete(root, false);
      }
    }
  }

  /**
   * Shard s takes consecutive partitions holding about count/shards vectors; each shard is merged from its partial
   * indexes and written before the next starts; then all are read back, memory-mapped if they would not fit.
   */
  private ShardedIndex merge(FaissIndex trained, FileSystem fs, String staging, long[] offsets, int shards,
      boolean mapShards, Path work) throws IOException {
    Files.createDirectories(work);
    long total = offsets[offsets.length - 1] + counts[counts.length - 1];
    int[] shardOf = new int[offsets.length];
    List<Long> firstIds = new ArrayList<>(List.of(0L));
    for (int p = 0; p < offsets.length; p++) {
      int s = (int) Math.min(shards - 1, offsets[p] * shards / Math.max(1, total));
      if (p > 0 && s > shardOf[p - 1]) {
        firstIds.add(offsets[p]);
      }
      shardOf[p] = firstIds.size() - 1;
    }
    List<Path> files = new ArrayList<>();
    byte[] empty = trained.toBytes();
    for (int s = 0; s < firstIds.size(); s++) {
      Path file = work.resolve("shard-" + s + ".faiss");
      try (FaissIndex shard = FaissIndex.fromBytes(empty)) {
        for (int p = 0; p < offsets.length; p++) {
          if (shardOf[p] == s) {
            mergePart(shard, fs, staging, p, work);
          }
        }
        shard.write(file);
      }
      files.add(file);
      progress.accept("merged shard " + (s + 1) + "/" + firstIds.size());
    }
    return ShardedIndex.fromFiles(files, firstIds.stream().mapToLong(Long::longValue).toArray(), mapShards);
  }

  private static void mergePart(FaissIndex shard, FileSystem fs, String staging, int partition, Path work)
      throws IOException {
    Path local = work.resolve("part-entries.bin");
    fs.copyToLocalFile(false, new org.apache.hadoop.fs.Path(staging, partFile("entries", partition, "bin")),
        new org.apache.hadoop.fs.Path(local.toUri()), true);
    try {
      shard.mergeEntries(local);
    } finally {
      Files.deleteIfExists(local);
    }
  }

  private static void concatenate(FileSystem fs, String staging, String kind, int partitions, Path target)
      throws IOException {
    try (OutputStream out = Files.newOutputStream(target)) {
      for (int p = 0; p < partitions; p++) {
        try (InputStream in = fs.open(new org.apache.hadoop.fs.Path(staging, partFile(kind, p, "tsv.gz")))) {
          in.transferTo(out);
        }
      }
    }
  }

  static String partFile(String kind, int partition, String extension) {
    return String.format("%s-%05d.%s", kind, partition, extension);
  }

  /** What a task hands back: its rows and its partial exact neighbours. */
  record PartAdded(int partition, long rows, SearchResult truth) implements Serializable {}

  /** Everything a task needs, broadcast once. */
  record AddTask(byte[] trained, long[] offsets, long[] heldOutIds, ExactNeighbours truth, String staging,
      SerializableConfiguration conf) implements Serializable {
    static final int BATCH = 4096;

    PartAdded add(int partition, Iterator<Row> rows) throws IOException {
      Path local = Files.createTempDirectory("imgvec-add-");
      FaissIndex.setThreads(1); // a task slot is one core
      try (FaissIndex index = FaissIndex.fromBytes(trained)) {
        ExactNeighbours partial = truth.fresh();
        long n = addRows(partition, rows, index, partial, local);
        index.writeEntries(local.resolve("entries.bin"));
        FileSystem fs = new org.apache.hadoop.fs.Path(staging).getFileSystem(conf.value());
        upload(fs, local.resolve("entries.bin"), partFile("entries", partition, "bin"));
        upload(fs, local.resolve(IdMap.FILE), partFile("ids", partition, "tsv.gz"));
        upload(fs, local.resolve(ContentDigests.FILE), partFile("digests", partition, "tsv.gz"));
        return new PartAdded(partition, n, partial.partial());
      } finally {
        LocalFiles.deleteRecursively(local);
      }
    }

    private long addRows(int partition, Iterator<Row> rows, FaissIndex index, ExactNeighbours partial, Path local)
        throws IOException {
      long id = offsets[partition];
      int d = index.dimension();
      float[] vectors = new float[BATCH * d];
      long[] ids = new long[BATCH];
      int m = 0;
      try (IdMap.Writer idMap = new IdMap.Writer(local.resolve(IdMap.FILE));
          ContentDigests.Writer digests = new ContentDigests.Writer(local.resolve(ContentDigests.FILE))) {
        for (; rows.hasNext(); id++) {
          Row row = rows.next();
          String[] metadata = new String[row.size() - 4];
          for (int c = 0; c < metadata.length; c++) {
            metadata[c] = row.getString(4 + c);
          }
          idMap.write(id, row.getString(0), row.getString(1), metadata);
          digests.write(id, row.getString(3), row.getString(0));
          if (Arrays.binarySearch(heldOutIds, id) >= 0) {
            continue;
          }
          List<Float> v = row.getList(2);
          for (int i = 0; i < d; i++) {
            vectors[m * d + i] = v.get(i);
          }
          ids[m++] = id;
          if (m == BATCH) {
            addBatch(index, partial, vectors, ids, m);
            m = 0;
          }
        }
      }
      addBatch(index, partial, vectors, ids, m);
      return id - offsets[partition];
    }

    private static void addBatch(FaissIndex index, ExactNeighbours partial, float[] vectors, long[] ids, int m) {
      if (m > 0) {
        index.add(vectors, ids, m);
        partial.addBase(vectors, ids, m);
      }
    }

    private void upload(FileSystem fs, Path file, String name) throws IOException {
      fs.copyFromLocalFile(true, true, new org.apache.hadoop.fs.Path(file.toUri()),
          new org.apache.hadoop.fs.Path(staging, name));
    }
  }
}

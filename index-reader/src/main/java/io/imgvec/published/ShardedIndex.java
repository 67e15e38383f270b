package io.imgvec.published;

import io.imgvec.faiss.FaissIndex;
import io.imgvec.faiss.IdBitmap;
import io.imgvec.faiss.Metric;
import io.imgvec.faiss.SearchParams;
import io.imgvec.faiss.SearchResult;
import io.imgvec.faiss.SearchWork;
import io.imgvec.faiss.VectorSearch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BinaryOperator;
import java.util.stream.IntStream;

/**
 * One index made of shards split by id range, for what one machine's memory cannot hold as one FAISS index: a build
 * gives shard s the ids from {@code firstIds[s]} up to the next shard's first id, and each update gives the ids it
 * adds (a range above every earlier id) to the smallest shard ({@link #idRanges}). Every shard is a copy of the same
 * trained index, so a search probes the same lists in each (an IVF index's coarse quantizer is searched once, on
 * the first shard, for all of them); searching them all and merging their top k (fan-out) answers as the unsharded
 * index would. Each shard is a stock FAISS file. One shard is simply the index.
 *
 * <p>Shards are built in memory, or read from files ({@link #fromFiles}): a distributed build merges one shard at a
 * time into a file and maps them when together they would not fit in memory.
 *
 * <p>Shards are searched one after another on the caller's thread (as the builder times them), or at once
 * ({@link #searchShardsInParallel}) where queries are served.
 */
public final class ShardedIndex implements VectorSearch, AutoCloseable {
  private final List<FaissIndex> shards;
  /** Ids from {@code rangeStarts[r]} up to the next range's start are in shard {@code rangeShards[r]}. */
  private long[] rangeStarts;
  private int[] rangeShards;
  private final Metric metric;
  private final boolean ivf;
  private final List<Path> readFrom; // null: built in memory
  private final boolean mapped;
  /** Null: shards searched one after another. */
  private ExecutorService shardSearch;

  /** Takes ownership of {@code shards} (closed with this). */
  public ShardedIndex(List<FaissIndex> shards, long[] firstIds) {
    this(shards, firstIds, null, false);
  }

  private ShardedIndex(List<FaissIndex> shards, long[] firstIds, List<Path> readFrom, boolean mapped) {
    if (shards.isEmpty() || shards.size() != firstIds.length || firstIds[0] != 0) {
      throw new IllegalArgumentException("shards and their first ids must match, the first starting at 0");
    }
    this.shards = new ArrayList<>(shards);
    this.rangeStarts = firstIds.clone();
    this.rangeShards = IntStream.range(0, shards.size()).toArray();
    this.metric = shards.get(0).metric();
    this.ivf = shards.get(0).listSizes().length > 0;
    this.readFrom = readFrom == null ? null : new ArrayList<>(readFrom);
    this.mapped = mapped;
  }

  /**
   * Shards read from {@code files} (in id order), which this index owns: {@link #complete} replaces them with the
   * completed files and deletes them. {@code mmap}: map them (see {@link FaissIndex#read(Path, boolean)}) rather
   * than load them, for shards that do not fit in memory together.
   */
  public static ShardedIndex fromFiles(List<Path> files, long[] firstIds, boolean mmap) {
    ShardedIndex read = read(files, firstIds, mmap);
    return new ShardedIndex(read.shards, firstIds, files, mmap);
  }

  /** {@code shards} empty copies of {@code trained} for ids 0 to {@code idBound} - 1, split into equal ranges. */
  public static ShardedIndex copies(FaissIndex trained, int shards, long idBound) {
    long[] firstIds = new long[shards];
    long step = (idBound + shards - 1) / shards;
    for (int s = 0; s < shards; s++) {
      firstIds[s] = s * step;
    }
    return copies(trained, firstIds);
  }

  /** Empty copies of {@code trained}, one per shard starting at each of {@code firstIds}. */
  public static ShardedIndex copies(FaissIndex trained, long[] firstIds) {
    byte[] bytes = trained.toBytes();
    List<FaissIndex> shards = new ArrayList<>();
    try {
      for (int s = 0; s < firstIds.length; s++) {
        shards.add(FaissIndex.fromBytes(bytes));
      }
      return new ShardedIndex(shards, firstIds);
    } catch (RuntimeException e) {
      shards.forEach(FaissIndex::close);
      throw e;
    }
  }

  /**
   * Reads the index files of a version fetched into {@code dir} (see {@link IndexFetcher#fetch}, which checked its
   * id ranges).
   */
  public static ShardedIndex readVersion(Map<String, Object> manifest, Path dir, boolean mmap) {
    ShardedIndex index = read(IndexLayout.indexFiles(manifest).stream().map(dir::resolve).toList(),
        IndexLayout.firstIds(manifest), mmap);
    long[][] ranges = IndexLayout.idRanges(manifest);
    index.rangeStarts = Arrays.stream(ranges).mapToLong(r -> r[0]).toArray();
    index.rangeShards = Arrays.stream(ranges).mapToInt(r -> (int) r[1]).toArray();
    return index;
  }

  /** Reads shard files (in id order) as written by {@link #write}. */
  public static ShardedIndex read(List<Path> files, long[] firstIds, boolean mmap) {
    List<FaissIndex> read = new ArrayList<>();
    try {
      for (Path file : files) {
        read.add(FaissIndex.read(file, mmap));
      }
      return new ShardedIndex(read, firstIds);
    } catch (RuntimeException e) {
      read.forEach(FaissIndex::close); // native indexes are not garbage-collected
      throw e;
    }
  }

  /** File names of the shards: index.faiss for one, index-00000.faiss, index-00001.faiss, ... for several. */
  public static List<String> fileNames(int shards) {
    if (shards == 1) {
      return List.of(IndexLayout.INDEX_FILE);
    }
    List<String> names = new ArrayList<>();
    for (int s = 0; s < shards; s++) {
      names.add(String.format("index-%05d.faiss", s));
    }
    return names;
  }

  public int shardCount() {
    return shards.size();
  }

  /** The first id of each shard's first range. */
  public long[] firstIds() {
    long[] first = new long[shards.size()];
    for (int r = rangeStarts.length - 1; r >= 0; r--) {
      first[rangeShards[r]] = rangeStarts[r];
    }
    return first;
  }

  /** Pairs of (first id, shard), ascending: the shard holding each id (see {@link IndexLayout#idRanges}). */
  public long[][] idRanges() {
    long[][] ranges = new long[rangeStarts.length][];
    for (int r = 0; r < ranges.length; r++) {
      ranges[r] = new long[] {rangeStarts[r], rangeShards[r]};
    }
    return ranges;
  }

  /**
   * Ids from {@code firstNewId} on (above every id so far) go to the shard holding the fewest vectors now, so
   * updates keep the shards near the same size rather than growing the last one.
   */
  public void addNewIdsToTheSmallestShard(long firstNewId) {
    int last = rangeStarts.length - 1;
    if (firstNewId < rangeStarts[last]) {
      throw new IllegalArgumentException("new ids must start at or above the last range's first id");
    }
    int smallest = 0;
    for (int s = 1; s < shards.size(); s++) {
      if (shards.get(s).ntotal() < shards.get(smallest).ntotal()) {
        smallest = s;
      }
    }
    if (smallest == rangeShards[last]) {
      return; // the last range already goes there
    }
    if (firstNewId == rangeStarts[last]) {
      rangeShards[last] = smallest; // that range holds no ids yet
      return;
    }
    rangeStarts = Arrays.copyOf(rangeStarts, rangeStarts.length + 1);
    rangeShards = Arrays.copyOf(rangeShards, rangeShards.length + 1);
    rangeStarts[rangeStarts.length - 1] = firstNewId;
    rangeShards[rangeShards.length - 1] = smallest;
  }

  /**
   * From now on searches every shard at once: the caller's thread searches the first, up to {@code threads} - 1
   * threads of this index's own (one OpenMP thread each) the others, so a query waits for its slowest shard rather
   * than for the sum of them. The threads end with {@link #close}. Call before sharing this index between threads.
   */
  public ShardedIndex searchShardsInParallel(int threads) {
    int helpers = Math.min(threads, shards.size()) - 1;
    if (helpers > 0 && shardSearch == null) {
      AtomicInteger started = new AtomicInteger();
      shardSearch = Executors.newFixedThreadPool(helpers, task -> {
        Thread thread = new Thread(() -> {
          FaissIndex.setThreads(1); // libgomp's setting is per thread
          task.run();
        }, "shard-search-" + started.incrementAndGet());
        thread.setDaemon(true);
        return thread;
      });
    }
    return this;
  }

  @Override
  public SearchResult search(float[] queries, int n, int k, SearchParams params) {
    return search(queries, n, k, params, null);
  }

  @Override
  public SearchResult search(float[] queries, int n, int k, SearchParams params, IdBitmap allowed) {
    if (shards.size() == 1) {
      return shards.get(0).search(queries, n, k, params, allowed);
    }
    FaissIndex.Probes probes = sharesProbes(params) ? shards.get(0).probe(queries, n, params) : null;
    List<CompletableFuture<SearchResult>> others = new ArrayList<>();
    if (shardSearch != null) {
      for (FaissIndex shard : shards.subList(1, shards.size())) {
        others.add(CompletableFuture.supplyAsync(() -> shard.search(queries, n, k, params, allowed, probes),
            shardSearch));
      }
    }
    TopK merged = new TopK(n, k, metric);
    for (int s = 0; s < shards.size(); s++) {
      SearchResult found = s == 0 || others.isEmpty()
          ? shards.get(s).search(queries, n, k, params, allowed, probes) : joined(others.get(s - 1));
      merged.offerAll(found, id -> id);
    }
    return merged.result();
  }

  private static SearchResult joined(CompletableFuture<SearchResult> search) {
    try {
      return search.join();
    } catch (CompletionException e) {
      throw e.getCause() instanceof RuntimeException cause ? cause : e;
    }
  }

  /** Whether one coarse quantizer search serves every shard (IVF shards, with nprobe given). */
  private boolean sharesProbes(SearchParams params) {
    return ivf && shards.size() > 1 && params.nprobe() > 0;
  }

  /**
   * Counted as if the shards were searched one after another: their scans add up, and the coarse quantizer's work
   * too unless one search serves them all.
   */
  @Override
  public SearchWork searchWork(float[] queries, int n, int k, SearchParams params) {
    BinaryOperator<SearchWork> sum = sharesProbes(params) ? SearchWork::plusScans : SearchWork::plus;
    return shards.stream().map(shard -> shard.searchWork(queries, n, k, params)).reduce(sum).orElseThrow();
  }

  /** Adds each vector to the shard whose id range holds its id. */
  public void add(float[] vectors, long[] ids, int n) {
    Part[] parts = split(vectors, ids, n);
    for (int s = 0; s < parts.length; s++) {
      if (parts[s].n() > 0) {
        shards.get(s).add(parts[s].vectors(), parts[s].ids(), parts[s].n());
      }
    }
  }

  /** Removes these ids, each from the shard its range names; returns how many were found. */
  public long removeIds(long[] ids) {
    long[][] byShard = new long[shards.size()][];
    int[] counts = new int[shards.size()];
    for (long id : ids) {
      counts[shardOf(id)]++;
    }
    for (int s = 0; s < byShard.length; s++) {
      byShard[s] = new long[counts[s]];
      counts[s] = 0;
    }
    for (long id : ids) {
      int s = shardOf(id);
      byShard[s][counts[s]++] = id;
    }
    long removed = 0;
    for (int s = 0; s < byShard.length; s++) {
      if (byShard[s].length > 0) {
        removed += shards.get(s).removeIds(byShard[s]);
      }
    }
    return removed;
  }

  /** The vectors of one shard. */
  private record Part(float[] vectors, long[] ids, int n) {}

  private Part[] split(float[] vectors, long[] ids, int n) {
    int d = dimension();
    int[] shardOf = new int[n];
    int[] counts = new int[shards.size()];
    for (int i = 0; i < n; i++) {
      shardOf[i] = shardOf(ids[i]);
      counts[shardOf[i]]++;
    }
    Part[] parts = new Part[shards.size()];
    for (int s = 0; s < parts.length; s++) {
      parts[s] = new Part(new float[counts[s] * d], new long[counts[s]], counts[s]);
    }
    int[] filled = new int[shards.size()];
    for (int i = 0; i < n; i++) {
      Part part = parts[shardOf[i]];
      int m = filled[shardOf[i]]++;
      System.arraycopy(vectors, i * d, part.vectors(), m * d, d);
      part.ids()[m] = ids[i];
    }
    return parts;
  }

  private int shardOf(long id) {
    int i = Arrays.binarySearch(rangeStarts, id);
    return rangeShards[i >= 0 ? i : -i - 2];
  }

  /** See {@link FaissIndex#enableReconstruct}. */
  public void enableReconstruct() {
    shards.forEach(FaissIndex::enableReconstruct);
  }

  public float[] reconstruct(long id) {
    return shards.get(shardOf(id)).reconstruct(id);
  }

  /** Vectors per inverted list, summed over the shards. */
  public long[] listSizes() {
    long[] sizes = shards.get(0).listSizes();
    for (int s = 1; s < shards.size(); s++) {
      long[] more = shards.get(s).listSizes();
      for (int l = 0; l < sizes.length; l++) {
        sizes[l] += more[l];
      }
    }
    return sizes;
  }

  /** Vectors in each shard. */
  public long[] shardSizes() {
    return shards.stream().mapToLong(FaissIndex::ntotal).toArray();
  }

  public long ntotal() {
    return shards.stream().mapToLong(FaissIndex::ntotal).sum();
  }

  public int dimension() {
    return shards.get(0).dimension();
  }

  public Metric metric() {
    return metric;
  }

  /** Writes the shards into {@code dir} under {@link #fileNames}; returns their bytes. */
  public long write(Path dir) throws IOException {
    List<String> names = fileNames(shards.size());
    long bytes = 0;
    for (int s = 0; s < shards.size(); s++) {
      shards.get(s).write(dir.resolve(names.get(s)));
      bytes += Files.size(dir.resolve(names.get(s)));
    }
    return bytes;
  }

  /**
   * Adds {@code n} vectors (each to the shard of its id), makes {@code defaults} (null: none) the shards' own search
   * settings and writes them into {@code dir} under {@link #fileNames}. Shards read from files are completed one at
   * a time: loaded, completed, written, read again (as before) from the new file, their old file deleted.
   */
  public void complete(float[] vectors, long[] ids, int n, SearchParams defaults, Path dir) throws IOException {
    if (readFrom == null) {
      if (n > 0) {
        add(vectors, ids, n);
      }
      if (defaults != null) {
        shards.forEach(shard -> shard.setSearchDefaults(defaults));
      }
      write(dir);
      return;
    }
    List<String> names = fileNames(shards.size());
    Part[] parts = split(vectors, ids, n);
    for (int s = 0; s < shards.size(); s++) {
      Path target = dir.resolve(names.get(s));
      shards.get(s).close(); // one shard in memory at a time
      try (FaissIndex loaded = FaissIndex.read(readFrom.get(s), false)) {
        if (parts[s].n() > 0) {
          loaded.add(parts[s].vectors(), parts[s].ids(), parts[s].n());
        }
        if (defaults != null) {
          loaded.setSearchDefaults(defaults);
        }
        loaded.write(target);
      }
      shards.set(s, FaissIndex.read(target, mapped));
      Files.delete(readFrom.get(s));
      readFrom.set(s, target);
    }
  }

  @Override
  public void close() {
    if (shardSearch != null) {
      shardSearch.shutdownNow();
    }
    shards.forEach(FaissIndex::close);
  }
}

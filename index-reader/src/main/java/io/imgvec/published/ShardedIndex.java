package io.imgvec.published;

import io.imgvec.faiss.FaissIndex;
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

/**
 * One index made of shards split by id range, for what one machine's memory cannot hold as one FAISS index: shard
 * s holds ids from {@code firstIds[s]} up to the next shard's first id. Every shard is a copy of the same trained
 * index, so a search probes the same lists in each; searching them all and merging their top k (fan-out) answers as
 * the unsharded index would. Each shard is a stock FAISS file. One shard is simply the index.
 *
 * <p>Shards are built in memory, or read from files ({@link #fromFiles}): a distributed build merges one shard at a
 * time into a file and maps them when together they would not fit in memory.
 */
public final class ShardedIndex implements VectorSearch, AutoCloseable {
  private final List<FaissIndex> shards;
  private final long[] firstIds;
  private final Metric metric;
  private final List<Path> readFrom; // null: built in memory
  private final boolean mapped;

  /** Takes ownership of {@code shards} (closed with this). */
  public ShardedIndex(List<FaissIndex> shards, long[] firstIds) {
    this(shards, firstIds, null, false);
  }

  private ShardedIndex(List<FaissIndex> shards, long[] firstIds, List<Path> readFrom, boolean mapped) {
    if (shards.isEmpty() || shards.size() != firstIds.length || firstIds[0] != 0) {
      throw new IllegalArgumentException("shards and their first ids must match, the first starting at 0");
    }
    this.shards = new ArrayList<>(shards);
    this.firstIds = firstIds.clone();
    this.metric = shards.get(0).metric();
    this.readFrom = readFrom == null ? null : new ArrayList<>(readFrom);
    this.mapped = mapped;
  }

  /**
   * Shards read from {@code files} (in id order), which this index owns: {@link #complete} replaces them with the
   * completed files and deletes them. {@code mmap}: map them (see {@link FaissIndex#read(Path, boolean)}) rather
   * than load them, for shards that do not fit in memory together; FAISS prefetches mapped lists with threads of
   * its own on every search, so mapped shards search several times slower.
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

  /** Reads the index files of a version fetched into {@code dir} (see {@link IndexFetcher#fetch}). */
  public static ShardedIndex readVersion(Map<String, Object> manifest, Path dir, boolean mmap) {
    return read(IndexLayout.indexFiles(manifest).stream().map(dir::resolve).toList(), IndexLayout.firstIds(manifest),
        mmap);
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

  public long[] firstIds() {
    return firstIds.clone();
  }

  @Override
  public SearchResult search(float[] queries, int n, int k, SearchParams params) {
    return search(queries, n, k, params, null);
  }

  @Override
  public SearchResult search(float[] queries, int n, int k, SearchParams params, long[] allowedIds) {
    if (shards.size() == 1) {
      return shards.get(0).search(queries, n, k, params, allowedIds);
    }
    TopK merged = new TopK(n, k, metric);
    for (FaissIndex shard : shards) {
      merged.offerAll(shard.search(queries, n, k, params, allowedIds), id -> id);
    }
    return merged.result();
  }

  /** The shards are searched one after another: their work adds up. */
  @Override
  public SearchWork searchWork(float[] queries, int n, int k, SearchParams params) {
    return shards.stream().map(shard -> shard.searchWork(queries, n, k, params)).reduce(SearchWork::plus)
        .orElseThrow();
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
    int i = Arrays.binarySearch(firstIds, id);
    return i >= 0 ? i : -i - 2;
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

  public long ntotal() {
    return shards.stream().mapToLong(FaissIndex::ntotal).sum();
  }

  public int dimension() {
    return shards.get(0).dimension();
  }

  public Metric metric() {
    return metric;
  }

  /**
   * Adds {@code n} vectors (each to the shard of its id), makes {@code defaults} (null: none) the shards' own search
   * settings and writes them into {@code dir} under {@link #fileNames}. Shards read from files are completed one at
   * a time: loaded, completed, written, read again (as before) from the new file, their old file deleted.
   */
  public void complete(float[] vectors, long[] ids, int n, SearchParams defaults, Path dir) throws IOException {
    List<String> names = fileNames(shards.size());
    if (readFrom == null) {
      if (n > 0) {
        add(vectors, ids, n);
      }
      for (int s = 0; s < shards.size(); s++) {
        if (defaults != null) {
          shards.get(s).setSearchDefaults(defaults);
        }
        shards.get(s).write(dir.resolve(names.get(s)));
      }
      return;
    }
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
    shards.forEach(FaissIndex::close);
  }
}

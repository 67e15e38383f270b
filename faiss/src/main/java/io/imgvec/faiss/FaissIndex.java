package io.imgvec.faiss;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;

/**
 * A FAISS index held in native memory.
 *
 * <p>Thread-safety: searches, reads of size/dimension and serialisation may run concurrently from many threads;
 * {@link #train}, {@link #add} and {@link #close} take the index exclusively and wait for running searches. Using
 * a closed index throws {@link FaissException} (never touches freed memory). Each call may itself use several
 * OpenMP threads ({@link #setThreads}).
 */
public final class FaissIndex implements VectorSearch, AutoCloseable {
  private static final AtomicLong CREATED = new AtomicLong();
  private final ReadWriteLock lock = new ReentrantReadWriteLock();
  /** Creation order: the order two indexes' locks are taken in. */
  private final long order = CREATED.incrementAndGet();
  private long handle;

  private FaissIndex(long handle) {
    this.handle = handle;
  }

  /**
   * Builds an index from a FAISS index-factory string, e.g. {@code "IDMap,Flat"}, {@code "IVF1024,Flat"},
   * {@code "OPQ64,IVF4096,PQ64np"}. Mind the {@code np} suffix on PQ: without it FAISS also trains polysemous codes,
   * which takes many minutes.
   */
  public static FaissIndex create(int dimension, String factory, Metric metric) {
    if (dimension <= 0) {
      throw new FaissException("dimension must be positive, got " + dimension);
    }
    FaissNative.ensureLoaded();
    return new FaissIndex(FaissNative.create(dimension, factory, metric.code));
  }

  public static FaissIndex read(Path file) {
    return read(file, false);
  }

  /**
   * Reads an index file; with {@code mmap} an IVF index's inverted lists (nearly all of its bytes) stay in the file,
   * mapped into memory, so the operating system pages in what searches touch and an index larger than the heap or
   * RAM can be served. Other index types load whole either way.
   */
  public static FaissIndex read(Path file, boolean mmap) {
    FaissNative.ensureLoaded();
    return new FaissIndex(FaissNative.read(file.toString(), mmap));
  }

  public static FaissIndex fromBytes(byte[] bytes) {
    FaissNative.ensureLoaded();
    return new FaissIndex(FaissNative.deserialize(bytes));
  }

  /**
   * OpenMP threads for FAISS calls made from the calling thread. libgomp keeps this setting per thread: other
   * threads keep their own (OMP_NUM_THREADS, else the core count), so set it on the thread that searches.
   */
  public static void setThreads(int threads) {
    FaissNative.ensureLoaded();
    FaissNative.setNumThreads(threads);
  }

  /** The calling thread's OpenMP thread setting (see {@link #setThreads}). */
  public static int threads() {
    FaissNative.ensureLoaded();
    return FaissNative.maxThreads();
  }

  /** Work that may throw {@code E}, for {@link #onOneThread}. */
  @FunctionalInterface
  public interface Work<T, E extends Exception> {
    T run() throws E;
  }

  /**
   * {@code work}'s result, run with FAISS on one thread on the calling thread, the setting restored after: for
   * timing one query or add at a time, and for graph builds alike run to run (on several threads FAISS links an
   * HNSW graph differently each time).
   */
  public static <T, E extends Exception> T onOneThread(Work<T, E> work) throws E {
    int threads = threads();
    setThreads(1);
    try {
      return work.run();
    } finally {
      setThreads(threads);
    }
  }

  /** Trains on {@code n} vectors laid out row after row in {@code vectors}, exactly as FAISS does. */
  public void train(float[] vectors, int n) {
    trainWithBalancedLists(vectors, n, 0);
  }

  /**
   * Trains like {@link #train}, but an IVF index with a flat or HNSW coarse quantizer gets its k-means "hub" lists
   * split before its list encoder is trained: no list keeps more than {@code maxListFactor} times the mean share of
   * the training vectors (as far as the smallest lists can give up their centroids). Random k-means initialisation
   * leaves some natural clusters without a centroid; their points crowd into a few lists that every query landing
   * there scans whole, which dominates tail latency. The index file stays a standard FAISS index.
   * {@code maxListFactor} ≤ 0, or another index type, trains as {@link #train}. From 4,096 lists the coarse k-means
   * runs in two levels (about √nlist centroids, then each one's points into their share), as FAISS advises for large
   * nlist. Returns the number of lists split.
   */
  public int trainWithBalancedLists(float[] vectors, int n, double maxListFactor) {
    return trainWithBalancedLists(vectors, n, maxListFactor, 0);
  }

  /**
   * {@link #trainWithBalancedLists(float[], int, double)} with {@code kmeansIterations} Lloyd iterations of the
   * coarse k-means (0: FAISS's 10 for IVF); fewer give rougher centroids sooner, enough to compare candidates.
   */
  public int trainWithBalancedLists(float[] vectors, int n, double maxListFactor, int kmeansIterations) {
    return exclusive(() -> FaissNative.train(live(), n, checkVectors(vectors, n), maxListFactor, kmeansIterations));
  }

  /**
   * Trains an IVF index on the coarse centroids of {@code donor}, a trained IVF index of the same nlist and
   * dimension (its quantizer may differ, e.g. HNSW instead of flat); only this index's list encoder (e.g. PQ) is
   * trained on the {@code n} vectors. Candidates that share an nlist thus share one k-means. {@code quick} trains a
   * PQ encoder with 5 k-means iterations on at most 32 vectors per codeword (instead of 25 on 256): PQ training
   * time grows with the number of sub-quantizers, and a quick encoder is good enough to compare candidates.
   */
  public void trainFrom(FaissIndex donor, float[] vectors, int n, boolean quick) {
    locked(donor, false, this, true, () -> {
      FaissNative.trainFrom(live(), donor.live(), n, checkVectors(vectors, n), quick);
      return null;
    });
  }

  /**
   * Writes the vectors this index holds, with their ids, for {@link #mergeEntries} into a copy of the same trained
   * index: an IVF index's list entries alone (codes and ids, without the trained quantizer every copy shares), other
   * types the whole index. How partial indexes built on several machines become one.
   */
  public void writeEntries(Path file) {
    shared(() -> {
      FaissNative.writeEntries(live(), file.toString());
      return null;
    });
  }

  /** Adds the entries {@link #writeEntries} wrote from a copy of this trained index. */
  public void mergeEntries(Path file) {
    exclusive(() -> {
      FaissNative.mergeEntries(live(), file.toString());
      return null;
    });
  }

  /** Adds {@code n} vectors with their ids; the index must support ids (IVF, or wrapped in IDMap). */
  public void add(float[] vectors, long[] ids, int n) {
    if (ids.length < n) {
      throw new FaissException("got " + ids.length + " ids for " + n + " vectors");
    }
    exclusive(() -> {
      FaissNative.add(live(), n, checkVectors(vectors, n), ids);
      return null;
    });
  }

  /** Removes the vectors with these ids (IVF, or wrapped in IDMap); returns how many were found and removed. */
  public long removeIds(long[] ids) {
    return exclusive(() -> FaissNative.removeIds(live(), ids));
  }

  /**
   * Grows a filled IVF index to about {@code count} entries by repeating each inverted list's own entries, lists in
   * proportion: searching it scans as many codes as an index of {@code count} vectors like these would, so a
   * sample's index times a query at the full count. Its results repeat ids: time it, do not score it.
   */
  public void growLists(long count) {
    exclusive(() -> {
      FaissNative.growLists(live(), count);
      return null;
    });
  }

  /** Adds {@code n} vectors with sequential ids (indexes without id support, such as plain Flat). */
  public void add(float[] vectors, int n) {
    exclusive(() -> {
      FaissNative.add(live(), n, checkVectors(vectors, n), null);
      return null;
    });
  }

  /** Searches {@code n} queries for their {@code k} nearest neighbours. */
  @Override
  public SearchResult search(float[] queries, int n, int k, SearchParams params) {
    return search(queries, n, k, params, null);
  }

  /**
   * Searches among the vectors whose ids are in {@code allowed} only (null: all); filtering by id needs an IVF
   * index (FAISS's ID selector over the ids its lists store). Lists not probed are not searched.
   */
  @Override
  public SearchResult search(float[] queries, int n, int k, SearchParams params, IdBitmap allowed) {
    return search(queries, n, k, params, allowed, null);
  }

  /** The lists an IVF index probes for each query, found once and searched in each copy of the trained index. */
  public record Probes(long[] lists, float[] distances) {}

  /**
   * The {@code params.nprobe()} lists (which must be set; at most nlist) this IVF index's coarse quantizer finds for
   * each query: shards are copies of one trained index, so one quantizer search serves all of them
   * ({@link #search(float[], int, int, SearchParams, IdBitmap, Probes)}).
   */
  public Probes probe(float[] queries, int n, SearchParams params) {
    if (params.nprobe() <= 0) {
      throw new FaissException("probing needs nprobe, got " + params.nprobe());
    }
    long[] lists = new long[Math.multiplyExact(n, params.nprobe())];
    float[] distances = new float[lists.length];
    int probed = shared(() -> FaissNative.probe(live(), n, checkVectors(queries, n), params.nprobe(),
        params.efSearch(), lists, distances));
    return new Probes(Arrays.copyOf(lists, n * probed), Arrays.copyOf(distances, n * probed));
  }

  /** As {@link #search(float[], int, int, SearchParams, IdBitmap)}, scanning {@code probes} (null: its own). */
  public SearchResult search(float[] queries, int n, int k, SearchParams params, IdBitmap allowed, Probes probes) {
    if (k <= 0) {
      throw new FaissException("k must be positive, got " + k);
    }
    int results;
    try {
      results = Math.multiplyExact(n, k);
    } catch (ArithmeticException e) {
      throw new FaissException(n + " queries x k=" + k + " results do not fit in one array");
    }
    float[] distances = new float[results];
    long[] labels = new long[results];
    shared(() -> {
      FaissNative.search(live(), n, checkVectors(queries, n), k, params.nprobe(), params.efSearch(),
          params.maxCodes(), allowed == null ? null : allowed.bits(), probes == null ? null : probes.lists(),
          probes == null ? null : probes.distances(), distances, labels);
      return null;
    });
    return new SearchResult(k, distances, labels);
  }

  /**
   * What searching each query alone costs in work, counted rather than timed ({@link SearchWork}: codes scanned,
   * inverted lists probed, the coarse quantizer's distances), for {@code k} results with {@code params}. An IVF or a
   * Flat index (a Flat one counts as a flat quantizer of its vectors). An IVF index's lists are not scanned: the
   * coarse quantizer's search names them, and their sizes are summed as FAISS's scan would count them (up to the
   * codes cap), so a sweep over nprobe costs little more than its quantizer searches. FAISS's counters are
   * process-wide, so no other search may run meanwhile.
   */
  @Override
  public SearchWork searchWork(float[] queries, int n, int k, SearchParams params) {
    return searchWork(queries, n, k, params, false);
  }

  /** {@link #searchWork}, counted by FAISS itself while searching each query alone (what the sum must agree with). */
  SearchWork searchWorkBySearching(float[] queries, int n, int k, SearchParams params) {
    return searchWork(queries, n, k, params, true);
  }

  private SearchWork searchWork(float[] queries, int n, int k, SearchParams params, boolean search) {
    long[] counts = new long[Math.multiplyExact(n, SearchWork.FIELDS)];
    exclusive(() -> {
      FaissNative.searchWork(live(), n, checkVectors(queries, n), k, params.nprobe(), params.efSearch(),
          params.maxCodes(), search, counts);
      return null;
    });
    return new SearchWork(counts);
  }

  /**
   * Prepares {@link #reconstruct} for the ids the vectors were added with: an IVF index gets an id → (list, offset)
   * hash table (about 16 bytes per vector), an IDMap index an id → position map (about 32 bytes per vector).
   */
  public void enableReconstruct() {
    exclusive(() -> {
      handle = FaissNative.makeReconstructible(live());
      return null;
    });
  }

  /**
   * Makes {@code params} the index's own search settings (written with it), so that readers that pass none, such
   * as stock FAISS, search as tuned. 0 leaves a setting as it is.
   */
  public void setSearchDefaults(SearchParams params) {
    exclusive(() -> {
      FaissNative.setSearchDefaults(live(), params.nprobe(), params.efSearch(), params.maxCodes());
      return null;
    });
  }

  /** The stored vector of {@code id} (decoded from its code for PQ indexes); needs {@link #enableReconstruct}. */
  public float[] reconstruct(long id) {
    return shared(() -> {
      float[] out = new float[FaissNative.dimension(live())];
      FaissNative.reconstruct(live(), id, out);
      return out;
    });
  }

  public void write(Path file) {
    shared(() -> {
      FaissNative.write(live(), file.toString());
      return null;
    });
  }

  public byte[] toBytes() {
    return shared(() -> FaissNative.serialize(live()));
  }

  /** Vectors per inverted list of an IVF index (empty for other types): how even the lists are. */
  public long[] listSizes() {
    return shared(() -> FaissNative.listSizes(live()));
  }

  public long ntotal() {
    return shared(() -> FaissNative.ntotal(live()));
  }

  public int dimension() {
    return shared(() -> FaissNative.dimension(live()));
  }

  public Metric metric() {
    return Metric.of(shared(() -> FaissNative.metric(live())));
  }

  public boolean isTrained() {
    return shared(() -> FaissNative.isTrained(live()));
  }

  @Override
  public void close() {
    exclusive(() -> {
      if (handle != 0) {
        FaissNative.free(handle);
        handle = 0;
      }
      return null;
    });
  }

  private long live() {
    if (handle == 0) {
      throw new FaissException("index is closed");
    }
    return handle;
  }

  private float[] checkVectors(float[] vectors, int n) {
    long needed = (long) n * FaissNative.dimension(live());
    if (n <= 0 || vectors.length < needed) {
      throw new FaissException("expected " + n + " vectors of dimension " + FaissNative.dimension(live())
          + " (" + needed + " floats), got " + vectors.length + " floats");
    }
    return vectors;
  }

  /**
   * Runs {@code body} holding two indexes' locks (each shared or exclusive), always taken in the indexes' creation
   * order: two calls naming the same indexes the other way round cannot deadlock.
   */
  private static <T> T locked(FaissIndex a, boolean aExclusive, FaissIndex b, boolean bExclusive, Supplier<T> body) {
    if (a == b) {
      throw new FaissException("an index cannot be combined with itself");
    }
    Lock la = aExclusive ? a.lock.writeLock() : a.lock.readLock();
    Lock lb = bExclusive ? b.lock.writeLock() : b.lock.readLock();
    Lock first = a.order < b.order ? la : lb;
    Lock second = first == la ? lb : la;
    first.lock();
    try {
      second.lock();
      try {
        return body.get();
      } finally {
        second.unlock();
      }
    } finally {
      first.unlock();
    }
  }

  private <T> T shared(Supplier<T> body) {
    lock.readLock().lock();
    try {
      return body.get();
    } finally {
      lock.readLock().unlock();
    }
  }

  private <T> T exclusive(Supplier<T> body) {
    lock.writeLock().lock();
    try {
      return body.get();
    } finally {
      lock.writeLock().unlock();
    }
  }
}

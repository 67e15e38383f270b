package io.imgvec.index;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * The training vectors and held-out queries of a build, chosen in one scan independently of the scan's order: the
 * rows whose image_id hashes lowest (bottom-k, two seeds) are a uniform sample, and the same whatever order or
 * partitioning the input is read in, so a build on the driver and a distributed build (which repartitions) train the
 * same index and measure it on the same queries. Training vectors are ordered by their hash, as k-means sees them.
 *
 * <p>The lowest hashes of a union are the lowest of each part's lowest, so partitions can be sampled where they are
 * (a distributed build samples on the executors) and their {@link Part}s merged: the result is the sample of one
 * scan, and only sampled vectors travel.
 */
public final class Sample {
  private static final long QUERY_SEED = 0x51ed270b27cc4e1bL;
  private static final long TRAIN_SEED = 0x2545f4914f6cdd1dL;

  /** One candidate row: its hash, image_id (ties), scan position and vector. */
  private record Row(long hash, String imageId, long position, float[] vector) {}

  private static final Comparator<Row> ORDER = Comparator.comparingLong(Row::hash).thenComparing(Row::imageId)
      .thenComparingLong(Row::position);

  private final int trainSize;
  private final int nq;
  private final PriorityQueue<Row> queryRows; // the nq lowest by query hash (largest on top)
  private final PriorityQueue<Row> trainRows; // the trainSize + nq lowest by training hash: queries are dropped later
  private final long queryBound; // rows hashing above a bound are not held (see Sample(int, int, long))
  private final long trainBound;

  private long offered;

  float[] train;
  float[] queries;
  long[] queryIds;
  String[] queryImageIds;

  /**
   * The rows a sample of some rows holds, each once, with the number of rows offered to it and how many it holds as
   * queries and as training candidates: what a partition sends to be merged.
   */
  public record Part(String[] imageIds, long[] positions, float[] vectors, int d, long rowsOffered, int queriesHeld,
      int trainingHeld) implements Serializable {
    public int size() {
      return positions.length;
    }

    /**
     * Whether this merged part holds the whole sample of the rows it was offered: false where the bounds of its
     * parts' samples ({@link Sample#Sample(int, int, long)}) cut rows it needed, so sample again without them.
     */
    public boolean complete(int trainSize, int nq) {
      return trainingHeld == Math.min(trainSize + nq, rowsOffered) && queriesHeld == Math.min(nq, rowsOffered);
    }
  }

  public Sample(int trainSize, int nq) {
    this(trainSize, nq, 0);
  }

  /**
   * A sample of one part of {@code totalRows} rows (0: not known), for {@link #merge} with the others: it holds no
   * row hashing above where the lowest of the whole are expected, with a margin of 8 standard deviations, so a
   * partition sends about its share of the sample rather than up to the whole sample. Whether the bound cut a row the
   * sample needed shows in {@link Part#complete}.
   */
  public Sample(int trainSize, int nq, long totalRows) {
    this.trainSize = trainSize;
    this.nq = nq;
    this.queryRows = new PriorityQueue<>(Math.max(1, nq), ORDER.reversed());
    this.trainRows = new PriorityQueue<>(Math.max(1, trainSize + nq), ORDER.reversed());
    this.queryBound = bound(nq, totalRows);
    this.trainBound = bound(trainSize + nq, totalRows);
  }

  /** The hash below which about k + 8 sqrt(k) of totalRows uniform 64-bit hashes fall. */
  private static long bound(int k, long totalRows) {
    double share = (k + 8 * Math.sqrt(k) + 16) / totalRows;
    return totalRows <= 0 || share >= 1 ? Long.MAX_VALUE : (long) (share * 0x1p64 - 0x1p63);
  }

  /**
   * Offers the row at scan {@code position}; {@code vectors} holds it at {@code offset}. Every row passes here once,
   * so here NaN and infinite values are refused.
   */
  public void offer(String imageId, long position, float[] vectors, int offset, int d) {
    for (int i = offset; i < offset + d; i++) {
      if (!Float.isFinite(vectors[i])) {
        throw new IndexBuildException("the embedding of image_id '" + imageId + "' contains " + vectors[i]
            + "; NaN/Inf vectors cannot be indexed: re-embed or filter them out");
      }
    }
    offered++;
    long queryHash = hash(imageId, QUERY_SEED);
    if (queryHash <= queryBound) {
      offer(queryRows, nq, queryHash, imageId, position, vectors, offset, d);
    }
    long trainHash = hash(imageId, TRAIN_SEED);
    if (trainHash <= trainBound) {
      offer(trainRows, trainSize + nq, trainHash, imageId, position, vectors, offset, d);
    }
  }

  private static void offer(PriorityQueue<Row> heap, int size, long hash, String imageId, long position,
      float[] vectors, int offset, int d) {
    if (size == 0) {
      return;
    }
    if (heap.size() == size) {
      Row top = heap.peek();
      if (hash > top.hash() || hash == top.hash() && imageId.compareTo(top.imageId()) >= 0) {
        return;
      }
      heap.poll();
    }
    heap.add(new Row(hash, imageId, position, Arrays.copyOfRange(vectors, offset, offset + d)));
  }

  /** The rows held (each once, though it may be a query and a training candidate). */
  public Part part(int d) {
    Map<Long, Row> rows = new LinkedHashMap<>();
    for (Row row : queryRows) {
      rows.put(row.position(), row);
    }
    for (Row row : trainRows) {
      rows.putIfAbsent(row.position(), row);
    }
    String[] imageIds = new String[rows.size()];
    long[] positions = new long[rows.size()];
    float[] vectors = new float[rows.size() * d];
    int i = 0;
    for (Row row : rows.values()) {
      imageIds[i] = row.imageId();
      positions[i] = row.position();
      System.arraycopy(row.vector(), 0, vectors, i++ * d, d);
    }
    return new Part(imageIds, positions, vectors, d, offered, queryRows.size(), trainRows.size());
  }

  /** The part a sample of both parts' rows would hold. */
  public static Part merge(Part a, Part b, int trainSize, int nq) {
    int d = Math.max(a.d(), b.d()); // an empty partition's part has no dimension
    Sample merged = new Sample(trainSize, nq);
    merged.offerAll(a);
    merged.offerAll(b);
    merged.offered = a.rowsOffered() + b.rowsOffered();
    return merged.part(d);
  }

  /** The finished sample of a merged part. */
  static Sample of(Part part, int trainSize, int nq) {
    Sample sample = new Sample(trainSize, nq);
    sample.offerAll(part);
    sample.finish(part.d());
    return sample;
  }

  private void offerAll(Part part) {
    for (int i = 0; i < part.size(); i++) {
      offer(part.imageIds()[i], part.positions()[i], part.vectors(), i * part.d(), part.d());
    }
  }

  /** Lays out the queries in scan order and the training vectors (held-out queries aside) in hash order. */
  void finish(int d) {
    List<Row> chosen = new ArrayList<>(queryRows);
    chosen.sort(Comparator.comparingLong(Row::position));
    queries = new float[chosen.size() * d];
    queryIds = new long[chosen.size()];
    queryImageIds = new String[chosen.size()];
    for (int q = 0; q < chosen.size(); q++) {
      System.arraycopy(chosen.get(q).vector(), 0, queries, q * d, d);
      queryIds[q] = chosen.get(q).position();
      queryImageIds[q] = chosen.get(q).imageId();
    }
    List<Row> training = new ArrayList<>(trainRows);
    training.sort(ORDER);
    train = new float[trainSize * d];
    int t = 0;
    for (Row row : training) {
      if (t < trainSize && !isQuery(row.position())) {
        System.arraycopy(row.vector(), 0, train, t++ * d, d);
      }
    }
    queryRows.clear();
    trainRows.clear();
  }

  /** Whether the vector at this scan position is a held-out query. */
  boolean isQuery(long position) {
    return Arrays.binarySearch(queryIds, position) >= 0;
  }

  /** 64-bit FNV-1a over the id's characters, then a murmur finaliser: spreads similar ids apart. */
  static long hash(String imageId, long seed) {
    long h = 0xcbf29ce484222325L ^ seed;
    for (int i = 0; i < imageId.length(); i++) {
      h = (h ^ imageId.charAt(i)) * 0x100000001b3L;
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    return h ^ (h >>> 33);
  }
}

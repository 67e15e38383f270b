package io.imgvec.published;

import io.imgvec.faiss.Metric;
import io.imgvec.faiss.Sq8Distances;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * Every vector of a version by id, as 8-bit scalar codes (FAISS's QT_8bit: per dimension, 256 steps between the
 * training vectors' min and max): the refine stage's store ({@link RerankedSearch}), d bytes a vector, a quarter of
 * its floats. File {@value #FILE}: a magic line, d, then d minimums and d step sizes (little-endian floats), then
 * one row of d bytes per id, in id order; a removed id keeps its row, which no search asks for again. Mapped when
 * read: rows are paged in as re-ranking touches them, and distances to them are computed natively
 * ({@link Sq8Distances}: re-ranking 160 rows of 384 dimensions took about 3 ns a dimension in Java).
 */
public final class Sq8Vectors {
  public static final String FILE = "vectors.sq8";
  private static final byte[] MAGIC = "ImgvSQ8\n".getBytes(StandardCharsets.US_ASCII);
  /** Rows are read through buffers of at most 2 GiB (a Java buffer's limit), each holding whole rows. */
  private static final long CHUNK_BYTES = Integer.MAX_VALUE;

  /** The per-dimension ranges that map a float to a byte and back. */
  public record Codec(float[] min, float[] step) {
    /** A codec spanning the range of {@code n} vectors of {@code vectors}. */
    public static Codec train(float[] vectors, int n, int d) {
      float[] min = new float[d];
      float[] max = new float[d];
      Arrays.fill(min, Float.POSITIVE_INFINITY);
      Arrays.fill(max, Float.NEGATIVE_INFINITY);
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < d; j++) {
          min[j] = Math.min(min[j], vectors[i * d + j]);
          max[j] = Math.max(max[j], vectors[i * d + j]);
        }
      }
      float[] step = new float[d];
      for (int j = 0; j < d; j++) {
        step[j] = Math.max(max[j] - min[j], Float.MIN_NORMAL) / 255f;
      }
      return new Codec(min, step);
    }

    int dimension() {
      return min.length;
    }

    void encode(float[] vectors, int offset, byte[] row) {
      for (int j = 0; j < row.length; j++) {
        long code = Math.round((vectors[offset + j] - min[j]) / step[j]);
        row[j] = (byte) Math.max(0, Math.min(255, code));
      }
    }

    private long headerBytes() {
      return MAGIC.length + 4 + 8L * dimension();
    }
  }

  private final Codec codec;
  private final ByteBuffer[] chunks;
  private final int rowsPerChunk;
  private final long rows;

  private Sq8Vectors(Codec codec, ByteBuffer[] chunks, int rowsPerChunk, long rows) {
    this.codec = codec;
    this.chunks = chunks;
    this.rowsPerChunk = rowsPerChunk;
    this.rows = rows;
  }

  /** The first {@code n} vectors of {@code vectors} encoded in memory, with ids 0 to n - 1. */
  public static Sq8Vectors inMemory(Codec codec, float[] vectors, int n) {
    int d = codec.dimension();
    ByteBuffer codes = ByteBuffer.allocateDirect(Math.multiplyExact(n, d)); // read in place by the native distances
    byte[] row = new byte[d];
    for (int i = 0; i < n; i++) {
      codec.encode(vectors, i * d, row);
      codes.put(row);
    }
    return new Sq8Vectors(codec, new ByteBuffer[] {codes.flip()}, n, n);
  }

  /** Maps {@code file}, refusing one whose header or size is not that of a vector store of {@code d} dimensions. */
  public static Sq8Vectors map(Path file, int d) throws IOException {
    Codec codec = readCodec(file, d);
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      long rowBytes = channel.size() - codec.headerBytes();
      if (rowBytes % d != 0) {
        throw new UntrustedIndexException(file + " is cut short: " + rowBytes + " bytes of rows is not a whole number"
            + " of " + d + "-byte rows");
      }
      long rows = rowBytes / d;
      int rowsPerChunk = (int) Math.min(CHUNK_BYTES / d, Math.max(1, rows));
      ByteBuffer[] chunks = new ByteBuffer[(int) ((rows + rowsPerChunk - 1) / rowsPerChunk)];
      for (int c = 0; c < chunks.length; c++) {
        long first = (long) c * rowsPerChunk;
        long size = Math.min(rowsPerChunk, rows - first) * d;
        chunks[c] = channel.map(FileChannel.MapMode.READ_ONLY, codec.headerBytes() + first * d, size);
      }
      return new Sq8Vectors(codec, chunks, rowsPerChunk, rows);
    }
  }

  private static Codec readCodec(Path file, int d) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      byte[] header = new byte[MAGIC.length + 4];
      if (in.readNBytes(header, 0, header.length) != header.length
          || !Arrays.equals(Arrays.copyOf(header, MAGIC.length), MAGIC)) {
        throw new UntrustedIndexException(file + " is not an imgvec vector store");
      }
      int stored = ByteBuffer.wrap(header, MAGIC.length, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
      if (stored != d) {
        throw new UntrustedIndexException(file + " holds " + stored + "-dimensional vectors, the index " + d);
      }
      ByteBuffer ranges = ByteBuffer.wrap(in.readNBytes(8 * d)).order(ByteOrder.LITTLE_ENDIAN);
      if (ranges.remaining() != 8 * d) {
        throw new UntrustedIndexException(file + " is cut short in its header");
      }
      float[] min = new float[d];
      float[] step = new float[d];
      ranges.asFloatBuffer().get(min).get(step);
      return new Codec(min, step);
    }
  }

  public Codec codec() {
    return codec;
  }

  /** Rows stored: one more than the largest id. */
  public long rows() {
    return rows;
  }

  /**
   * Query {@code q} (d floats from {@code offset}) made ready for {@link #distance}: for L2 its offsets from each
   * dimension's minimum, for inner product its values times each step and its product with the minimums, so that a
   * stored dimension costs one multiply-add.
   */
  PreparedQuery prepare(float[] q, int offset, Metric metric) {
    float[] prepared = new float[codec.dimension()];
    float constant = 0;
    for (int j = 0; j < prepared.length; j++) {
      if (metric == Metric.L2) {
        prepared[j] = q[offset + j] - codec.min[j];
      } else {
        prepared[j] = q[offset + j] * codec.step[j];
        constant += q[offset + j] * codec.min[j];
      }
    }
    return new PreparedQuery(prepared, constant, metric == Metric.L2);
  }

  /** A query as {@link #distance} takes it. */
  record PreparedQuery(float[] values, float constant, boolean l2) {}

  /**
   * The distances, as FAISS measures them (squared L2, or inner product), between a prepared query and the decoded
   * vectors of {@code ids[offset, offset + count)}, into {@code distances[0, count)}; negative ids are skipped, and
   * an id at or past {@link #rows()} is refused ({@link io.imgvec.faiss.FaissException}).
   */
  void distances(PreparedQuery query, long[] ids, int offset, int count, float[] distances) {
    Sq8Distances.compute(chunks, rowsPerChunk, query.values(), codec.step, query.l2(), ids, offset, count, distances);
    for (int i = 0; i < count; i++) {
      distances[i] += query.constant();
    }
  }

  /** Writes a store: a new one, or more rows at the end of a copy of an existing one ({@link #appendTo}). */
  public static final class Writer implements Closeable {
    private final Codec codec;
    private final OutputStream out;
    private final byte[] row;

    private Writer(Codec codec, OutputStream out) {
      this.codec = codec;
      this.out = out;
      this.row = new byte[codec.dimension()];
    }

    /** A new store in {@code file}, its rows encoded with {@code codec}. */
    public static Writer create(Path file, Codec codec) throws IOException {
      OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
      ByteBuffer header = ByteBuffer.allocate((int) codec.headerBytes()).order(ByteOrder.LITTLE_ENDIAN);
      header.put(MAGIC).putInt(codec.dimension());
      for (float v : codec.min) {
        header.putFloat(v);
      }
      for (float v : codec.step) {
        header.putFloat(v);
      }
      out.write(header.array());
      return new Writer(codec, out);
    }

    /**
     * Appends to {@code file} (a copy of a version's store, d dimensions), whose next row must be that of id
     * {@code nextId}: rows are ids.
     */
    public static Writer appendTo(Path file, int d, long nextId) throws IOException {
      Sq8Vectors existing = map(file, d);
      if (existing.rows() != nextId) {
        throw new UntrustedIndexException(file + " holds " + existing.rows() + " rows, the id map " + nextId + " ids");
      }
      return new Writer(existing.codec, new BufferedOutputStream(Files.newOutputStream(file,
          StandardOpenOption.APPEND), 1 << 16));
    }

    /** Appends the first {@code n} vectors of {@code vectors} as the next ids' rows. */
    public void append(float[] vectors, int n) throws IOException {
      for (int i = 0; i < n; i++) {
        codec.encode(vectors, i * row.length, row);
        out.write(row);
      }
    }

    @Override
    public void close() throws IOException {
      out.close();
    }
  }
}

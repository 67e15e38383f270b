package io.imgvec.bench;

import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.zip.GZIPInputStream;

/**
 * Benchmark data sets as raw little-endian float32 files (n × d, row after row), readable by numpy's fromfile:
 * a synthetic Gaussian-cluster mixture and Fashion-MNIST.
 */
final class VectorFiles {
  private VectorFiles() {}

  /**
   * The synthetic generator: {@code clusters} Gaussian clusters in {@code d} dimensions. Centres ~ N(0, I), so
   * centres lie about sqrt(2d) apart (32 at d=512). Each cluster's covariance is A·Aᵀ + σ²·I with A a random
   * d×{@code rank} matrix of N(0, 2/rank) entries: its RMS radius is sqrt(2d), the same as the distance between
   * centres, and like real embeddings the points concentrate near a low-dimensional subspace. σ = 0.1.
   */
  static final class Clusters {
    private final int d;
    private final int rank;
    private final float[][] centres;
    private final float[][] bases;
    private final Random random;

    Clusters(int d, int clusters, int rank, long seed) {
      this.d = d;
      this.rank = rank;
      this.random = new Random(seed);
      this.centres = new float[clusters][d];
      this.bases = new float[clusters][d * rank];
      double scale = Math.sqrt(2.0 / rank);
      for (int k = 0; k < clusters; k++) {
        for (int i = 0; i < d; i++) {
          centres[k][i] = (float) random.nextGaussian();
        }
        for (int i = 0; i < d * rank; i++) {
          bases[k][i] = (float) (random.nextGaussian() * scale);
        }
      }
    }

    void next(float[] out) {
      int k = random.nextInt(centres.length);
      float[] z = new float[rank];
      for (int j = 0; j < rank; j++) {
        z[j] = (float) random.nextGaussian();
      }
      float[] a = bases[k];
      for (int i = 0; i < d; i++) {
        float v = centres[k][i] + 0.1f * (float) random.nextGaussian();
        for (int j = 0; j < rank; j++) {
          v += a[i * rank + j] * z[j];
        }
        out[i] = v;
      }
    }
  }

  static void writeSynthetic(Clusters gen, int n, int d, Path file) throws IOException {
    float[] v = new float[d];
    ByteBuffer buf = ByteBuffer.allocate(d * 4).order(ByteOrder.LITTLE_ENDIAN);
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
      for (int i = 0; i < n; i++) {
        gen.next(v);
        buf.clear();
        buf.asFloatBuffer().put(v);
        out.write(buf.array());
      }
    }
  }

  /** Converts an IDX image file (gzip'd, as Debian's dataset-fashion-mnist ships it) to float32 rows. */
  static int[] writeIdx(Path idxGz, Path file) throws IOException {
    try (DataInputStream in = new DataInputStream(new GZIPInputStream(Files.newInputStream(idxGz), 1 << 16));
        OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
      if (in.readInt() != 0x803) {
        throw new IOException(idxGz + " is not an IDX image file");
      }
      int n = in.readInt();
      int d = in.readInt() * in.readInt();
      byte[] pixels = new byte[d];
      ByteBuffer buf = ByteBuffer.allocate(d * 4).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < n; i++) {
        in.readFully(pixels);
        buf.clear();
        for (byte p : pixels) {
          buf.putFloat(p & 0xFF);
        }
        out.write(buf.array());
      }
      return new int[] {n, d};
    }
  }

  /** Rows [from, from + count) of a float32 file. */
  static float[] read(Path file, int d, long from, int count) throws IOException {
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
      byte[] bytes = new byte[count * d * 4];
      raf.seek(from * d * 4);
      raf.readFully(bytes);
      float[] out = new float[count * d];
      ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
      return out;
    }
  }

  static long rows(Path file, int d) throws IOException {
    return Files.size(file) / (4L * d);
  }
}

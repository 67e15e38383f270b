package io.imgvec.bench;

import io.imgvec.faiss.GaussianClusters;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Benchmark data sets as raw little-endian float32 files (n × d, row after row), readable by numpy's fromfile:
 * a synthetic Gaussian-cluster mixture and Fashion-MNIST.
 */
final class VectorFiles {
  private VectorFiles() {}

  static void writeSynthetic(GaussianClusters gen, int n, int d, Path file) throws IOException {
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

package io.imgvec.image;

import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Checks that a PNG's compressed data inflates to exactly the pixel rows its header declares. libpng only warns
 * about short data and the decoder then returns an image with missing rows, which must not become an embedding.
 */
final class PngCheck {
  private static final int[][] ADAM7 = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4},
      {1, 0, 2, 2}, {0, 1, 1, 2}};

  private PngCheck() {}

  static void checkImageData(byte[] b, int width, int height) throws ImageError {
    int bitDepth = b[24] & 0xFF;
    int channels = switch (b[25]) {
      case 0, 3 -> 1;
      case 2 -> 3;
      case 4 -> 2;
      case 6 -> 4;
      default -> throw ImageError.decode("corrupt_image", "PNG colour type " + b[25] + " is invalid");
    };
    long bitsPerPixel = (long) channels * bitDepth;
    long expected = b[28] == 1 ? interlacedSize(width, height, bitsPerPixel) : rowsSize(width, height, bitsPerPixel);
    long actual = inflatedSize(b);
    if (actual < expected) {
      throw ImageError.decode("truncated_image", "PNG image data holds " + actual + " of " + expected + " bytes");
    }
  }

  private static long rowsSize(long w, long h, long bitsPerPixel) {
    return w == 0 || h == 0 ? 0 : h * ((w * bitsPerPixel + 7) / 8 + 1);
  }

  private static long interlacedSize(long w, long h, long bitsPerPixel) {
    long total = 0;
    for (int[] p : ADAM7) {
      long pw = w > p[0] ? (w - p[0] + p[2] - 1) / p[2] : 0;
      long ph = h > p[1] ? (h - p[1] + p[3] - 1) / p[3] : 0;
      total += rowsSize(pw, ph, bitsPerPixel);
    }
    return total;
  }

  private static long inflatedSize(byte[] b) throws ImageError {
    Inflater inflater = new Inflater();
    byte[] sink = new byte[1 << 16];
    long total = 0;
    try {
      for (int pos = 8; pos + 8 <= b.length; ) {
        int len = ((b[pos] & 0xFF) << 24) | ((b[pos + 1] & 0xFF) << 16) | ((b[pos + 2] & 0xFF) << 8) | (b[pos + 3] & 0xFF);
        if (len < 0 || pos + 12L + len > b.length) {
          throw ImageError.decode("truncated_image", "PNG chunk at byte " + pos + " runs past the end of the file");
        }
        if (b[pos + 4] == 'I' && b[pos + 5] == 'D' && b[pos + 6] == 'A' && b[pos + 7] == 'T') {
          inflater.setInput(b, pos + 8, len);
          for (int n; (n = inflater.inflate(sink)) > 0 || !inflater.needsInput() && !inflater.finished(); ) {
            total += n;
          }
        }
        pos += 12 + len;
      }
      return total;
    } catch (DataFormatException e) {
      throw ImageError.decode("corrupt_image", "PNG image data is not valid zlib: " + e.getMessage());
    } finally {
      inflater.end();
    }
  }
}

package io.imgvec.image;

import java.io.ByteArrayOutputStream;

/**
 * Strict check of a GIF's first frame: its LZW stream must only use defined codes and produce every pixel the frame
 * declares. Java's GIF reader silently accepts such broken streams and fills the gaps, which would yield an
 * embedding of garbage.
 */
final class GifCheck {
  private GifCheck() {}

  static void checkFirstFrame(byte[] b) throws ImageError {
    try {
      int pos = 13 + colorTableSize(b[10]);
      while (true) {
        int block = b[pos] & 0xFF;
        if (block == 0x21) {
          pos = skipSubBlocks(b, pos + 2);
        } else if (block == 0x2C) {
          int width = u16(b, pos + 5);
          int height = u16(b, pos + 7);
          pos += 10 + colorTableSize(b[pos + 9]);
          int minCodeSize = b[pos] & 0xFF;
          ByteArrayOutputStream data = new ByteArrayOutputStream();
          skipSubBlocks(b, pos + 1, data);
          checkLzw(data.toByteArray(), minCodeSize, (long) width * height);
          return;
        } else {
          throw ImageError.decode("corrupt_image", "GIF has no image frame (block 0x" + Integer.toHexString(block) + ")");
        }
      }
    } catch (IndexOutOfBoundsException e) {
      throw ImageError.decode("truncated_image", "GIF data ends inside its first frame");
    }
  }

  private static void checkLzw(byte[] data, int minCodeSize, long pixels) throws ImageError {
    if (minCodeSize < 2 || minCodeSize > 11) {
      throw ImageError.decode("corrupt_image", "GIF LZW minimum code size " + minCodeSize + " is invalid");
    }
    int clear = 1 << minCodeSize;
    int[] length = new int[4096];
    int codeSize = minCodeSize + 1;
    int next = clear + 2;
    int prev = -1;
    long produced = 0;
    long bitPos = 0;
    long totalBits = (long) data.length * 8;
    while (bitPos + codeSize <= totalBits && produced < pixels) {
      int code = readBits(data, bitPos, codeSize);
      bitPos += codeSize;
      if (code == clear) {
        codeSize = minCodeSize + 1;
        next = clear + 2;
        prev = -1;
        continue;
      }
      if (code == clear + 1) {
        break;
      }
      int len;
      if (code < clear) {
        len = 1;
      } else if (code < next && prev != -1) {
        len = length[code];
      } else if (code == next && prev != -1) {
        len = lengthOf(prev, clear, length) + 1;
      } else {
        throw ImageError.decode("corrupt_image", "GIF LZW stream uses undefined code " + code);
      }
      if (prev != -1 && next < 4096) {
        length[next++] = lengthOf(prev, clear, length) + 1;
        if (next == (1 << codeSize) && codeSize < 12) {
          codeSize++;
        }
      }
      produced += len;
      prev = code;
    }
    if (produced < pixels) {
      throw ImageError.decode("truncated_image", "GIF frame has " + produced + " of its " + pixels + " pixels");
    }
  }

  private static int lengthOf(int code, int clear, int[] length) {
    return code < clear ? 1 : length[code];
  }

  private static int readBits(byte[] data, long bitPos, int n) {
    int value = 0;
    for (int i = 0; i < n; i++) {
      long bit = bitPos + i;
      value |= ((data[(int) (bit >>> 3)] >> (bit & 7)) & 1) << i;
    }
    return value;
  }

  private static int colorTableSize(byte flags) {
    return (flags & 0x80) != 0 ? 3 * (1 << ((flags & 7) + 1)) : 0;
  }

  private static int skipSubBlocks(byte[] b, int pos) {
    return skipSubBlocks(b, pos, null);
  }

  private static int skipSubBlocks(byte[] b, int pos, ByteArrayOutputStream sink) {
    for (int size = b[pos] & 0xFF; size != 0; size = b[pos] & 0xFF) {
      if (sink != null) {
        sink.write(b, pos + 1, size);
      }
      pos += size + 1;
    }
    return pos + 1;
  }

  private static int u16(byte[] b, int i) {
    return (b[i] & 0xFF) | ((b[i + 1] & 0xFF) << 8);
  }
}

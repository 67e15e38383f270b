package io.imgvec.image;

import java.nio.charset.StandardCharsets;

/**
 * Format and declared size of an encoded image, read from its first bytes only, so that unsupported formats and
 * decompression bombs are rejected before any decoder allocates pixels.
 */
public record ImageHeader(Format format, int width, int height, int headerEnd) {

  /** Formats the decoder accepts. */
  public enum Format { JPEG, PNG, GIF, BMP }

  public long pixels() {
    return (long) width * height;
  }

  /**
   * Whether the data ends properly: a JPEG end-of-image marker or PNG IEND chunk after the header. Truncated files
   * otherwise decode "successfully" with grey or garbage rows, which must not become embeddings.
   */
  public boolean hasTrailer(byte[] b) {
    return switch (format) {
      case JPEG -> lastIndexOf(b, new byte[] {(byte) 0xFF, (byte) 0xD9}) > headerEnd;
      case PNG -> lastIndexOf(b, "IEND".getBytes(StandardCharsets.US_ASCII)) > headerEnd;
      default -> true;
    };
  }

  private static int lastIndexOf(byte[] b, byte[] needle) {
    outer:
    for (int i = b.length - needle.length; i >= 0; i--) {
      for (int j = 0; j < needle.length; j++) {
        if (b[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  /** Reads the header, or fails with {@code unsupported_format}, {@code unknown_format} or {@code corrupt_image}. */
  public static ImageHeader read(byte[] b) throws ImageError {
    if (b.length == 0) {
      throw ImageError.decode("empty_file", "file is empty");
    }
    if (startsWith(b, 0xFF, 0xD8, 0xFF)) {
      return jpeg(b);
    }
    if (startsWith(b, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)) {
      return png(b);
    }
    if (startsWith(b, 'G', 'I', 'F', '8')) {
      need(b, 10, "GIF");
      return sized(Format.GIF, u16le(b, 6), u16le(b, 8), 10);
    }
    if (startsWith(b, 'B', 'M')) {
      need(b, 26, "BMP");
      return sized(Format.BMP, Math.abs(s32le(b, 18)), Math.abs(s32le(b, 22)), 26);
    }
    String other = otherFormat(b);
    if (other != null) {
      throw ImageError.decode("unsupported_format", other + " images are not supported; supported: JPEG, PNG, GIF, BMP");
    }
    throw ImageError.decode("unknown_format", "not a recognised image format (first bytes " + hex(b, 8) + ")");
  }

  private static ImageHeader jpeg(byte[] b) throws ImageError {
    int i = 2;
    while (i + 9 < b.length) {
      if ((b[i] & 0xFF) != 0xFF) {
        throw ImageError.decode("corrupt_image", "JPEG marker expected at byte " + i);
      }
      int marker = b[i + 1] & 0xFF;
      if (marker == 0xFF) {
        i++;
        continue;
      }
      int len = u16be(b, i + 2);
      boolean sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
      if (sof) {
        return sized(Format.JPEG, u16be(b, i + 7), u16be(b, i + 5), i + 9);
      }
      if (marker == 0xDA || len < 2) {
        break;
      }
      i += 2 + len;
    }
    throw ImageError.decode("corrupt_image", "JPEG has no frame header (SOF) before its data");
  }

  private static ImageHeader png(byte[] b) throws ImageError {
    need(b, 24, "PNG");
    if (!new String(b, 12, 4, StandardCharsets.US_ASCII).equals("IHDR")) {
      throw ImageError.decode("corrupt_image", "PNG does not start with an IHDR chunk");
    }
    int w = s32be(b, 16);
    int h = s32be(b, 20);
    if (w < 0 || h < 0) {
      throw ImageError.decode("corrupt_image", "PNG declares negative dimensions");
    }
    return sized(Format.PNG, w, h, 24);
  }

  private static ImageHeader sized(Format f, int w, int h, int headerEnd) throws ImageError {
    if (w <= 0 || h <= 0) {
      throw ImageError.decode("corrupt_image", f + " declares an empty size " + w + "x" + h);
    }
    return new ImageHeader(f, w, h, headerEnd);
  }

  private static String otherFormat(byte[] b) {
    if (startsWith(b, 'R', 'I', 'F', 'F') && b.length >= 12 && new String(b, 8, 4, StandardCharsets.US_ASCII).equals("WEBP")) {
      return "WebP";
    }
    if (startsWith(b, 'I', 'I', 0x2A, 0x00) || startsWith(b, 'M', 'M', 0x00, 0x2A)) {
      return "TIFF";
    }
    if (startsWith(b, 'i', 'c', 'n', 's')) {
      return "ICNS";
    }
    if (startsWith(b, 0, 0, 1, 0)) {
      return "ICO";
    }
    if (startsWith(b, '/', '*', ' ', 'X', 'P', 'M')) {
      return "XPM";
    }
    if (b.length >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7') {
      return "PNM";
    }
    if (b.length >= 12 && new String(b, 4, 8, StandardCharsets.US_ASCII).matches("ftyp(avif|heic|heix|mif1)")) {
      return "HEIF/AVIF";
    }
    if (b.length >= 3 && (b[2] == 2 || b[2] == 10) && b[1] <= 1) {
      return "TGA";
    }
    return null;
  }

  private static void need(byte[] b, int n, String format) throws ImageError {
    if (b.length < n) {
      throw ImageError.decode("corrupt_image", format + " header truncated (" + b.length + " bytes)");
    }
  }

  private static boolean startsWith(byte[] b, int... sig) {
    if (b.length < sig.length) {
      return false;
    }
    for (int i = 0; i < sig.length; i++) {
      if ((b[i] & 0xFF) != sig[i]) {
        return false;
      }
    }
    return true;
  }

  private static int u16be(byte[] b, int i) {
    return ((b[i] & 0xFF) << 8) | (b[i + 1] & 0xFF);
  }

  private static int u16le(byte[] b, int i) {
    return (b[i] & 0xFF) | ((b[i + 1] & 0xFF) << 8);
  }

  private static int s32be(byte[] b, int i) {
    return (u16be(b, i) << 16) | u16be(b, i + 2);
  }

  private static int s32le(byte[] b, int i) {
    return u16le(b, i) | (u16le(b, i + 2) << 16);
  }

  private static String hex(byte[] b, int n) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < Math.min(n, b.length); i++) {
      sb.append(String.format("%02x", b[i] & 0xFF));
    }
    return sb.toString();
  }
}

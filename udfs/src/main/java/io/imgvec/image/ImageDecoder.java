package io.imgvec.image;

import io.imgvec.natives.NativeLibraries;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.imgcodecs.Imgcodecs;
import org.opencv.imgproc.Imgproc;

/**
 * Decodes JPEG, PNG, GIF (first frame) and BMP into 8-bit BGR pixels: EXIF orientation applied; grey, palette,
 * 16-bit and CMYK converted; alpha composited over white. The header is checked first, so unsupported formats and
 * images over the pixel limit never reach a decoder. Stateless and thread-safe.
 */
public final class ImageDecoder {
  static {
    NativeLibraries.loadOpenCv();
  }

  private final long maxPixels;
  /** The setting the pixel limit comes from, named in refusals. */
  private final String limitSetting;

  /** Loads the native decoder now (it loads with the first decoder otherwise), so a caller can do it in parallel. */
  public static void loadNativeLibrary() {
    // the class's initialisation loads it, once
  }

  public ImageDecoder(long maxPixels) {
    this(maxPixels, "decode.max-pixels");
  }

  public ImageDecoder(long maxPixels, String limitSetting) {
    this.maxPixels = maxPixels;
    this.limitSetting = limitSetting;
  }

  /**
   * Decodes {@code bytes}; large JPEGs are scaled down inside the JPEG decoder, much cheaper than decoding full size
   * and resizing, but never below twice {@code minShortSide}.
   */
  public DecodedImage decode(byte[] bytes, int minShortSide) throws ImageError {
    ImageHeader header = ImageHeader.read(bytes);
    if (header.pixels() > maxPixels) {
      throw ImageError.decode("too_many_pixels", "image declares " + header.width() + "x" + header.height() + " = "
          + header.pixels() + " pixels, over the limit " + limitSetting + "=" + maxPixels);
    }
    if (!header.hasTrailer(bytes)) {
      throw ImageError.decode("truncated_image", header.format() + " data ends before its end marker");
    }
    Mat bgr = switch (header.format()) {
      case JPEG -> imdecode(bytes, jpegFlags(header, minShortSide));
      case PNG -> {
        PngCheck.checkImageData(bytes, header.width(), header.height());
        yield toBgr8(imdecode(bytes, Imgcodecs.IMREAD_UNCHANGED));
      }
      case BMP -> toBgr8(imdecode(bytes, Imgcodecs.IMREAD_UNCHANGED));
      case GIF -> firstGifFrame(bytes);
    };
    boolean rotated = header.width() != header.height()
        && (bgr.cols() > bgr.rows()) != (header.width() > header.height());
    return rotated ? new DecodedImage(bgr, header.height(), header.width())
        : new DecodedImage(bgr, header.width(), header.height());
  }

  /**
   * Scales inside the JPEG decoder only while the result keeps at least twice the target size: reducing straight to
   * the target blurs chroma enough to move re-encodings of one photo apart (cosine 0.983 instead of >= 0.99).
   */
  private static int jpegFlags(ImageHeader header, int minShortSide) {
    int headroom = Math.min(header.width(), header.height()) / (2 * minShortSide);
    if (headroom >= 8) {
      return Imgcodecs.IMREAD_REDUCED_COLOR_8;
    }
    if (headroom >= 4) {
      return Imgcodecs.IMREAD_REDUCED_COLOR_4;
    }
    return headroom >= 2 ? Imgcodecs.IMREAD_REDUCED_COLOR_2 : Imgcodecs.IMREAD_COLOR;
  }

  private static Mat imdecode(byte[] bytes, int flags) throws ImageError {
    MatOfByte buf = new MatOfByte(bytes);
    try {
      Mat mat = Imgcodecs.imdecode(buf, flags);
      if (mat.empty()) {
        throw ImageError.decode("corrupt_image", "decoder could not read the image data");
      }
      return mat;
    } catch (org.opencv.core.CvException e) {
      throw new ImageError("decode", "corrupt_image", "decoder failed: " + e.getMessage(), e);
    } finally {
      buf.release();
    }
  }

  /** Any depth and channel count OpenCV returns unchanged, as 8-bit BGR. */
  private static Mat toBgr8(Mat mat) {
    if (mat.depth() == CvType.CV_16U) {
      Mat eight = new Mat();
      mat.convertTo(eight, CvType.CV_8U, 1.0 / 257);
      mat.release();
      mat = eight;
    }
    Mat out = new Mat();
    switch (mat.channels()) {
      case 1 -> Imgproc.cvtColor(mat, out, Imgproc.COLOR_GRAY2BGR);
      case 4 -> out = compositeOverWhite(mat);
      default -> out = mat;
    }
    if (out != mat) {
      mat.release();
    }
    return out;
  }

  /**
   * {@code color * a + 255 * (1 - a)} in 8-bit arithmetic: the one rounding is in {@code color * a / 255}, as in
   * float, while the temporaries stay 8-bit (a 25 MP image needs about 0.3 GB, not the 1.5 GB float matrices took).
   */
  private static Mat compositeOverWhite(Mat bgra) {
    List<Mat> channels = new ArrayList<>();
    Core.split(bgra, channels);
    Mat alpha3 = new Mat();
    Core.merge(List.of(channels.get(3), channels.get(3), channels.get(3)), alpha3);
    Mat out = new Mat();
    Core.merge(channels.subList(0, 3), out);
    channels.forEach(Mat::release);
    Core.multiply(out, alpha3, out, 1.0 / 255);
    Core.bitwise_not(alpha3, alpha3); // 255 - a
    Core.add(out, alpha3, out);
    alpha3.release();
    return out;
  }

  private static Mat firstGifFrame(byte[] bytes) throws ImageError {
    GifCheck.checkFirstFrame(bytes);
    BufferedImage frame;
    try {
      frame = ImageIO.read(new ByteArrayInputStream(bytes));
    } catch (IOException | RuntimeException e) {
      throw new ImageError("decode", "corrupt_image", "GIF decoder failed: " + e, e);
    }
    if (frame == null) {
      throw ImageError.decode("corrupt_image", "GIF decoder returned no frame");
    }
    BufferedImage bgr = new BufferedImage(frame.getWidth(), frame.getHeight(), BufferedImage.TYPE_3BYTE_BGR);
    Graphics2D g = bgr.createGraphics();
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, bgr.getWidth(), bgr.getHeight());
    g.drawImage(frame, 0, 0, null);
    g.dispose();
    Mat mat = new Mat(bgr.getHeight(), bgr.getWidth(), CvType.CV_8UC3);
    mat.put(0, 0, ((DataBufferByte) bgr.getRaster().getDataBuffer()).getData());
    return mat;
  }
}

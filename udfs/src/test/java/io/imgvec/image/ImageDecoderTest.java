package io.imgvec.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgvec.TestImages;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.Scalar;
import org.opencv.imgcodecs.Imgcodecs;

class ImageDecoderTest {
  private final ImageDecoder decoder = new ImageDecoder(100_000_000L);

  /**
   * gdk-pixbuf's premature-end.png is complete: every chunk CRC matches and its zlib stream inflates to exactly the
   * declared rows (gdk-pixbuf's test cuts it short while loading). It must decode.
   */
  private static final Set<String> VALID_IN_BAD_CORPUS = Set.of("premature-end.png");

  @Test
  void everyBadFileIsAnErrorWithAClassAndReason() throws Exception {
    Set<String> known = Set.of("empty_file", "unsupported_format", "unknown_format", "corrupt_image",
        "truncated_image", "too_many_pixels");
    for (Path bad : TestImages.list("bad")) {
      if (VALID_IN_BAD_CORPUS.contains(bad.getFileName().toString())) {
        assertEquals(256, decoder.decode(Files.readAllBytes(bad), 224).sourceWidth());
        continue;
      }
      ImageError e = assertThrows(ImageError.class, () -> decoder.decode(Files.readAllBytes(bad), 224),
          bad.getFileName() + " decoded");
      assertTrue(known.contains(e.errorClass()), bad + ": " + e.errorClass());
      assertEquals("decode", e.stage());
      assertFalse(e.getMessage().isBlank());
    }
  }

  @Test
  void bombIsRejectedFromItsHeader() {
    ImageError e = assertThrows(ImageError.class, () -> decoder.decode(TestImages.bytes("bad/issue205.jpg"), 224));
    assertEquals("too_many_pixels", e.errorClass());
    assertTrue(e.getMessage().contains("64250x64250"), e.getMessage());
  }

  @Test
  void unsupportedFormatsAreNamed() {
    ImageError tiff = assertThrows(ImageError.class,
        () -> decoder.decode(TestImages.bytes("bad/bug784903-overflow-dimensions.tiff"), 224));
    assertEquals("unsupported_format", tiff.errorClass());
    assertTrue(tiff.getMessage().startsWith("TIFF"));
  }

  @Test
  void exifOrientationIsApplied() throws Exception {
    DecodedImage img = decoder.decode(TestImages.bytes("photos/exif-rotated.jpg"), 224);
    // Stored 640x428 landscape, EXIF says rotate: displayed portrait.
    assertEquals(428, img.sourceWidth());
    assertEquals(640, img.sourceHeight());
    assertTrue(img.bgr().rows() > img.bgr().cols());
  }

  @Test
  void greyAndPaletteBecomeThreeChannels() throws Exception {
    for (String f : new String[] {"photos/skimage-camera.png", "photos/skimage-palette_color.png",
        "near-duplicates/flower_q85_gray.jpg"}) {
      DecodedImage img = decoder.decode(TestImages.bytes(f), 224);
      assertEquals(CvType.CV_8UC3, img.bgr().type(), f);
    }
  }

  @Test
  void alphaIsCompositedOverWhite() throws Exception {
    Mat bgra = new Mat(40, 40, CvType.CV_8UC4, new Scalar(0, 0, 255, 0)); // fully transparent red
    DecodedImage img = decoder.decode(encode(".png", bgra), 8);
    double[] px = img.bgr().get(10, 10);
    assertEquals(255, px[0], 1);
    assertEquals(255, px[1], 1);
    assertEquals(255, px[2], 1);
  }

  @Test
  void sixteenBitBecomesEightBit() throws Exception {
    Mat deep = new Mat(32, 48, CvType.CV_16UC3, new Scalar(65535, 32896, 0));
    DecodedImage img = decoder.decode(encode(".png", deep), 8);
    assertEquals(CvType.CV_8UC3, img.bgr().type());
    assertEquals(255, img.bgr().get(0, 0)[0], 1);
    assertEquals(128, img.bgr().get(0, 0)[1], 1);
    assertEquals(48, img.sourceWidth());
  }

  @Test
  void gifFirstFrameAndBmpDecode() throws Exception {
    BufferedImage rgb = new BufferedImage(30, 20, BufferedImage.TYPE_INT_RGB);
    for (String format : new String[] {"gif", "bmp"}) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ImageIO.write(rgb, format, out);
      DecodedImage img = decoder.decode(out.toByteArray(), 8);
      assertEquals(30, img.sourceWidth(), format);
      assertEquals(20, img.bgr().rows(), format);
    }
  }

  @Test
  void cmykJpegBecomesRgb() throws Exception {
    // A 4-channel (CMYK) JPEG from Java's JPEG writer, with values inverted the way Adobe stores CMYK, as libjpeg
    // and OpenCV read it: C=0 is full cyan, M=Y=K=255 none.
    java.awt.image.WritableRaster cmyk = java.awt.image.Raster.createInterleavedRaster(
        java.awt.image.DataBuffer.TYPE_BYTE, 32, 24, 4, null);
    for (int y = 0; y < 24; y++) {
      for (int x = 0; x < 32; x++) {
        cmyk.setPixel(x, y, new int[] {0, 255, 255, 255});
      }
    }
    javax.imageio.ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (javax.imageio.stream.ImageOutputStream ios = ImageIO.createImageOutputStream(out)) {
      writer.setOutput(ios);
      writer.write(null, new javax.imageio.IIOImage(cmyk, null, null), null);
    }
    DecodedImage img = decoder.decode(out.toByteArray(), 8);
    assertEquals(CvType.CV_8UC3, img.bgr().type());
    assertEquals(32, img.sourceWidth());
    double[] bgr = img.bgr().get(12, 16);
    assertTrue(bgr[0] > 200 && bgr[1] > 200 && bgr[2] < 60, "cyan expected: " + java.util.Arrays.toString(bgr));
  }

  @Test
  void pixelLimitIsConfigurable() {
    ImageDecoder strict = new ImageDecoder(1000);
    ImageError e = assertThrows(ImageError.class, () -> strict.decode(TestImages.bytes("photos/china.jpg"), 224));
    assertEquals("too_many_pixels", e.errorClass());
  }

  private static byte[] encode(String ext, Mat mat) {
    MatOfByte buf = new MatOfByte();
    Imgcodecs.imencode(ext, mat, buf);
    return buf.toArray();
  }
}

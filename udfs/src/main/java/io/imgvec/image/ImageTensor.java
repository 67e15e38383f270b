package io.imgvec.image;

/** An encoded image turned into the model's input tensor, with the source image's displayed size. */
public record ImageTensor(float[] tensor, int width, int height) {

  /** Decodes {@code bytes} and preprocesses them; any decoder failure is an {@link ImageError}, never a crash. */
  public static ImageTensor of(byte[] bytes, ImageDecoder decoder, ImagePreprocessor preprocessor) throws ImageError {
    try {
      DecodedImage image = decoder.decode(bytes, preprocessor.resize());
      float[] tensor = new float[preprocessor.tensorLength()];
      try {
        preprocessor.toTensor(image.bgr(), tensor);
      } finally {
        image.bgr().release();
      }
      return new ImageTensor(tensor, image.sourceWidth(), image.sourceHeight());
    } catch (RuntimeException | OutOfMemoryError e) {
      throw new ImageError("decode", "decode_failed", "unexpected decoder failure: " + e, e);
    }
  }
}

package io.imgvec.image;

/**
 * Why one image could not be embedded. {@code stage} is where it failed (read, decode, inference) and
 * {@code errorClass} a stable, machine-readable class; the message is for people.
 */
public final class ImageError extends Exception {
  private static final long serialVersionUID = 1L;

  private final String stage;
  private final String errorClass;

  public ImageError(String stage, String errorClass, String message) {
    super(message);
    this.stage = stage;
    this.errorClass = errorClass;
  }

  public ImageError(String stage, String errorClass, String message, Throwable cause) {
    super(message, cause);
    this.stage = stage;
    this.errorClass = errorClass;
  }

  public String stage() {
    return stage;
  }

  public String errorClass() {
    return errorClass;
  }

  static ImageError decode(String errorClass, String message) {
    return new ImageError("decode", errorClass, message);
  }
}

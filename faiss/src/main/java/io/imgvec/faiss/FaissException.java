package io.imgvec.faiss;

/** A FAISS error (C++ exception, bad argument, closed index or missing native library), never a JVM crash. */
public final class FaissException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public FaissException(String message) {
    super(message);
  }

  public FaissException(String message, Throwable cause) {
    super(message, cause);
  }
}

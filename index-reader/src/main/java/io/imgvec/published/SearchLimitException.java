package io.imgvec.published;

/** A search that would scan more than its caller allows; the message says how much and which setting caps it. */
public final class SearchLimitException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  SearchLimitException(String message) {
    super(message);
  }
}

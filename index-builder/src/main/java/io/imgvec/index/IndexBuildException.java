package io.imgvec.index;

import io.imgvec.util.UserException;

/** The input cannot make the requested index; the message says why and what to do. Nothing is published. */
public final class IndexBuildException extends UserException {
  private static final long serialVersionUID = 1L;

  public IndexBuildException(String message) {
    super(message);
  }
}

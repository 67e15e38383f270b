package io.imgvec.published;

import java.io.IOException;

/** A published version whose LATEST or manifest breaks the publisher's rules: refused, never read further. */
public final class UntrustedIndexException extends IOException {
  private static final long serialVersionUID = 1L;

  public UntrustedIndexException(String message) {
    super(message);
  }
}

package io.imgvec.serving;

/** A request the server refuses: the HTTP status and a reason for the client (no stack trace ever leaves). */
final class RequestException extends Exception {
  private static final long serialVersionUID = 1L;

  private final int status;

  RequestException(int status, String reason) {
    super(reason, null, false, false); // expected outcomes: no stack trace to fill in
    this.status = status;
  }

  int status() {
    return status;
  }
}

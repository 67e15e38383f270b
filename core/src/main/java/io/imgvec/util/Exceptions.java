package io.imgvec.util;

/** Exception messages as one-line reports and error rows use them. */
public final class Exceptions {
  private Exceptions() {}

  /** The first line of {@code e}'s message (engines and file systems add traces and detail below), or its type. */
  public static String firstLine(Throwable e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    return m.lines().findFirst().orElse(m).trim();
  }
}

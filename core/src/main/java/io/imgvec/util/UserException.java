package io.imgvec.util;

/**
 * A problem with what the user gave (a flag, a setting, an input or output location), not a bug: commands report
 * it as one line with the reason and, where one helps, a hint, and exit with status 2.
 */
public class UserException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String hint;

  public UserException(String message) {
    this(message, null);
  }

  public UserException(String message, String hint) {
    super(message);
    this.hint = hint;
  }

  /** What to do about it, or null. */
  public String hint() {
    return hint;
  }
}

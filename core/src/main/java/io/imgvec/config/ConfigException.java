package io.imgvec.config;

/** A configuration value or key that cannot be used; the message says why and what is valid. */
public final class ConfigException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public ConfigException(String message) {
    super(message);
  }
}

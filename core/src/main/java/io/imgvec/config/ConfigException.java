package io.imgvec.config;

import io.imgvec.util.UserException;

/** A configuration value or key that cannot be used; the message says why and what is valid. */
public final class ConfigException extends UserException {
  private static final long serialVersionUID = 1L;

  public ConfigException(String message) {
    super(message);
  }
}

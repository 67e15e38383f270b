package io.imgvec.pipeline;

import io.imgvec.util.UserException;

/** The model failed on every image of a task: a broken model or setting, not bad images, so the job must stop. */
public final class ModelFailedException extends UserException {
  private static final long serialVersionUID = 1L;

  public ModelFailedException(String message, Throwable cause) {
    super(message, "check the model and the model.* settings; bin/imgvec embed checks them on a blank input first");
    initCause(cause);
  }
}

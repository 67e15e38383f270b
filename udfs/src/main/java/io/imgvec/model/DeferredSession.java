package io.imgvec.model;

import java.util.concurrent.CompletableFuture;

/**
 * A session on a model still loading (a started {@link ModelCheck}): opened at the first batch, so a pipeline's
 * decoders start on the first images while the model loads. A model that fails its check fails every batch.
 */
public final class DeferredSession implements InferenceSession {
  private final CompletableFuture<Embedder> model;
  private InferenceSession session;

  public DeferredSession(CompletableFuture<Embedder> model) {
    this.model = model;
  }

  @Override
  public float[][] embed(float[] batch, int count) throws Exception {
    if (session == null) {
      session = ModelCheck.await(model).newSession();
    }
    return session.embed(batch, count);
  }

  @Override
  public void close() {
    if (session != null) {
      session.close();
    }
  }
}

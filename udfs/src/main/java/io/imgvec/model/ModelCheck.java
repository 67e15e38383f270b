package io.imgvec.model;

import io.imgvec.util.Exceptions;
import io.imgvec.util.UserException;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.hadoop.conf.Configuration;

/**
 * Loads the model as the executors will and runs it once on a blank input of the configured size, so that a
 * misconfigured model (unknown output, wrong input size or channels, an output that is not a vector) fails the job
 * with the engine's message before any task starts, instead of turning every image into an error row.
 */
public final class ModelCheck {
  private ModelCheck() {}

  /** Runs the check in the background; {@link #await} gives its result. */
  public static CompletableFuture<Embedder> start(ModelSpec spec, int gpuIndex, Configuration hadoopConf) {
    return CompletableFuture.supplyAsync(() -> run(spec, gpuIndex, hadoopConf));
  }

  /** The started check's embedder, or its failure as thrown (a user error with the engine's message). */
  public static Embedder await(CompletableFuture<Embedder> check) {
    try {
      return check.join();
    } catch (CompletionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : e;
    }
  }

  /** The checked, shared embedder (also the one local-mode tasks get from {@link EmbedderCache}). */
  public static Embedder run(ModelSpec spec, int gpuIndex, Configuration hadoopConf) {
    Embedder embedder;
    try {
      embedder = EmbedderCache.get(spec, gpuIndex, hadoopConf);
    } catch (IOException | RuntimeException e) {
      throw new UserException("cannot use model.uri=" + spec.uri() + ": " + Exceptions.firstLine(e),
          "model.uri takes a .onnx or .pt file or a directory, a Hadoop URI, djl:// or embedded:<name>");
    }
    int side = spec.inputSize();
    try (Embedder.Session session = embedder.newSession()) {
      session.embed(new float[spec.preprocessor().tensorLength()], 1);
    } catch (Exception e) {
      throw new UserException("model " + embedder.modelId() + " fails on a 1x3x" + side + "x" + side + " input: "
          + Exceptions.firstLine(e), "check model.output, model.input-size and model.resize against the model");
    }
    return embedder;
  }
}

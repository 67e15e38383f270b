package io.imgvec.model;

import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.image.ImagePreprocessor;
import java.io.Serializable;

/**
 * What a model is and how to feed it, apart from how it is executed: its URI and engine, the input
 * preprocessing, which output is the embedding and whether to L2-normalise it.
 */
public record ModelSpec(String uri, String name, String engine, int inputSize, int resize, double[] mean,
    double[] std, String output, boolean l2Normalize, int threads, boolean djlOffline, String djlCacheDir)
    implements Serializable {

  public static ModelSpec from(ImgvecConfig config) {
    ModelSpec spec = new ModelSpec(config.get(ConfigKeys.MODEL_URI), config.get(ConfigKeys.MODEL_NAME),
        config.get(ConfigKeys.MODEL_ENGINE), config.get(ConfigKeys.MODEL_INPUT_SIZE),
        config.get(ConfigKeys.MODEL_RESIZE), config.get(ConfigKeys.MODEL_MEAN), config.get(ConfigKeys.MODEL_STD),
        config.get(ConfigKeys.MODEL_OUTPUT), config.get(ConfigKeys.MODEL_L2_NORMALIZE),
        config.get(ConfigKeys.INFERENCE_THREADS), config.get(ConfigKeys.MODEL_DJL_OFFLINE),
        config.get(ConfigKeys.MODEL_DJL_CACHE_DIR));
    spec.preprocessor(); // validates resize against input size up front
    return spec;
  }

  /** The same model run with {@code inferenceThreads} intra-op threads (0 = the engine's default). */
  public ModelSpec withThreads(int inferenceThreads) {
    return new ModelSpec(uri, name, engine, inputSize, resize, mean, std, output, l2Normalize, inferenceThreads,
        djlOffline, djlCacheDir);
  }

  public ImagePreprocessor preprocessor() {
    return new ImagePreprocessor(resize, inputSize, mean, std);
  }

  /**
   * Identifies a loaded model in the per-JVM cache: everything the loaded {@link Embedder} uses (its input size,
   * output and normalisation as well as the model), not the preprocessing done before it.
   */
  String loadKey(String device) {
    return String.join("|", uri, name, engine, device, String.valueOf(threads), String.valueOf(inputSize), output,
        String.valueOf(l2Normalize));
  }
}

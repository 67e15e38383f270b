package io.imgvec.pipeline;

import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.image.ImageDecoder;
import io.imgvec.image.ImageError;
import io.imgvec.image.ImagePreprocessor;
import io.imgvec.image.ImageTensor;
import io.imgvec.model.Embedder;
import io.imgvec.model.EmbedderCache;
import io.imgvec.model.InferenceSession;
import io.imgvec.model.ModelSpec;
import io.imgvec.util.UserException;
import java.io.IOException;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/**
 * Embeds query images exactly as the embed job embedded the indexed ones: the model settings recorded with the
 * index, the same decoder (and its pixel limit) and preprocessing. Thread-safe: each call uses its own session.
 */
public final class QueryImageEmbedder {
  private final Embedder embedder;
  private final ImageDecoder decoder;
  private final ImagePreprocessor preprocessor;

  /**
   * {@code modelSettings} are the index's recorded model.* settings (null: {@code config}'s); the loaded model must
   * be the one the index was built from ({@code modelId}).
   */
  public QueryImageEmbedder(ImgvecConfig config, Map<String, String> modelSettings, String modelId,
      Configuration hadoopConf) throws IOException {
    this(config, modelSettings, modelId, hadoopConf, new ImageDecoder(config.get(ConfigKeys.MAX_PIXELS)));
  }

  /** With {@code decoder} (its own pixel limit: a server's is smaller than a batch job's). */
  public QueryImageEmbedder(ImgvecConfig config, Map<String, String> modelSettings, String modelId,
      Configuration hadoopConf, ImageDecoder decoder) throws IOException {
    ImgvecConfig modelConfig = modelSettings == null ? config : config.with(modelSettings);
    ModelSpec spec = ModelSpec.from(modelConfig);
    this.embedder = EmbedderCache.get(spec, -1, hadoopConf);
    if (!embedder.modelId().equals(modelId)) {
      throw new UserException("the index was built from " + modelId + " but the model configured here is "
          + embedder.modelId(), "set model.uri (and model.*) to the index's model");
    }
    this.decoder = decoder;
    this.preprocessor = spec.preprocessor();
  }

  /** The embedding of an encoded image; undecodable, oversized or unsupported images are {@link ImageError}s. */
  public float[] embed(byte[] bytes) throws ImageError {
    ImageTensor image = ImageTensor.of(bytes, decoder, preprocessor);
    try (InferenceSession session = embedder.newSession()) {
      return session.embed(image.tensor(), 1)[0];
    } catch (Exception e) {
      throw new ImageError("inference", "inference_failed", "model failed on this image: " + e.getMessage(), e);
    }
  }
}

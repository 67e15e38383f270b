package io.imgvec.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgvec.config.ConfigException;
import io.imgvec.config.ImgvecConfig;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModelSpecTest {
  @Test
  void resizeSmallerThanTheInputIsRejected() {
    ConfigException resize = assertThrows(ConfigException.class,
        () -> ModelSpec.from(ImgvecConfig.of(Map.of("model.resize", "100"))));
    assertTrue(resize.getMessage().contains("must be >= model.input-size"), resize.getMessage());
  }

  /** A JVM running jobs one after another must not serve one job's output or normalisation to the next. */
  @Test
  void theLoadedModelsKeyCoversWhatTheEmbedderUses() {
    ModelSpec base = ModelSpec.from(ImgvecConfig.defaults());
    for (var setting : Map.of("model.output", "probabilities", "model.l2-normalize", "false",
        "model.input-size", "192", "model.engine", "PyTorch", "inference.threads", "2").entrySet()) {
      ModelSpec other = ModelSpec.from(ImgvecConfig.of(Map.of(setting.getKey(), setting.getValue())));
      assertNotEquals(base.loadKey("cpu"), other.loadKey("cpu"), setting.getKey());
    }
    assertEquals(base.loadKey("cpu"), ModelSpec.from(ImgvecConfig.of(Map.of("model.mean", "0.5,0.5,0.5")))
        .loadKey("cpu"), "preprocessing does not change the loaded model");
    assertNotEquals(base.loadKey("cpu"), base.loadKey("gpu0"));
  }
}

package io.imgvec.model;

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
}

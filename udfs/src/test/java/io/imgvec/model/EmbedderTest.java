package io.imgvec.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgvec.TestImages;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.image.DecodedImage;
import io.imgvec.image.ImageDecoder;
import io.imgvec.image.ImagePreprocessor;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

class EmbedderTest {
  private static final String[] REENCODINGS = {"flower.png", "flower_q85_420.jpg", "flower_q85_444.jpg",
      "flower_q85_rgb.jpg"};

  @Test
  void bothEnginesEmbedTheShippedModelAlike() throws Exception {
    float[][] onnx = embedAll(Map.of("model.engine", "OnnxRuntime"));
    float[][] torch = embedAll(Map.of("model.engine", "PyTorch"));
    assertEquals(1280, onnx[0].length);
    for (int i = 0; i < onnx.length; i++) {
      assertTrue(cosine(onnx[i], torch[i]) > 0.999, "engines disagree on " + REENCODINGS[i]);
      assertEquals(1.0, Math.sqrt(dot(onnx[i], onnx[i])), 1e-5, "model.l2-normalize is on by default");
    }
    for (int i = 1; i < onnx.length; i++) {
      assertTrue(cosine(onnx[0], onnx[i]) >= 0.99, REENCODINGS[i] + ": " + cosine(onnx[0], onnx[i]));
    }
  }

  @Test
  void modelIdNamesTheFileAndItsHash() throws Exception {
    ModelSpec spec = ModelSpec.from(ImgvecConfig.of(Map.of("model.engine", "PyTorch")));
    try (Embedder e = Embedder.load(spec, -1, new Configuration())) {
      assertEquals("mobilenet_v2_nsfwjs@sha256:fb04d969c22e95844ccc478d6bc9e208b0a3b45878c0d6345b4ac396c041d03d",
          e.modelId());
    }
  }

  @Test
  void unknownOutputNameListsTheOutputs() throws Exception {
    ModelSpec spec = ModelSpec.from(ImgvecConfig.of(Map.of("model.output", "logits")));
    try (Embedder e = Embedder.load(spec, -1, new Configuration()); Embedder.Session s = e.newSession()) {
      IllegalArgumentException err = assertThrows(IllegalArgumentException.class,
          () -> s.embed(new float[3 * 224 * 224], 1));
      assertTrue(err.getMessage().contains("no output named 'logits'"), err.getMessage());
    }
  }

  private static float[][] embedAll(Map<String, String> settings) throws Exception {
    ModelSpec spec = ModelSpec.from(ImgvecConfig.of(settings));
    ImagePreprocessor pre = spec.preprocessor();
    ImageDecoder decoder = new ImageDecoder(100_000_000L);
    float[] batch = new float[REENCODINGS.length * pre.tensorLength()];
    float[] one = new float[pre.tensorLength()];
    for (int i = 0; i < REENCODINGS.length; i++) {
      DecodedImage img = decoder.decode(TestImages.bytes("near-duplicates/" + REENCODINGS[i]), pre.resize());
      pre.toTensor(img.bgr(), one);
      System.arraycopy(one, 0, batch, i * one.length, one.length);
    }
    try (Embedder e = Embedder.load(spec, -1, new Configuration()); Embedder.Session s = e.newSession()) {
      return s.embed(batch, REENCODINGS.length);
    }
  }

  private static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  static double cosine(float[] a, float[] b) {
    return dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
  }

}

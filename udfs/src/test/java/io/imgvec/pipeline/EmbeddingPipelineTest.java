package io.imgvec.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgvec.TestImages;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.image.DecodedImage;
import io.imgvec.image.ImageDecoder;
import io.imgvec.image.ImagePreprocessor;
import io.imgvec.model.Embedder;
import io.imgvec.model.EmbedderCache;
import io.imgvec.model.InferenceSession;
import io.imgvec.model.ModelSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

class EmbeddingPipelineTest {
  private static final ImageFetcher FETCHER = new ImageFetcher(Map.of(), 64 << 20, UriPolicy.of(UriPolicy.ANY, false));
  private static final ImageDecoder DECODER = new ImageDecoder(100_000_000L);
  private static final List<Path> PHOTOS = TestImages.list("photos").stream()
      .filter(p -> p.toString().endsWith(".jpg")).limit(6).toList();

  /**
   * The real model, except that it refuses any batch holding one chosen image (as an engine fails a whole batch
   * on one input it cannot take), and that image alone with a message of its own.
   */
  private record PoisonedSession(InferenceSession real, float[] poison) implements InferenceSession {
    @Override
    public float[][] embed(float[] batch, int count) throws Exception {
      int len = poison.length;
      for (int i = 0; i < count; i++) {
        if (Arrays.equals(batch, i * len, (i + 1) * len, poison, 0, len)) {
          throw new IllegalStateException(count == 1 ? "kernel rejected input: NaN after layer 3"
              : "batch of " + count + " failed");
        }
      }
      return real.embed(batch, count);
    }

    @Override
    public void close() {
      real.close();
    }
  }

  @Test
  void aFailedBatchIsRetriedImageByImageKeepingTheEnginesMessage() throws Exception {
    ModelSpec spec = ModelSpec.from(ImgvecConfig.defaults()).withThreads(1);
    Embedder embedder = EmbedderCache.get(spec, -1, new Configuration());
    ImagePreprocessor pre = spec.preprocessor();
    Path poisoned = PHOTOS.get(2);
    float[] poison = new float[pre.tensorLength()];
    DecodedImage img = DECODER.decode(FETCHER.fetch(poisoned.toUri().toString()), pre.resize());
    pre.toTensor(img.bgr(), poison);
    img.bgr().release();

    List<EmbeddingPipeline.Result<Path>> plain = embed(new EmbeddingPipeline<>(embedder, FETCHER, DECODER, 4, 1, 1,
        new StageTimes()));
    List<EmbeddingPipeline.Result<Path>> retried = embed(new EmbeddingPipeline<>(
        new PoisonedSession(embedder.newSession(), poison), pre, FETCHER, DECODER, 4, 1, 1, new StageTimes()));

    assertEquals(PHOTOS.size(), retried.size());
    for (int i = 0; i < PHOTOS.size(); i++) {
      EmbeddingPipeline.Result<Path> r = retried.get(i);
      assertEquals(PHOTOS.get(i), r.payload(), "results keep the input order");
      if (PHOTOS.get(i).equals(poisoned)) {
        assertNull(r.embedding());
        assertEquals("inference_failed", r.error().errorClass());
        assertEquals("model failed on this image: kernel rejected input: NaN after layer 3", r.error().getMessage());
      } else {
        assertNull(r.error(), () -> r.error().getMessage());
        assertArrayEquals(plain.get(i).embedding().vector(), r.embedding().vector(), 1e-5f,
            "an image retried alone embeds as in its batch: " + PHOTOS.get(i));
      }
    }
  }

  @Test
  void aModelFailingOnEveryImageFailsTheRunWithTheEnginesMessage() throws Exception {
    // The model takes 224x224; fed 112x112 tensors it fails on every image, which no image is to blame for.
    ModelSpec wrongSize = ModelSpec.from(ImgvecConfig.of(Map.of("model.input-size", "112", "model.resize", "112")));
    Embedder embedder = EmbedderCache.get(wrongSize, -1, new Configuration());
    List<EmbeddingPipeline.Result<Path>> seen = new ArrayList<>();
    try (EmbeddingPipeline<Path> pipeline = new EmbeddingPipeline<>(embedder, FETCHER, DECODER, 4, 1, 1,
        new StageTimes())) {
      Iterator<EmbeddingPipeline.Result<Path>> results = pipeline.run(items());
      ModelFailedException e = assertThrows(ModelFailedException.class, () -> {
        while (results.hasNext()) {
          seen.add(results.next());
        }
      });
      assertTrue(e.getMessage().startsWith("the model failed on all 6 images of this task: "), e.getMessage());
      assertTrue(e.getMessage().contains("Got invalid dimensions"), e.getMessage());
    }
    assertEquals(PHOTOS.size(), seen.size(), "every image still gets its error row before the task fails");
    for (EmbeddingPipeline.Result<Path> r : seen) {
      assertTrue(r.error().getMessage().contains("Got invalid dimensions"), r.error().getMessage());
    }
  }

  private static List<EmbeddingPipeline.Result<Path>> embed(EmbeddingPipeline<Path> pipeline) {
    List<EmbeddingPipeline.Result<Path>> out = new ArrayList<>();
    try (pipeline) {
      pipeline.run(items()).forEachRemaining(out::add);
    }
    return out;
  }

  private static Iterator<EmbeddingPipeline.Item<Path>> items() {
    return PHOTOS.stream().map(p -> new EmbeddingPipeline.Item<>(p, p.toUri().toString())).iterator();
  }
}

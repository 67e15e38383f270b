package io.imgvec.pipeline;

import io.imgvec.image.DecodedImage;
import io.imgvec.image.ImageDecoder;
import io.imgvec.image.ImagePreprocessor;
import io.imgvec.io.Digests;
import io.imgvec.model.Embedder;
import io.imgvec.model.EmbedderCache;
import io.imgvec.model.ModelSpec;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.List;
import org.apache.hadoop.conf.Configuration;

/**
 * CPU cost per image of the two stages embedding cannot avoid, measured apart from Spark: decoding + preprocessing +
 * hashing (thread CPU time of one thread, as a decode worker does it) and inference (process CPU time of the model
 * with one intra-op thread, as the job's CPU layout runs it). They bound a job at
 * {@code cores / (decode + inference)} images/s; the benchmark and {@code plan} use them.
 */
public final class CpuProbe {
  private static final int BATCH = 32;

  /** Milliseconds of CPU per image, and the embedding's dimension. */
  public record Costs(double decodeMs, double inferenceMs, int dimension) {
    public double totalMs() {
      return decodeMs + inferenceMs;
    }
  }

  private CpuProbe() {}

  /** Decodes every image {@code passes} times (after one warm-up pass) and infers as many full batches. */
  public static Costs measure(List<byte[]> images, ModelSpec spec, int passes, Configuration conf) throws Exception {
    ModelSpec oneThread = spec.withThreads(1);
    ImagePreprocessor pre = oneThread.preprocessor();
    decodeMsPerImage(images, pre, 1); // warm-up: JIT and OpenCV's first calls
    double decode = decodeMsPerImage(images, pre, passes);
    Embedder embedder = EmbedderCache.get(oneThread, -1, conf);
    float[] batch = new float[BATCH * pre.tensorLength()];
    try (Embedder.Session session = embedder.newSession()) {
      int dimension = session.embed(batch, BATCH)[0].length; // also the warm-up batch
      double inference = inferenceMsPerImage(session, batch, images.size() * passes / BATCH + 1);
      return new Costs(decode, inference, dimension);
    }
  }

  /** Read bytes → decoded, resized, normalised tensor and content hash, as EmbeddingPipeline's workers do. */
  private static double decodeMsPerImage(List<byte[]> images, ImagePreprocessor pre, int passes) throws Exception {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    ImageDecoder decoder = new ImageDecoder(100_000_000L);
    float[] tensor = new float[pre.tensorLength()];
    long start = threads.getCurrentThreadCpuTime();
    for (int p = 0; p < passes; p++) {
      for (byte[] bytes : images) {
        try {
          DecodedImage img = decoder.decode(bytes, pre.resize());
          pre.toTensor(img.bgr(), tensor);
          img.bgr().release();
        } catch (io.imgvec.image.ImageError e) {
          // a bad image costs what it cost to find out; it is counted with the rest
        }
        Digests.sha256(bytes);
      }
    }
    return (threads.getCurrentThreadCpuTime() - start) / 1e6 / Math.max(1, passes * images.size());
  }

  /** Process CPU (the engine may use threads of its own) per image over full batches (after the warm-up batch). */
  private static double inferenceMsPerImage(Embedder.Session session, float[] batch, int batches) throws Exception {
    var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    long start = os.getProcessCpuTime();
    for (int b = 0; b < batches; b++) {
      session.embed(batch, BATCH);
    }
    return (os.getProcessCpuTime() - start) / 1e6 / (batches * BATCH);
  }
}

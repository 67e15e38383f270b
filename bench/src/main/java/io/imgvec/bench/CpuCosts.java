package io.imgvec.bench;

import io.imgvec.config.ImgvecConfig;
import io.imgvec.image.DecodedImage;
import io.imgvec.image.ImageDecoder;
import io.imgvec.image.ImagePreprocessor;
import io.imgvec.io.Digests;
import io.imgvec.io.Json;
import io.imgvec.model.Embedder;
import io.imgvec.model.EmbedderCache;
import io.imgvec.model.ModelSpec;
import io.imgvec.util.Numbers;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;

/**
 * CPU cost per image of the two stages the embed job cannot avoid, measured apart from Spark: decoding +
 * preprocessing + hashing (thread CPU time of one thread, as a decode worker does it) and inference (process CPU
 * time of the default model with one intra-op thread, as the job's CPU layout runs it). They bound the job:
 * {@code cores / (decode + inference)} images/s. Prints one JSON object.
 *
 * <p>Usage: CpuCosts <images dir> <passes over the images>
 */
public final class CpuCosts {
  private static final int BATCH = 32;

  public static void main(String[] args) throws Exception {
    List<byte[]> images = new ArrayList<>();
    try (Stream<Path> files = Files.list(Path.of(args[0]))) {
      for (Path f : files.filter(f -> f.toString().endsWith(".jpg")).sorted().toList()) {
        images.add(Files.readAllBytes(f));
      }
    }
    int passes = Integer.parseInt(args[1]);
    ModelSpec spec = ModelSpec.from(ImgvecConfig.defaults()).withThreads(1);
    ImagePreprocessor pre = spec.preprocessor();
    decodeMsPerImage(images, pre, 1); // warm-up: JIT and OpenCV's first calls
    double decode = decodeMsPerImage(images, pre, passes);
    double inference = inferenceMsPerImage(spec, pre, images.size() * passes / BATCH + 1);
    int cores = Runtime.getRuntime().availableProcessors();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("cores", cores);
    out.put("decode_cpu_ms_per_image", Numbers.round(decode, 2));
    out.put("inference_cpu_ms_per_image", Numbers.round(inference, 2));
    out.put("bound_images_per_s", Numbers.round(cores * 1000 / (decode + inference), 1));
    System.out.println(Json.line(out));
  }

  /** Read bytes → decoded, resized, normalised tensor and content hash, as EmbeddingPipeline's workers do. */
  private static double decodeMsPerImage(List<byte[]> images, ImagePreprocessor pre, int passes) throws Exception {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    ImageDecoder decoder = new ImageDecoder(100_000_000L);
    float[] tensor = new float[pre.tensorLength()];
    long start = threads.getCurrentThreadCpuTime();
    for (int p = 0; p < passes; p++) {
      for (byte[] bytes : images) {
        DecodedImage img = decoder.decode(bytes, pre.resize());
        pre.toTensor(img.bgr(), tensor);
        img.bgr().release();
        Digests.sha256(bytes);
      }
    }
    return (threads.getCurrentThreadCpuTime() - start) / 1e6 / (passes * images.size());
  }

  /** Process CPU (the engine may use threads of its own) per image over full batches, after one warm-up batch. */
  private static double inferenceMsPerImage(ModelSpec spec, ImagePreprocessor pre, int batches) throws Exception {
    var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    Embedder embedder = EmbedderCache.get(spec, -1, new Configuration());
    float[] batch = new float[BATCH * pre.tensorLength()];
    try (Embedder.Session session = embedder.newSession()) {
      session.embed(batch, BATCH);
      long start = os.getProcessCpuTime();
      for (int b = 0; b < batches; b++) {
        session.embed(batch, BATCH);
      }
      return (os.getProcessCpuTime() - start) / 1e6 / (batches * BATCH);
    }
  }
}

package io.imgvec.bench;

import io.imgvec.config.ImgvecConfig;
import io.imgvec.io.Json;
import io.imgvec.model.ModelSpec;
import io.imgvec.pipeline.CpuProbe;
import io.imgvec.util.Numbers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;

/**
 * CPU cost per image of decoding and inference ({@link CpuProbe}) on the test photos, and the bound they imply,
 * {@code cores / (decode + inference)} images/s. Prints one JSON object.
 *
 * <p>Usage: CpuCosts <images dir> <passes over the images>
 */
public final class CpuCosts {
  public static void main(String[] args) throws Exception {
    List<byte[]> images = new ArrayList<>();
    try (Stream<Path> files = Files.list(Path.of(args[0]))) {
      for (Path f : files.filter(f -> f.toString().endsWith(".jpg")).sorted().toList()) {
        images.add(Files.readAllBytes(f));
      }
    }
    CpuProbe.Costs costs = CpuProbe.measure(images, ModelSpec.from(ImgvecConfig.defaults()),
        Integer.parseInt(args[1]), new Configuration());
    int cores = Runtime.getRuntime().availableProcessors();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("cores", cores);
    out.put("decode_cpu_ms_per_image", Numbers.round(costs.decodeMs(), 2));
    out.put("inference_cpu_ms_per_image", Numbers.round(costs.inferenceMs(), 2));
    out.put("bound_images_per_s", Numbers.round(cores * 1000 / costs.totalMs(), 1));
    System.out.println(Json.line(out));
  }
}

package io.imgvec.bench;

import io.imgvec.config.ImgvecConfig;
import io.imgvec.image.DecodedImage;
import io.imgvec.image.ImageDecoder;
import io.imgvec.image.ImagePreprocessor;
import io.imgvec.io.Json;
import io.imgvec.jobs.embed.EmbedJob;
import io.imgvec.jobs.run.RunSummary;
import io.imgvec.jobs.run.SparkSessions;
import io.imgvec.model.Embedder;
import io.imgvec.model.EmbedderCache;
import io.imgvec.model.ModelSpec;
import io.imgvec.util.Numbers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;

/**
 * End-to-end embed job throughput against raw model throughput (same model, batch size and threads, tensors decoded
 * beforehand), side by side in one JVM, for one engine and thread setting (libtorch fixes its thread count once
 * per JVM, so bench/embed.sh starts one JVM per setting). Also ms/image per stage. Appends to embed.json.
 *
 * <p>Usage: EmbedBench <images dir> <results dir> <image count> <engine:inferenceThreads:decodeThreads>
 */
public final class EmbedBench {
  private static final int BATCH = 32;

  public static void main(String[] args) throws Exception {
    Path images = Path.of(args[0]);
    Path results = Files.createDirectories(Path.of(args[1]));
    int count = Integer.parseInt(args[2]);
    Path work = Files.createDirectories(results.resolve("tmp"));
    Path manifest = writeManifest(images, work.resolve("manifest.csv"), count);
    Path warmup = writeManifest(images, work.resolve("warmup.csv"), 8);

    Path reportFile = results.resolve("embed.json");
    @SuppressWarnings("unchecked")
    Map<String, Object> report = Files.exists(reportFile) ? Json.PRETTY.readValue(reportFile.toFile(), Map.class)
        : new LinkedHashMap<>(Map.of("benchmark", "embed", "cores", Runtime.getRuntime().availableProcessors(),
            "spark_master", "local[1] (one task: its decode threads prefetch beside inference)", "runs",
            new ArrayList<>()));
    @SuppressWarnings("unchecked")
    List<Object> runs = (List<Object>) report.get("runs");
    try (SparkSession spark = SparkSessions.create("imgvec-bench",
        ImgvecConfig.of(Map.of("spark.master", "local[1]")))) {
      String[] parts = args[3].split(":");
      ImgvecConfig conf = ImgvecConfig.of(Map.of("model.engine", parts[0], "inference.threads", parts[1],
          "decode.threads", parts[2], "inference.batch-size", String.valueOf(BATCH)));
      double raw = rawImagesPerSecond(conf, images, count);
      EmbedJob.run(spark, warmup.toString(), work.resolve("warmup-out").toString(), conf);
      RunSummary job = EmbedJob.run(spark, manifest.toString(), work.resolve("out").toString(), conf);
      long writeStart = System.nanoTime();
      spark.read().parquet(work.resolve("out/embeddings").toString()).write().mode("overwrite")
          .parquet(work.resolve("rewrite").toString());
      double writeMs = (System.nanoTime() - writeStart) / 1e6 / count;
      double e2e = (long) job.get("embedded") / (double) job.get("duration_s");
      Map<String, Object> run = new LinkedHashMap<>();
      run.put("engine", parts[0]);
      run.put("inference_threads", Integer.parseInt(parts[1]));
      run.put("decode_threads", Integer.parseInt(parts[2]));
      run.put("batch_size", BATCH);
      run.put("images", count);
      run.put("raw_model_images_per_s", round(raw));
      run.put("end_to_end_images_per_s", round(e2e));
      run.put("ratio", round(e2e / raw));
      @SuppressWarnings("unchecked")
      Map<String, Object> stages = new LinkedHashMap<>((Map<String, Object>) job.get("stage_ms_per_image"));
      stages.put("write", round(writeMs));
      run.put("stage_ms_per_image", stages);
      run.put("job_summary", job.fields());
      System.out.println("[bench] " + run.entrySet().stream().limit(9).toList());
      runs.add(run);
    }
    Json.PRETTY.writeValue(reportFile.toFile(), report);
    System.out.println("[bench] wrote " + reportFile);
  }

  /** Batches of already-decoded tensors through the same shared model the job uses. */
  private static double rawImagesPerSecond(ImgvecConfig conf, Path images, int count) throws Exception {
    ModelSpec spec = ModelSpec.from(conf);
    Embedder embedder = EmbedderCache.get(spec, -1, new Configuration());
    ImagePreprocessor pre = spec.preprocessor();
    ImageDecoder decoder = new ImageDecoder(100_000_000L);
    List<Path> files = photos(images);
    float[] batch = new float[BATCH * pre.tensorLength()];
    float[] one = new float[pre.tensorLength()];
    for (int i = 0; i < BATCH; i++) {
      DecodedImage img = decoder.decode(Files.readAllBytes(files.get(i % files.size())), pre.resize());
      pre.toTensor(img.bgr(), one);
      img.bgr().release();
      System.arraycopy(one, 0, batch, i * one.length, one.length);
    }
    try (Embedder.Session session = embedder.newSession()) {
      session.embed(batch, BATCH);
      int batches = (count + BATCH - 1) / BATCH;
      long start = System.nanoTime();
      for (int b = 0; b < batches; b++) {
        session.embed(batch, BATCH);
      }
      return batches * BATCH / ((System.nanoTime() - start) / 1e9);
    }
  }

  private static Path writeManifest(Path images, Path manifest, int count) throws Exception {
    List<Path> files = photos(images);
    List<String> lines = new ArrayList<>(List.of("image_id,uri"));
    for (int i = 0; i < count; i++) {
      lines.add("img" + i + "," + files.get(i % files.size()).toUri());
    }
    return Files.write(manifest, lines);
  }

  private static List<Path> photos(Path images) throws Exception {
    try (Stream<Path> files = Files.list(images)) {
      return files.filter(f -> f.toString().endsWith(".jpg")).sorted().toList();
    }
  }

  private static double round(double v) {
    return Numbers.round(v, 2);
  }
}

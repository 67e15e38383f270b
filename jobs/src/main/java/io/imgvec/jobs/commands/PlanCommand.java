package io.imgvec.jobs.commands;

import static org.apache.spark.sql.functions.col;

import com.fasterxml.jackson.databind.JsonNode;
import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.faiss.Metric;
import io.imgvec.image.ImageError;
import io.imgvec.index.IndexBuildException;
import io.imgvec.index.IndexPlan;
import io.imgvec.index.IndexPlanner;
import io.imgvec.io.Json;
import io.imgvec.jobs.embed.EmbedJob;
import io.imgvec.jobs.embed.ManifestReader;
import io.imgvec.jobs.embed.ManifestRules;
import io.imgvec.jobs.embed.local.LocalEmbedJob;
import io.imgvec.jobs.run.Locations;
import io.imgvec.jobs.run.RunSummary;
import io.imgvec.model.ModelCheck;
import io.imgvec.model.ModelSpec;
import io.imgvec.pipeline.CpuProbe;
import io.imgvec.pipeline.ImageFetcher;
import io.imgvec.util.Numbers;
import io.imgvec.util.UserException;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * What an embed run and its index will take, before running them: reads the manifest, measures read, decode and
 * inference per image on a sample here, and estimates time on this machine, time and cost on the instance types of
 * {@code conf/instances.json}, embeddings storage, and index size, memory and build time per index type.
 *
 * <p>The estimate for this machine models the runner {@code embed} would use ({@link LocalEmbedJob#runsLocally}):
 * its fixed start-up plus count × CPU per image / (tasks × {@value #EFFICIENCY}, the share of the CPU bound the embed
 * job reaches, bench/embed-cli.sh), unless reading the images is slower. The Spark runner's start-up is what this
 * command took to start Spark, read the manifest and load the model, the steps an embed run on Spark takes first;
 * the local runner's is the JVM's start before Spark plus the model's load, which it overlaps with reading the
 * manifest. With a local master both are given ({@code seconds_by_runner}).
 */
public final class PlanCommand {
  /** Share of the decode + inference CPU bound the embed job reaches (bench/embed-cli.sh: 0.90). */
  static final double EFFICIENCY = 0.9;
  /** Writing the output and stopping the JVM, beyond the start-up this command measures (either runner). */
  static final double END_SECONDS = 1.5;
  /** Index build cost per vector and dimension, IVF (bench/stream.sh: rebuild of 1.1M x 512 vectors). */
  static final double BUILD_MICROS_PER_VECTOR_DIM = 0.25;

  private PlanCommand() {}

  /** {@code bootSeconds}: the JVM's uptime before Spark started (what a local run spends before its own work). */
  public static RunSummary run(SparkSession spark, String manifestUri, int sample, Path instancesFile, ImgvecConfig config,
      double bootSeconds) throws Exception {
    var hadoopConf = spark.sparkContext().hadoopConfiguration();
    Locations.requireReadable("manifest", manifestUri, hadoopConf);
    Dataset<Row> manifest = ManifestReader.read(spark, manifestUri, config.get(ConfigKeys.MANIFEST_FORMAT));
    long count = manifest.count();
    long modelStart = System.nanoTime();
    var model = EmbedJob.startModelCheck(spark, config);
    long[] modelReady = {0};
    model.thenRun(() -> modelReady[0] = System.nanoTime());
    Dataset<Row> clean = manifest.filter(col(ManifestReader.ISSUE).isNull());
    List<String> uris = clean.sample(Math.min(1.0, 2.0 * sample / Math.max(1, count)), 42).limit(sample)
        .select(ManifestReader.URI).as(Encoders.STRING()).collectAsList();
    ModelCheck.await(model);
    double startupSeconds = ManagementFactory.getRuntimeMXBean().getUptime() / 1e3;
    double modelLoadSeconds = (modelReady[0] - modelStart) / 1e9;
    if (uris.isEmpty()) {
      throw new UserException("manifest " + manifestUri + " has no usable rows to sample");
    }
    ImageFetcher fetcher = EmbedJob.fetcher(spark, config, false);
    org.apache.hadoop.fs.Path manifestPath = new org.apache.hadoop.fs.Path(manifestUri);
    // qualified, as embed's: a manifest's relative URIs resolve against its folder, not the working directory
    String manifestDir = manifestPath.getFileSystem(hadoopConf).makeQualified(manifestPath).getParent().toString();
    List<byte[]> images = new ArrayList<>();
    long readNanos = 0;
    int unreadable = 0;
    for (String uri : uris) {
      long t = System.nanoTime();
      try {
        images.add(fetcher.fetch(ManifestRules.resolve(manifestDir, uri)));
      } catch (ImageError e) {
        unreadable++;
      }
      readNanos += System.nanoTime() - t;
    }
    if (images.isEmpty()) {
      throw new UserException("none of the " + uris.size() + " sampled images of " + manifestUri + " can be read");
    }
    CpuProbe.Costs costs = CpuProbe.measure(images, ModelSpec.from(config), Math.max(1, 64 / images.size()),
        hadoopConf);
    double readMs = readNanos / 1e6 / uris.size();
    int cores = spark.sparkContext().defaultParallelism();
    double localRate = Math.min(cores * EFFICIENCY * 1000 / costs.totalMs(), cores * 1000 / Math.max(readMs, 1e-3));
    Map<String, Object> byRunner = new LinkedHashMap<>();
    byRunner.put("spark", Numbers.round(startupSeconds + END_SECONDS + count / localRate, 1));
    int localTasks = LocalEmbedJob.tasks(config);
    if (localTasks > 0) {
      double rate = Math.min(localTasks * EFFICIENCY * 1000 / costs.totalMs(), localTasks * 1000 / Math.max(readMs,
          1e-3));
      byRunner.put("local", Numbers.round(bootSeconds + modelLoadSeconds + END_SECONDS + count / rate, 1));
    }
    String runner = LocalEmbedJob.runsLocally(manifestUri, config) ? "local" : "spark";

    Map<String, Object> measured = new LinkedHashMap<>();
    measured.put("sampled_images", uris.size());
    measured.put("unreadable_in_sample", unreadable);
    measured.put("read_ms_per_image", Numbers.round(readMs, 2));
    measured.put("decode_cpu_ms_per_image", Numbers.round(costs.decodeMs(), 2));
    measured.put("inference_cpu_ms_per_image", Numbers.round(costs.inferenceMs(), 2));
    measured.put("startup_s", Numbers.round(startupSeconds, 2));
    measured.put("jvm_boot_s", Numbers.round(bootSeconds, 2));
    measured.put("model_load_s", Numbers.round(modelLoadSeconds, 2));
    measured.put("cores", cores);
    return new RunSummary("plan")
        .put("manifest", manifestUri)
        .put("images", count)
        .put("dimension", costs.dimension())
        .put("measured_here", measured)
        .put("local_images_per_s", Numbers.round(localRate, 1))
        .put("runner", runner)
        .put("local_seconds", byRunner.get(runner))
        .put("seconds_by_runner", byRunner)
        .put("instances", instances(instancesFile, count, costs))
        .put("embeddings_storage_bytes", count * (4L * costs.dimension() + 200))
        .put("indexes", indexes(count, costs.dimension(), config));
  }

  /** One node of each instance type: images/s, hours and cost for the whole manifest. */
  private static List<Map<String, Object>> instances(Path file, long count, CpuProbe.Costs costs)
      throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new UserException("instance list " + file + " not found",
          "pass --instances <file> (conf/instances.json is the template)");
    }
    List<Map<String, Object>> out = new ArrayList<>();
    for (JsonNode i : Json.MAPPER.readTree(file.toFile()).get("instances")) {
      int vcpus = i.get("vcpus").asInt();
      double speed = i.path("cpu_speed_vs_here").asDouble(1.0);
      boolean gpu = i.path("gpus").asInt(0) > 0;
      double cpuRate = vcpus * speed * EFFICIENCY * 1000 / (gpu ? costs.decodeMs() : costs.totalMs());
      double rate = gpu ? Math.min(cpuRate, i.get("gpu_images_per_s").asDouble()) : cpuRate;
      double hours = count / rate / 3600;
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("name", i.get("name").asText());
      row.put("images_per_s", Numbers.round(rate, 1));
      row.put("hours", Numbers.round(hours, 3));
      row.put("usd", Numbers.round(hours * i.get("usd_per_hour").asDouble(), 2));
      row.put("basis", gpu ? "ESTIMATE: GPU inference at gpu_images_per_s, decoding on the vCPUs as measured here"
          : "measured CPU per image here x vcpus x cpu_speed_vs_here");
      out.add(row);
    }
    return out;
  }

  /** Each index type at this count and dimension: bytes (= memory when served), build time, or why not. */
  private static List<Map<String, Object>> indexes(long count, int d, ImgvecConfig config) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (String type : List.of("Flat", "IVF-Flat", "PQ", "IVF-PQ")) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("type", type);
      try {
        IndexPlan plan = IndexPlanner.plan(type, count, d, config.get(ConfigKeys.INDEX_MEMORY_BUDGET), 0, 0, 0,
            config.get(ConfigKeys.INDEX_TRAIN_POINTS_PER_CENTROID), Metric.L2);
        long bytes = IndexPlanner.estimatedBytes(plan, count, d);
        row.put("factory", plan.factory());
        row.put("index_bytes", bytes);
        row.put("serving_ram_bytes", bytes + 100 * count); // + the id map on the heap
        row.put("build_seconds", Numbers.round(count * d * BUILD_MICROS_PER_VECTOR_DIM / 1e6, 1));
      } catch (IndexBuildException e) {
        row.put("not_possible", e.getMessage());
      }
      out.add(row);
    }
    return out;
  }

  /** The plan as a table for people (the JSON summary follows it). */
  public static String table(RunSummary plan) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format("%,d images, %d-d embeddings; here, on the %s runner: about %.0f s%n",
        plan.get("images"), plan.get("dimension"), plan.get("runner"), plan.get("local_seconds")));
    sb.append(String.format("%-14s %12s %10s %10s  %s%n", "instance", "images/s", "hours", "USD", "basis"));
    for (Object o : (List<?>) plan.get("instances")) {
      Map<?, ?> r = (Map<?, ?>) o;
      sb.append(String.format("%-14s %12.1f %10.3f %10.2f  %s%n", r.get("name"), r.get("images_per_s"),
          r.get("hours"), r.get("usd"), r.get("basis")));
    }
    sb.append(String.format("embeddings storage: about %,d bytes%n", plan.get("embeddings_storage_bytes")));
    sb.append(String.format("%-10s %-22s %16s %16s %10s%n", "index", "factory", "bytes", "serving RAM", "build s"));
    for (Object o : (List<?>) plan.get("indexes")) {
      Map<?, ?> r = (Map<?, ?>) o;
      if (r.containsKey("not_possible")) {
        sb.append(String.format("%-10s %s%n", r.get("type"), r.get("not_possible")));
      } else {
        sb.append(String.format("%-10s %-22s %,16d %,16d %10.1f%n", r.get("type"), r.get("factory"),
            r.get("index_bytes"), r.get("serving_ram_bytes"), r.get("build_seconds")));
      }
    }
    return sb.toString();
  }
}

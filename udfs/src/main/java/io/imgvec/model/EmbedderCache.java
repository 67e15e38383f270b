package io.imgvec.model;

import java.io.IOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;

/**
 * Exactly one loaded model per JVM (per model and device): every task in an executor shares it, and concurrent
 * tasks asking at the same time wait for the single load instead of loading their own copy. A model the driver
 * loaded for its check serves the tasks too when they run in the driver's JVM (local mode).
 */
public final class EmbedderCache {
  private static final Map<String, Embedder> LOADED = new HashMap<>();
  private static final Set<String> LEASED = new HashSet<>();

  private EmbedderCache() {}

  /**
   * The shared embedder for a task, and whether this is the first task in this JVM to use it: a job counts these
   * as its model loads, one per JVM that ran its tasks.
   */
  public record Lease(Embedder embedder, boolean firstInJvm) {}

  public static synchronized Lease lease(ModelSpec spec, int gpuIndex, Configuration hadoopConf) throws IOException {
    Embedder embedder = get(spec, gpuIndex, hadoopConf);
    return new Lease(embedder, LEASED.add(key(spec, gpuIndex)));
  }

  /** The shared embedder, loaded if needed, outside any task (the driver's model check, queries). */
  public static synchronized Embedder get(ModelSpec spec, int gpuIndex, Configuration hadoopConf) throws IOException {
    String key = key(spec, gpuIndex);
    Embedder embedder = LOADED.get(key);
    if (embedder == null) {
      embedder = Embedder.load(spec, gpuIndex, hadoopConf);
      LOADED.put(key, embedder);
    }
    return embedder;
  }

  private static String key(ModelSpec spec, int gpuIndex) {
    return spec.loadKey(gpuIndex < 0 ? "cpu" : "gpu" + gpuIndex);
  }
}

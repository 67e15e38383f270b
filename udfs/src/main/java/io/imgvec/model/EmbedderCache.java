package io.imgvec.model;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;

/**
 * Exactly one loaded model per JVM (per model and device): every task in an executor shares it, and concurrent
 * tasks asking at the same time wait for the single load instead of loading their own copy.
 */
public final class EmbedderCache {
  private static final Map<String, Embedder> LOADED = new HashMap<>();
  private static final AtomicInteger LOADS = new AtomicInteger();

  private EmbedderCache() {}

  /** The shared embedder, and whether this call is the one that loaded it. */
  public record Lease(Embedder embedder, boolean loadedNow) {}

  public static synchronized Lease get(ModelSpec spec, int gpuIndex, Configuration hadoopConf) throws IOException {
    String key = spec.loadKey(gpuIndex < 0 ? "cpu" : "gpu" + gpuIndex);
    Embedder embedder = LOADED.get(key);
    if (embedder != null) {
      return new Lease(embedder, false);
    }
    embedder = Embedder.load(spec, gpuIndex, hadoopConf);
    LOADED.put(key, embedder);
    LOADS.incrementAndGet();
    return new Lease(embedder, true);
  }

  /** How many models this JVM has loaded since it started. */
  public static int loadCount() {
    return LOADS.get();
  }
}

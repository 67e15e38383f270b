package io.imgvec.bench;

import io.imgvec.faiss.FaissIndex;
import io.imgvec.io.Json;
import io.imgvec.published.PublishedIndex;
import io.imgvec.util.Numbers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.conf.Configuration;

/**
 * The serving benchmark's two halves that are not wrk: writes the wrk Lua script POSTing the data set's query
 * vectors, and measures the same searches in-process (same index, same k, same threads) for the ratio.
 *
 * <p>Usage: ServeBench lua <data dir> <script> | ServeBench inprocess <data dir> <threads> <seconds> <k>
 */
public final class ServeBench {
  public static void main(String[] args) throws Exception {
    Path data = Path.of(args[1]);
    int d = Integer.parseInt(Files.readString(data.resolve("dimension")).trim());
    int nq = (int) VectorFiles.rows(data.resolve("queries.f32"), d);
    float[] queries = VectorFiles.read(data.resolve("queries.f32"), d, 0, nq);
    if (args[0].equals("lua")) {
      writeLua(queries, nq, d, Path.of(args[2]));
    } else {
      System.out.println(Json.line(inProcess(data.resolve("published").toString(), queries, nq, d,
          Integer.parseInt(args[2]), Integer.parseInt(args[3]), Integer.parseInt(args[4]), 0)));
    }
  }

  /** wrk cycles through one request body per query vector. */
  private static void writeLua(float[] queries, int nq, int d, Path script) throws Exception {
    StringBuilder lua = new StringBuilder("wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
        + "local bodies = {\n");
    for (int q = 0; q < nq; q++) {
      float[] v = new float[d];
      System.arraycopy(queries, q * d, v, 0, d);
      lua.append("[[{\"k\": 10, \"vector\": ").append(Json.line(v)).append("}]],\n");
    }
    lua.append("}\nlocal i = 0\nrequest = function()\n  i = i % #bodies + 1\n"
        + "  return wrk.format(nil, \"/search\", nil, bodies[i])\nend\n");
    Files.writeString(script, lua);
  }

  /**
   * Each thread searches the queries in turn, one at a time, for the given time: searches/s, p50/p99. {@code nprobe}
   * 0 keeps the published setting.
   */
  static Map<String, Object> inProcess(String index, float[] queries, int nq, int d, int threads,
      int seconds, int k, int nprobe) throws Exception {
    try (PublishedIndex published = PublishedIndex.open(index, new Configuration(),
        Files.createTempDirectory("imgvec-serve-bench"), new PublishedIndex.LoadOptions(false, true))) {
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      long end = System.nanoTime() + seconds * 1_000_000_000L;
      List<Future<long[]>> runs = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int offset = t * 97;
        runs.add(pool.submit(() -> {
          FaissIndex.setThreads(1); // as the server's request threads
          long[] latencies = new long[4_000_000];
          int n = 0;
          while (System.nanoTime() < end && n < latencies.length) {
            float[] v = new float[d];
            System.arraycopy(queries, ((offset + n) % nq) * d, v, 0, d);
            long start = System.nanoTime();
            published.search(new float[][] {v}, k, nprobe, Map.of(), Long.MAX_VALUE);
            latencies[n++] = System.nanoTime() - start;
          }
          return Arrays.copyOf(latencies, n);
        }));
      }
      long[] all = new long[0];
      for (Future<long[]> run : runs) {
        long[] l = run.get();
        long[] merged = Arrays.copyOf(all, all.length + l.length);
        System.arraycopy(l, 0, merged, all.length, l.length);
        all = merged;
      }
      pool.shutdown();
      Arrays.sort(all);
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("threads", threads);
      out.put("searches_per_s", Numbers.round(all.length / (double) seconds, 1));
      out.put("p50_ms", Numbers.round(Numbers.percentile(all, 0.5) / 1e6, 3));
      out.put("p99_ms", Numbers.round(Numbers.percentile(all, 0.99) / 1e6, 3));
      return out;
    }
  }
}

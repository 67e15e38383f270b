package io.imgvec.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.imgvec.faiss.FaissIndex;
import io.imgvec.io.Json;
import io.imgvec.jobs.StandaloneCluster;
import io.imgvec.published.HeldOutQueries;
import io.imgvec.published.PublishedIndex;
import io.imgvec.util.Numbers;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/**
 * Serving the 10M index of bench/index-cluster.sh: (1) shards searched in parallel: the same data built with
 * {@code --distributed --shards 2} and {@code 4} on the standalone cluster, searched in-process as the server does
 * (fan-out over the index's pool), p50/p99 and searches/s on 1 and 2 threads beside the 1-shard index, all at the
 * 1-shard build's tuned nprobe; (2) lists memory-mapped ({@code serve.mmap}) against loaded: resident memory
 * (anonymous, and file pages mapped) after loading and after searching, and p50/p99 of the held-out queries with
 * the index file evicted from the page cache (cold) and again (warm). Prints one JSON report.
 *
 * <p>Usage: IndexScaleBench <index-cluster work dir> <seconds per load> (and, for one residency run in a JVM of its
 * own: IndexScaleBench --residency <published dir> <mmap> <output json>)
 */
public final class IndexScaleBench {
  private static final int WARM_PASSES = 3;

  public static void main(String[] args) throws Exception {
    if (args[0].equals("--residency")) {
      Path published = Path.of(args[1]);
      HeldOutQueries queries = HeldOutQueries.read(version(published).resolve(HeldOutQueries.FILE));
      Json.MAPPER.writeValue(Path.of(args[3]).toFile(), residency(published, queries, Boolean.parseBoolean(args[2])));
      return;
    }
    Path work = Path.of(args[0]);
    int seconds = Integer.parseInt(args[1]);
    Path single = work.resolve("distributed-2");
    if (!Files.exists(single.resolve("LATEST"))) {
      throw new IllegalStateException(single + " is missing: run bench/index-cluster.sh first");
    }
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("benchmark", "index-scale");
    Map<String, Path> versions = new LinkedHashMap<>();
    versions.put("1", single);
    Map<String, Object> builds = new LinkedHashMap<>();
    try (StandaloneCluster cluster = StandaloneCluster.start(Files.createDirectories(work.resolve("cluster")), 2, 1,
        "6g", true)) {
      for (int shards : new int[] {2, 4}) {
        Path out = work.resolve("shards-" + shards);
        if (!Files.exists(out.resolve("LATEST"))) {
          builds.put(shards + "_shards", build(cluster, work, out, shards));
        }
        versions.put(String.valueOf(shards), out);
      }
    }
    report.put("sharded_builds_timings", builds);
    HeldOutQueries queries = HeldOutQueries.read(version(single).resolve(HeldOutQueries.FILE));
    // every version searched with the 1-shard build's tuned nprobe: each build tunes its own to the latency target
    int nprobe = Json.MAPPER.readTree(version(single).resolve("manifest.json").toFile()).at("/metrics/nprobe").asInt();
    report.put("nprobe", nprobe);
    Map<String, Object> fanOut = new LinkedHashMap<>();
    for (Map.Entry<String, Path> v : versions.entrySet()) {
      List<Object> loads = new ArrayList<>();
      for (int threads : new int[] {1, 2}) {
        loads.add(ServeBench.inProcess(v.getValue().toString(), queries.vectors(), queries.count(),
            queries.dimension(), threads, seconds, 10, nprobe));
      }
      fanOut.put(v.getKey() + "_shards", loads);
      System.err.println("[bench] " + v.getKey() + " shard(s): " + loads);
    }
    report.put("shards_searched_in_parallel", fanOut);
    report.put("mmap", Map.of("memory_mapped", residencyApart(single, true, work), "loaded",
        residencyApart(single, false, work)));
    System.out.println(Json.PRETTY.writeValueAsString(report));
  }

  /**
   * {@link #residency} in a JVM of its own with this one's options: memory that earlier loads freed stays in this
   * process's malloc arenas, where the next load would reuse it unseen.
   */
  private static Object residencyApart(Path published, boolean mmap, Path work) throws Exception {
    Path out = work.resolve("residency.json");
    List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow()));
    cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), IndexScaleBench.class.getName(), "--residency",
        published.toString(), String.valueOf(mmap), out.toString()));
    if (new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(ProcessBuilder.Redirect.INHERIT).start().waitFor() != 0) {
      throw new IllegalStateException("the residency run failed: " + cmd);
    }
    return Json.MAPPER.readValue(out.toFile(), Map.class);
  }

  /** A distributed build of {@code shards} shards through bin/imgvec submit; the timings of its summary. */
  private static JsonNode build(StandaloneCluster cluster, Path work, Path out, int shards) throws Exception {
    List<String> cmd = List.of(StandaloneCluster.HOME.resolve("bin/imgvec").toString(), "submit", "--master",
        cluster.masterUrl(), "--conf", "spark.cores.max=2", "--conf", "spark.executor.cores=1", "--conf",
        "spark.executor.memory=4g", "--", "build-index", "--embeddings", work.resolve("embeddings").toString(),
        "--index.type=IVF-PQ", "--index.nlist=4096", "--index.pq-m=32", "--index.eval-queries=500", "--output",
        out.toString(), "--distributed", "--shards", String.valueOf(shards));
    Process p = new ProcessBuilder(cmd).redirectError(work.resolve("last-run.log").toFile())
        .redirectOutput(work.resolve("summary.json").toFile()).start();
    if (p.waitFor() != 0) {
      throw new IllegalStateException("build-index --shards " + shards + " failed; see "
          + work.resolve("last-run.log"));
    }
    List<String> lines = Files.readAllLines(work.resolve("summary.json"));
    return Json.MAPPER.readTree(lines.get(lines.size() - 1)).get("timings");
  }

  private static Path version(Path published) throws Exception {
    return published.resolve("versions").resolve(Files.readString(published.resolve("LATEST")).trim());
  }

  /**
   * Opens the version (mapped or loaded), evicts its index file from the page cache, then times each held-out query
   * once (cold) and in {@value #WARM_PASSES} more passes (warm), with resident memory before, after loading and
   * after searching.
   */
  private static Map<String, Object> residency(Path published, HeldOutQueries queries, boolean mmap)
      throws Exception {
    Map<String, Object> out = new LinkedHashMap<>();
    Map<String, Long> before = residentKb();
    Path cache = Files.createTempDirectory("imgvec-scale-bench");
    try (PublishedIndex index = PublishedIndex.open(published.toString(), new Configuration(), cache,
        new PublishedIndex.LoadOptions(mmap, false))) {
      out.put("resident_after_load_mb", growthMb(before, residentKb()));
      evict(cache);
      FaissIndex.setThreads(1);
      out.put("cold", timePass(index, queries, 1));
      out.put("warm", timePass(index, queries, WARM_PASSES));
      out.put("resident_after_searching_mb", growthMb(before, residentKb()));
      out.put("index_bytes", index.indexBytes());
    }
    System.err.println("[bench] " + (mmap ? "memory-mapped: " : "loaded: ") + out);
    return out;
  }

  /** Drops the index files' pages from the page cache (posix_fadvise DONTNEED: no root needed). */
  private static void evict(Path cache) throws Exception {
    try (var files = Files.walk(cache)) {
      for (Path f : files.filter(f -> f.toString().endsWith(".faiss")).toList()) {
        Process p = new ProcessBuilder("/usr/bin/python3", "-c", "import os, sys; fd = os.open(sys.argv[1],"
            + " os.O_RDONLY); os.fsync(fd); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)", f.toString())
            .inheritIO().start();
        if (p.waitFor() != 0) {
          throw new IllegalStateException("could not evict " + f + " from the page cache");
        }
      }
    }
  }

  private static Map<String, Object> timePass(PublishedIndex index, HeldOutQueries queries, int passes) {
    int d = queries.dimension();
    long[] nanos = new long[queries.count() * passes];
    for (int i = 0; i < nanos.length; i++) {
      float[] v = Arrays.copyOfRange(queries.vectors(), (i % queries.count()) * d, (i % queries.count() + 1) * d);
      long start = System.nanoTime();
      index.search(v, 10);
      nanos[i] = System.nanoTime() - start;
    }
    Arrays.sort(nanos);
    return Map.of("searches", nanos.length, "p50_ms", Numbers.round(Numbers.percentile(nanos, 0.5) / 1e6, 3),
        "p99_ms", Numbers.round(Numbers.percentile(nanos, 0.99) / 1e6, 3));
  }

  /** RssAnon and RssFile of this process (kB). */
  private static Map<String, Long> residentKb() throws Exception {
    Map<String, Long> kb = new LinkedHashMap<>();
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("RssAnon:") || line.startsWith("RssFile:")) {
        kb.put(line.substring(0, line.indexOf(':')), Long.parseLong(line.replaceAll("\\D", "")));
      }
    }
    return kb;
  }

  private static Map<String, Object> growthMb(Map<String, Long> before, Map<String, Long> now) {
    return Map.of("anonymous", (now.get("RssAnon") - before.get("RssAnon")) / 1024,
        "file_mapped", (now.get("RssFile") - before.get("RssFile")) / 1024);
  }
}

package io.imgvec.config;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Every setting imgvec knows, with defaults. {@code conf/imgvec.properties} documents them for users. */
public final class ConfigKeys {
  static final Map<String, ConfigKey<?>> ALL = new LinkedHashMap<>();

  /** Every key's name, in the order of this file. */
  public static java.util.Set<String> names() {
    return java.util.Collections.unmodifiableSet(ALL.keySet());
  }

  private static <T> ConfigKey<T> register(ConfigKey<T> key) {
    ALL.put(key.name(), key);
    return key;
  }

  // Model spec
  public static final ConfigKey<String> MODEL_URI = register(ConfigKey.string("model.uri",
      "embedded:mobilenet_v2_nsfwjs", "model file or directory: local path, Hadoop URI (s3a:, hdfs:), djl:// zoo URL,"
          + " or embedded:<name>"));
  public static final ConfigKey<String> MODEL_NAME = register(ConfigKey.string("model.name", "",
      "name used in model_id; empty = derived from the URI"));
  public static final ConfigKey<String> MODEL_ENGINE = register(ConfigKey.choice("model.engine", "auto",
      List.of("auto", "PyTorch", "OnnxRuntime"),
      "inference engine; auto = from the file extension, and for a directory holding both formats ONNX Runtime on"
          + " CPU, PyTorch on GPU"));
  public static final ConfigKey<Integer> MODEL_INPUT_SIZE = register(ConfigKey.intRange("model.input-size", 224, 16,
      2048, "square input side in pixels (center crop size)"));
  public static final ConfigKey<Integer> MODEL_RESIZE = register(ConfigKey.intRange("model.resize", 224, 16, 4096,
      "shorter image side is resized to this before the center crop"));
  public static final ConfigKey<double[]> MODEL_MEAN = register(ConfigKey.triple("model.mean",
      new double[] {0, 0, 0}, "per-channel RGB mean subtracted after scaling pixels to [0,1]"));
  public static final ConfigKey<double[]> MODEL_STD = register(ConfigKey.triple("model.std",
      new double[] {1, 1, 1}, "per-channel RGB std the centred values are divided by"));
  public static final ConfigKey<String> MODEL_OUTPUT = register(ConfigKey.string("model.output", "embedding",
      "which model output is the embedding: an output name or a 0-based index"));
  public static final ConfigKey<Boolean> MODEL_L2_NORMALIZE = register(ConfigKey.bool("model.l2-normalize", true,
      "L2-normalise embeddings (inner product = cosine)"));

  public static final ConfigKey<Boolean> MODEL_DJL_OFFLINE = register(ConfigKey.bool("model.djl-offline", true,
      "DJL never downloads (engines and models come from the jars); false lets djl:// zoo models download. Set in"
          + " every JVM that loads a model, executors included (a -Dai.djl.offline given to the JVM wins)"));
  public static final ConfigKey<String> MODEL_DJL_CACHE_DIR = register(ConfigKey.string("model.djl-cache-dir", "",
      "where DJL extracts engine libraries; empty = $DJL_CACHE_DIR, else <java.io.tmpdir>/imgvec-djl (an executor's"
          + " home directory may not be writable)"));

  // Inference
  public static final ConfigKey<Integer> BATCH_SIZE = register(ConfigKey.intRange("inference.batch-size", 32, 1,
      4096, "images per model call"));
  public static final ConfigKey<String> DEVICE = register(ConfigKey.choice("inference.device", "cpu",
      List.of("cpu", "gpu"), "gpu uses the task's Spark 'gpu' resource, falling back to CPU with a warning"));
  public static final ConfigKey<Integer> INFERENCE_THREADS = register(ConfigKey.intRange("inference.threads", 0, 0,
      1024, "intra-op threads per model call; 0 = auto: the task's cores (spark.task.cpus) on CPU, the engine's"
          + " default on GPU"));

  // Reading and decoding
  public static final ConfigKey<Integer> DECODE_THREADS = register(ConfigKey.intRange("decode.threads", 0, 0, 256,
      "threads per task that read and decode ahead of inference; 0 = auto: the task's cores (spark.task.cpus)"));
  public static final ConfigKey<Integer> PREFETCH_BATCHES = register(ConfigKey.intRange("decode.prefetch-batches", 2,
      1, 64, "batches read and decoded ahead of the one being inferred"));
  public static final ConfigKey<Long> MAX_PIXELS = register(ConfigKey.longRange("decode.max-pixels", 100_000_000L,
      1, Integer.MAX_VALUE, "images declaring more pixels than this are rejected before decoding"));
  public static final ConfigKey<Long> MAX_BYTES = register(ConfigKey.longRange("read.max-bytes", 64L << 20, 1,
      Integer.MAX_VALUE - 8, "image files larger than this are rejected before reading (k/m/g suffixes)"));

  public static final ConfigKey<String> INPUT_ALLOWED_URI_PREFIXES = register(ConfigKey.string(
      "input.allowed-uri-prefixes", "auto", "comma-separated URI prefixes images may be read from (e.g."
          + " s3a://photos/,/data/images/); others become error rows (uri_not_allowed) without being opened. auto ="
          + " stream: remote stores only (s3a:, s3:, hdfs:, gs:, abfs:, never the executors' disks); embed, plan,"
          + " query: every scheme imgvec reads. * = every scheme. Relative manifest URIs never leave the manifest's"
          + " folder"));

  // Embed job
  public static final ConfigKey<String> MANIFEST_FORMAT = register(ConfigKey.choice("manifest.format", "auto",
      List.of("auto", "csv", "jsonl", "parquet"), "manifest format; auto = from the extension"));
  public static final ConfigKey<String> OUTPUT_MODE = register(ConfigKey.choice("output.mode", "overwrite",
      List.of("overwrite", "resume"), "overwrite replaces the output; resume keeps rows already embedded with the"
          + " same model and processes the rest"));
  public static final ConfigKey<String> EMBED_RUNNER = register(ConfigKey.choice("embed.runner", "auto",
      List.of("auto", "spark", "local"), "auto embeds without Spark (threads in this JVM, same outputs) when"
          + " spark.master is local, output.mode is overwrite and the manifest is one CSV or JSON-lines file of at"
          + " most 64 MiB, and on Spark otherwise; spark always uses Spark; local fails where auto would use Spark"));
  public static final ConfigKey<Integer> PARTITIONS = register(ConfigKey.intRange("job.partitions", 0, 0, 1_000_000,
      "inference tasks; 0 = Spark's default parallelism, or more so that a task embeds at most 5000 images"));
  public static final ConfigKey<String> SPARK_MASTER = register(ConfigKey.string("spark.master", "local[*]",
      "Spark master used when the launcher runs a job itself"));

  // Index builder
  public static final ConfigKey<String> INDEX_TYPE = register(ConfigKey.choice("index.type", "auto",
      List.of("auto", "Flat", "IVF-Flat", "PQ", "IVF-PQ", "HNSW"), "index type; auto measures IVF-Flat and IVF-PQ"
          + " candidates (and an HNSW graph where it fits the budget and they miss the target) on a sample and builds"
          + " the best within the latency target (Flat below 10,000 vectors); HNSW is a graph over full vectors"
          + " (efSearch tuned), to which update-index can add but not remove"));
  public static final ConfigKey<Long> INDEX_MEMORY_BUDGET = register(ConfigKey.longRange("index.memory-budget",
      16L << 30, 1 << 20, Long.MAX_VALUE / 2, "bytes the index may take in memory when served (k/m/g suffixes)"));
  public static final ConfigKey<String> INDEX_METRIC = register(ConfigKey.choice("index.metric", "L2",
      List.of("L2", "inner_product"), "distance; for L2-normalised embeddings both rank alike"));
  public static final ConfigKey<Integer> INDEX_NLIST = register(ConfigKey.intRange("index.nlist", 0, 0, 1 << 20,
      "IVF lists; 0 = auto (power of two near 4*sqrt(count))"));
  public static final ConfigKey<Integer> INDEX_PQ_M = register(ConfigKey.intRange("index.pq-m", 0, 0, 4096,
      "PQ bytes per vector (must divide the dimension); 0 = largest that fits the memory budget"));
  public static final ConfigKey<String> INDEX_REFINE = register(ConfigKey.choice("index.refine", "auto",
      List.of("auto", "none", "sq8"), "a refine stage: PQ codes find k x 8 candidates, re-ranked against every vector"
          + " stored in 8-bit codes (d bytes a vector); auto = index.type=auto measures it beside each IVF-PQ"
          + " candidate where it fits the memory budget, and keeps it on a chosen one with metadata columns (filters);"
          + " sq8 = a pinned IVF-PQ or PQ build has it too; none = never"));
  public static final ConfigKey<Integer> INDEX_NPROBE = register(ConfigKey.intRange("index.nprobe", 0, 0, 1 << 20,
      "IVF lists searched per query; 0 = tuned: the first reaching index.target-recall within"
          + " index.latency-headroom x index.target-latency-ms"));
  public static final ConfigKey<Double> INDEX_TARGET_LATENCY_MS = register(ConfigKey.doubleRange(
      "index.target-latency-ms", 1.0, 0.01, 60_000, "single-query p99 latency target used to tune nprobe"));
  public static final ConfigKey<Double> INDEX_LATENCY_HEADROOM = register(ConfigKey.doubleRange(
      "index.latency-headroom", 0.8, 0.1, 1, "the index choice and nprobe tuning keep the predicted p99 within this"
          + " share of index.target-latency-ms, so a busier machine still meets the target"));
  public static final ConfigKey<String> INDEX_LATENCY_MODEL_FILE = register(ConfigKey.string(
      "index.latency-model-file", "", "where this machine's calibrated latency model is kept (the index choice"
          + " predicts p99 from counted work, not timings); empty = ~/.cache/imgvec/latency-model.json; delete it to"
          + " calibrate again"));
  public static final ConfigKey<Double> INDEX_TARGET_RECALL = register(ConfigKey.doubleRange("index.target-recall",
      0.99, 0, 1, "nprobe tuning stops at the first nprobe whose R@10 on the held-out queries reaches this, keeping"
          + " latency headroom; 1 = the most recall the latency target allows"));
  public static final ConfigKey<Boolean> INDEX_REQUIRE_TARGET = register(ConfigKey.bool("index.require-target",
      false, "fail the build (exit 2, nothing published) when the measured R@10 misses index.target-recall within"
          + " index.target-latency-ms; false publishes it and says target_met=false"));
  public static final ConfigKey<Double> INDEX_MAX_CODES_FACTOR = register(ConfigKey.doubleRange(
      "index.max-codes-factor", 4, 0, 1e6, "an IVF query stops probing more lists once it has scanned this many times"
          + " nprobe x the average list length (checked between lists); 0 = no cap"));
  public static final ConfigKey<Double> INDEX_MAX_LIST_FACTOR = register(ConfigKey.doubleRange(
      "index.max-list-factor", 2, 1.5, 1e6, "IVF training splits k-means lists that would hold more than this many"
          + " times the mean list size (they set the tail latency); 1000000 keeps FAISS's k-means lists as they are"));
  public static final ConfigKey<Integer> INDEX_TRAIN_POINTS_PER_CENTROID = register(ConfigKey.intRange(
      "index.train-points-per-centroid", 39, 30, 256, "training sample size per IVF list (FAISS recommends 39-256)"));
  public static final ConfigKey<Integer> INDEX_EVAL_QUERIES = register(ConfigKey.intRange("index.eval-queries", 1000,
      0, 100_000, "held-out queries for recall and latency (at most a tenth of the vectors)"));
  public static final ConfigKey<Integer> INDEX_RETENTION = register(ConfigKey.intRange("index.retention", 5, 2,
      10_000, "published versions kept (the newest ones); at least 2 so readers of the previous one never break"));
  public static final ConfigKey<String> INDEX_METADATA_COLUMNS = register(ConfigKey.string("index.metadata-columns",
      "", "comma-separated carried columns of the embeddings published with the ids, so that searches can filter on"
          + " them (serve: \"filter\": {\"<column>\": \"<value>\"})"));
  public static final ConfigKey<Integer> INDEX_BATCH_SIZE = register(ConfigKey.intRange("index.add-batch-size",
      16384, 1, 1 << 22, "vectors streamed per add call; bounds driver memory"));

  public static final ConfigKey<Boolean> INDEX_DISTRIBUTED = register(ConfigKey.bool("index.distributed", false,
      "add the vectors on the Spark executors (each partition into a copy of the trained index, merged on the"
          + " driver) instead of streaming them through the driver; on by itself above index.distributed-above"));
  public static final ConfigKey<Long> INDEX_DISTRIBUTED_ABOVE = register(ConfigKey.longRange(
      "index.distributed-above", 20_000_000L, 0, Long.MAX_VALUE / 2, "vectors above which build-index adds on the"
          + " executors even without index.distributed=true; 0 = only when asked"));
  public static final ConfigKey<Integer> INDEX_SHARDS = register(ConfigKey.intRange("index.shards", 0, 0, 4096,
      "index files published, split by id range and searched together; 0 = as the memory plan needs (1 unless"
          + " distributed and larger than index.max-shard-bytes)"));
  public static final ConfigKey<Long> INDEX_MAX_SHARD_BYTES = register(ConfigKey.longRange("index.max-shard-bytes",
      0L, 0, Long.MAX_VALUE / 2, "most bytes one index shard may take (k/m/g suffixes); 0 = half of the driver's"
          + " physical memory beyond its heap"));

  // Streaming (bin/imgvec stream) and index updates (bin/imgvec update-index)
  public static final ConfigKey<String> STREAM_TRIGGER = register(ConfigKey.string("stream.trigger",
      "processing-time=10s", "when micro-batches start: available-now (what the topic holds now, then stop) or"
          + " processing-time=<duration> (every 500ms, 10s, 5m, ... until stopped)"));
  public static final ConfigKey<Long> STREAM_MAX_OFFSETS_PER_TRIGGER = register(ConfigKey.longRange(
      "stream.max-offsets-per-trigger", 10_000, 0, Long.MAX_VALUE / 2, "most records per micro-batch over all"
          + " partitions (a backlog is taken in slices); 0 = no limit"));
  public static final ConfigKey<String> STREAM_STARTING_OFFSETS = register(ConfigKey.choice("stream.starting-offsets",
      "earliest", List.of("earliest", "latest"), "where a new stream (empty checkpoint) starts in the topic; a"
          + " restarted one always resumes from its checkpoint"));
  public static final ConfigKey<Long> STREAM_MAX_RECORD_BYTES = register(ConfigKey.longRange(
      "stream.max-record-bytes", 1L << 20, 16, Integer.MAX_VALUE - 8, "larger record values become error rows"
          + " (oversized_record) without being parsed"));
  public static final ConfigKey<Integer> STREAM_RESTART_ATTEMPTS = register(ConfigKey.intRange(
      "stream.restart-attempts", 10, 0, 1_000_000, "a stream that fails (broker unreachable, executor lost) restarts"
          + " from its checkpoint this many times in a row, 10 s apart, before the job fails"));
  public static final ConfigKey<Double> UPDATE_REBUILD_SHARE = register(ConfigKey.doubleRange(
      "update.rebuild-share", 0.5, 0, 1000, "update-index says a full rebuild is due once the vectors added since"
          + " the index was trained exceed this share of the trained count"));
  public static final ConfigKey<Boolean> UPDATE_REBUILD_IF_DUE = register(ConfigKey.bool("update.rebuild-if-due",
      false, "update-index rebuilds (trains a new index) instead of updating when a rebuild is due"));

  // Metrics
  public static final ConfigKey<String> METRICS_PUSHGATEWAY = register(ConfigKey.string("metrics.pushgateway", "",
      "host:port of a Prometheus Pushgateway; batch jobs (embed, build-index, update-index, stream available-now)"
          + " push their run summary's numbers there when they end; empty = no push"));
  public static final ConfigKey<Integer> METRICS_PORT = register(ConfigKey.intRange("metrics.port", 0, 0, 65535,
      "port of the streaming job's Prometheus exporter on the driver (/metrics); 0 = none"));

  public static final ConfigKey<String> LOG_FORMAT = register(ConfigKey.choice("log.format", "human",
      List.of("human", "json"), "log lines on stderr: human-readable, or one JSON object per line (time, level,"
          + " logger, message, run_id, command, stage) for log stores"));

  // Serving
  public static final ConfigKey<Integer> SERVE_POLL_SECONDS = register(ConfigKey.intRange("serve.poll-seconds", 10, 1,
      86_400, "how often the server reads LATEST and, when it names a new version, loads it beside the current one"));
  public static final ConfigKey<Long> SERVE_MAX_BODY_BYTES = register(ConfigKey.longRange("serve.max-body-bytes",
      16L << 20, 1024, Integer.MAX_VALUE - 8, "largest request body (JSON or image bytes); larger requests get 413"));
  public static final ConfigKey<Integer> SERVE_MAX_BATCH = register(ConfigKey.intRange("serve.max-batch", 1024, 1,
      100_000, "most vectors in one /search/batch request"));
  public static final ConfigKey<Integer> SERVE_TIMEOUT_MS = register(ConfigKey.intRange("serve.request-timeout-ms",
      10_000, 1, 3_600_000, "a request not answered within this many ms gets 503 (time waiting for a thread counts)"));
  public static final ConfigKey<Boolean> SERVE_MMAP = register(ConfigKey.bool("serve.mmap", false,
      "memory-map an IVF index's lists instead of loading them: serves indexes larger than the heap or RAM"));
  public static final ConfigKey<Integer> SERVE_THREADS = register(ConfigKey.intRange("serve.threads", 0, 0, 4096,
      "request threads; 0 = 8 x cores (measured: with fewer, a request queued behind others sets the p99; the"
          + " scheduler shares the cores more fairly)"));

  public static final ConfigKey<String> SERVE_AUTH_TOKEN_FILE = register(ConfigKey.string("serve.auth-token-file", "",
      "file of bearer tokens, one per line; when set, /search* needs 'Authorization: Bearer <token>' (401"
          + " otherwise); empty = no authentication (bind to loopback or a private network)"));
  public static final ConfigKey<Boolean> SERVE_AUTH_METRICS = register(ConfigKey.bool("serve.auth-metrics", false,
      "with serve.auth-token-file, /metrics needs a token too (/healthz and /readyz never do)"));
  public static final ConfigKey<String> SERVE_TLS_KEYSTORE = register(ConfigKey.string("serve.tls-keystore", "",
      "PKCS12 keystore with the server's certificate and key: the server speaks HTTPS only; empty = plain HTTP"));
  public static final ConfigKey<String> SERVE_TLS_KEYSTORE_PASSWORD_FILE = register(ConfigKey.string(
      "serve.tls-keystore-password-file", "", "file holding the keystore's password (never given on the command"
          + " line, where process listings show it)"));
  public static final ConfigKey<Long> SERVE_MAX_IMAGE_PIXELS = register(ConfigKey.longRange("serve.max-image-pixels",
      25_000_000L, 1, Integer.MAX_VALUE, "/search/image refuses images declaring more pixels than this (read from"
          + " the header, before decoding) with 413; 25 MP holds a 24 MP camera photo"));
  public static final ConfigKey<Integer> SERVE_MAX_CONCURRENT_DECODES = register(ConfigKey.intRange(
      "serve.max-concurrent-decodes", 0, 0, 1024, "image queries decoded at once (each may take ~20 bytes per"
          + " pixel); more wait for a turn within their deadline; 0 = the number of cores"));
  public static final ConfigKey<Long> SERVE_MAX_SCAN_PER_REQUEST = register(ConfigKey.longRange(
      "serve.max-scan-per-request", 20_000_000L, 1, Long.MAX_VALUE / 2, "a filtered search may scan at most this many"
          + " vectors or codes over all its queries (estimated before searching; a filter matching most ids on an"
          + " IVF index widens its search to many lists); beyond it the request gets 400"));
  public static final ConfigKey<Long> SERVE_MAX_BATCH_RESULTS = register(ConfigKey.longRange(
      "serve.max-batch-results", 100_000, 1, Long.MAX_VALUE / 2, "/search/batch refuses (400) requests whose vectors"
          + " x k exceed this (the answer's size)"));
  public static final ConfigKey<Boolean> SERVE_MODEL_FROM_INDEX = register(ConfigKey.bool("serve.model-from-index",
      false, "trust the model.uri an index's manifest names (image queries load it); false = a version naming"
          + " another model.uri than the server's is refused, so whoever writes the bucket cannot choose the model"));

  private ConfigKeys() {}
}

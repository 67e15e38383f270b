package io.imgvec.jobs.embed.local;

import io.imgvec.config.ConfigException;
import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.image.ImageDecoder;
import io.imgvec.io.Commit;
import io.imgvec.jobs.embed.EmbedCounts;
import io.imgvec.jobs.embed.EmbedRecords;
import io.imgvec.jobs.embed.EmbedSummary;
import io.imgvec.jobs.embed.ManifestRules;
import io.imgvec.jobs.embed.ModelRecord;
import io.imgvec.jobs.run.Locations;
import io.imgvec.jobs.run.ProgressLog;
import io.imgvec.jobs.run.RunLog;
import io.imgvec.jobs.run.RunSummary;
import io.imgvec.model.DeferredSession;
import io.imgvec.model.Embedder;
import io.imgvec.model.ModelCheck;
import io.imgvec.model.ModelSpec;
import io.imgvec.pipeline.EmbeddingPipeline;
import io.imgvec.pipeline.EmbeddingPipeline.Item;
import io.imgvec.pipeline.EmbeddingPipeline.Result;
import io.imgvec.pipeline.HadoopConfs;
import io.imgvec.pipeline.ImageFetcher;
import io.imgvec.pipeline.StageTimes;
import io.imgvec.pipeline.ThreadLayout;
import java.io.IOException;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionService;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embed job without Spark, for runs on one machine: the same outputs, run summary and errors as
 * {@link EmbedJob}, without the Spark session and per-job costs a fresh process pays on every run (a 640-image run
 * takes 5.8 s instead of 12.9 s; bench/embed-cli.sh). Tasks are threads, as many as {@code spark.master=local[N]}
 * gives Spark, each laid out as a one-core Spark task and taking rows from one shared list, so a slow image holds up
 * no other task; each writes its own part files. The output is staged under {@code <output>/_temporary-<uuid>} and
 * moved into place once every row is written, so a failed run leaves the previous output as it was.
 */
public final class LocalEmbedJob {
  private static final Logger LOG = LoggerFactory.getLogger(LocalEmbedJob.class);
  /** Larger manifests go to Spark: the local reader holds the manifest in memory, and Spark's start-up matters less. */
  static final long MAX_MANIFEST_BYTES = 64L << 20;
  private static final Pattern LOCAL_MASTER = Pattern.compile("local(?:\\[(\\*|\\d+)(?:,\\d+)?])?");

  private final ImgvecConfig config;
  private final Configuration conf;
  private final LocalManifest manifest;
  private final String manifestDir;
  private final CompletableFuture<Embedder> model;
  private final ModelSpec spec;
  private final ThreadLayout layout;
  private final ImageFetcher fetcher;
  private final Commit commit;
  private final String partSuffix = "-" + UUID.randomUUID() + "-c000.snappy.parquet";
  private final AtomicInteger nextRow = new AtomicInteger();
  private final LongAdder rowsDone = new LongAdder();
  private final LongAdder embedded = new LongAdder();
  private final Map<String, LongAdder> errorsByClass = new ConcurrentHashMap<>();
  private final StageTimes times = new StageTimes();
  /** Set when the run fails: tasks take no more rows. */
  private volatile boolean stopping;

  private LocalEmbedJob(ImgvecConfig config, Configuration conf, LocalManifest manifest, String manifestUri,
      CompletableFuture<Embedder> model, ModelSpec spec, ThreadLayout layout, String outputUri) throws IOException {
    this.config = config;
    this.conf = conf;
    this.manifest = manifest;
    this.manifestDir = new Path(manifestUri).getParent().toString();
    this.model = model;
    this.spec = spec;
    this.layout = layout;
    this.fetcher = ImageFetcher.of(HadoopConfs.fromSystemProperties(), config, false);
    this.commit = new Commit(new Path(outputUri, "_temporary-" + UUID.randomUUID()), conf);
  }

  /**
   * Runs the job locally when {@code embed.runner} and the run allow it; null when it must run on Spark (the reason
   * logged when the user might expect the local runner).
   */
  public static RunSummary runIfLocal(String manifestUri, String output, ImgvecConfig config) throws IOException {
    String runner = config.get(ConfigKeys.EMBED_RUNNER);
    if (runner.equals("spark")) {
      return null;
    }
    int tasks = tasks(config);
    String reason = sparkReason(config, tasks);
    if (reason == null) {
      try {
        return run(manifestUri, output, config, tasks);
      } catch (LocalManifest.Unsupported e) {
        reason = e.getMessage();
      }
    }
    if (runner.equals("local")) {
      throw new ConfigException("embed.runner=local cannot run this job (" + reason + "); use embed.runner=auto");
    }
    if (tasks > 0) {
      LOG.info("embedding on Spark: the local runner does not handle {}", reason);
    }
    return null;
  }

  /**
   * Whether {@code embed} would run this manifest without Spark (what {@code plan} models): embed.runner allows it,
   * the master is local, the mode is overwrite and the local reader takes the manifest.
   */
  public static boolean runsLocally(String manifestUri, ImgvecConfig config) throws IOException {
    if (config.get(ConfigKeys.EMBED_RUNNER).equals("spark") || sparkReason(config, tasks(config)) != null) {
      return false;
    }
    try {
      LocalManifest.read(manifestUri, config.get(ConfigKeys.MANIFEST_FORMAT), MAX_MANIFEST_BYTES,
          HadoopConfs.configuration());
      return true;
    } catch (LocalManifest.Unsupported e) {
      return false;
    }
  }

  /** Why the configuration sends a run to Spark before its manifest is read; null if nothing does. */
  private static String sparkReason(ImgvecConfig config, int tasks) {
    return tasks == 0 ? "spark.master is not local"
        : config.get(ConfigKeys.OUTPUT_MODE).equals("resume") ? "output.mode=resume" : null;
  }

  /** The local runner's tasks: as many as the configured local master runs (0 if it is not local). */
  public static int tasks(ImgvecConfig config) {
    return tasks(System.getProperty("spark.master", config.get(ConfigKeys.SPARK_MASTER)));
  }

  /** Concurrent tasks of a local Spark master ({@code local}, {@code local[N]}, {@code local[*]}); 0 if not local. */
  static int tasks(String master) {
    Matcher m = LOCAL_MASTER.matcher(master.trim());
    if (!m.matches()) {
      return 0;
    }
    return m.group(1) == null ? 1
        : m.group(1).equals("*") ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(m.group(1));
  }

  static RunSummary run(String manifestUri, String output, ImgvecConfig config, int tasks)
      throws IOException, LocalManifest.Unsupported {
    long start = System.nanoTime();
    String outputUri = output.replaceAll("/+$", "");
    Configuration conf = HadoopConfs.configuration();
    boolean onGpu = config.get(ConfigKeys.DEVICE).equals("gpu");
    ThreadLayout layout = ThreadLayout.of(config, 1, onGpu); // as a one-core Spark task
    ModelSpec spec = ModelSpec.from(config).withThreads(layout.inferenceThreads());
    // The model and the decoder's native library load while this thread reads the manifest, and the tasks start
    // decoding before the model is ready.
    CompletableFuture<Embedder> checkedModel = ModelCheck.start(spec, onGpu ? 0 : -1, conf);
    CompletableFuture<Void> decoderLibrary = CompletableFuture.runAsync(ImageDecoder::loadNativeLibrary);
    try {
      Locations.requireReadable("manifest", manifestUri, conf);
      RunLog.stage("manifest");
      LocalManifest manifest = LocalManifest.read(manifestUri, config.get(ConfigKeys.MANIFEST_FORMAT),
          MAX_MANIFEST_BYTES, conf);
      Locations.requireWritable("output", outputUri, conf);
      LocalEmbedJob job = new LocalEmbedJob(config, conf, manifest, manifestUri, checkedModel, spec, layout,
          outputUri);
      RunLog.stage("embed");
      long inferStart = System.nanoTime();
      String modelId = job.embedAll(tasks);
      job.commit(outputUri);
      String embeddingsUri = outputUri + "/embeddings";
      ModelRecord.write(embeddingsUri, modelId, config, conf);
      RunSummary summary = job.summary(manifestUri, outputUri, modelId, start, inferStart);
      summary.writeTo(outputUri, conf);
      return summary;
    } catch (RuntimeException | IOException | LocalManifest.Unsupported e) {
      settle(checkedModel, decoderLibrary);
      throw e;
    }
  }

  /**
   * Waits for the loads started in the background: a JVM that exits (on a user error) while a native library
   * loads can abort. Their own failures are reported where their results are used, if anywhere.
   */
  private static void settle(CompletableFuture<?>... loads) {
    for (CompletableFuture<?> load : loads) {
      load.handle((result, failure) -> null).join();
    }
  }

  /**
   * Runs the tasks and returns the model's id. A model that fails its check, or the first task to fail (whichever
   * it is: tasks are awaited as they end), stops the others (they take no more rows), and what they staged is
   * removed (with the output directory if the run made it). Task threads are daemons: a JVM exiting on an error
   * does not wait for them.
   */
  private String embedAll(int tasks) throws IOException {
    FileSystem fs = commit.fileSystem();
    boolean outputExisted = fs.exists(commit.staging().getParent());
    ExecutorService pool = Executors.newFixedThreadPool(tasks, r -> {
      Thread t = new Thread(r, "imgvec-task");
      t.setDaemon(true);
      return t;
    });
    try (ProgressLog progress = new ProgressLog("embed", manifest.rows.size(), 5_000, rowsDone::sum)) {
      CompletionService<Void> ended = new ExecutorCompletionService<>(pool);
      for (int t = 0; t < tasks; t++) {
        int task = t;
        ended.submit(() -> embedTask(task));
      }
      String modelId = ModelCheck.await(model).modelId();
      for (int t = 0; t < tasks; t++) {
        ended.take().get();
      }
      return modelId;
    } catch (RuntimeException | ExecutionException | InterruptedException e) {
      // Not interrupted: a task interrupted inside Hadoop's file calls logs the interrupt's trace.
      stopping = true;
      awaitStopped(pool);
      fs.delete(outputExisted ? commit.staging() : commit.staging().getParent(), true);
      Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
      if (cause instanceof IOException io) {
        throw io;
      }
      throw cause instanceof RuntimeException r ? r : new IllegalStateException("embedding failed: " + cause, cause);
    } finally {
      pool.shutdown();
    }
  }

  private static void awaitStopped(ExecutorService pool) {
    pool.shutdown();
    try {
      pool.awaitTermination(1, TimeUnit.MINUTES);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** One task: its rows' manifest errors, embeddings and image errors into its own part of each dataset. */
  private Void embedTask(int task) throws IOException {
    String part = String.format("part-%05d", task) + partSuffix;
    try (TaskOutputs out = new TaskOutputs(commit.staging(), part, manifest.carried, conf, embedded, errorsByClass,
            rowsDone);
        EmbeddingPipeline<LocalManifest.Row> pipeline = new EmbeddingPipeline<>(new DeferredSession(model),
            spec.preprocessor(), fetcher, new ImageDecoder(config.get(ConfigKeys.MAX_PIXELS)),
            config.get(ConfigKeys.BATCH_SIZE), layout.decodeThreads(), config.get(ConfigKeys.PREFETCH_BATCHES),
            times)) {
      Iterator<Result<LocalManifest.Row>> results = pipeline.run(items(out));
      while (results.hasNext()) {
        Result<LocalManifest.Row> r = results.next();
        // an image embedded means the model loaded: its id is there
        String modelId = r.error() == null ? ModelCheck.await(model).modelId() : null;
        out.write(EmbedRecords.of(r, r.payload().imageId(), modelId, r.payload().carried()));
      }
    }
    return null;
  }

  /** This task's share of the rows to embed; rows the manifest marked go straight to the errors. */
  private Iterator<Item<LocalManifest.Row>> items(TaskOutputs out) {
    return new Iterator<>() {
      private Item<LocalManifest.Row> next;

      @Override
      public boolean hasNext() {
        for (int i; next == null && !stopping && (i = nextRow.getAndIncrement()) < manifest.rows.size(); ) {
          LocalManifest.Row row = manifest.rows.get(i);
          String uri = row.uri() == null ? null : ManifestRules.resolve(manifestDir, row.uri());
          if (row.issue() == null) {
            next = new Item<>(row, uri);
          } else {
            out.write(EmbedRecords.error(row.imageId(), uri, "manifest", row.issue(), row.issueMessage(),
                row.carried()));
          }
        }
        return next != null;
      }

      @Override
      public Item<LocalManifest.Row> next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        Item<LocalManifest.Row> item = next;
        next = null;
        return item;
      }
    };
  }

  /**
   * Publishes the staged datasets by the {@link Commit} protocol: the counts are the staged record; each dataset
   * replaces the output's with one rename, then gets its {@code _SUCCESS} marker, as Spark's committer marks it.
   */
  private void commit(String outputUri) throws IOException {
    EmbedCounts counts = counts();
    commit.markStaged(Map.of("embedded", counts.embedded(), "errors_by_class", counts.errorsByClass()));
    for (String dataset : List.of("embeddings", "errors")) {
      Path target = new Path(outputUri, dataset);
      commit.moveIntoPlace(new Path(commit.staging(), dataset), target, true);
      commit.publish(new Path(target, "_SUCCESS"), new byte[0]);
    }
    commit.clean();
  }

  private RunSummary summary(String manifestUri, String outputUri, String modelId, long startNanos,
      long inferStartNanos) {
    long rows = manifest.rows.size();
    return EmbedSummary.of("local", manifestUri, outputUri, config, modelId, rows, 0, counts(), startNanos,
        inferStartNanos)
        .put("model_loads", 1)
        .put("images_per_executor", Map.of("driver", rows))
        .put("stage_ms_per_image", StageTimes.msPerImage(times.readNanos.sum(), times.decodeNanos.sum(),
            times.inferenceNanos.sum(), rows, embedded.sum()));
  }

  private EmbedCounts counts() {
    Map<String, Long> byClass = new TreeMap<>();
    errorsByClass.forEach((c, n) -> byClass.put(c, n.sum()));
    return new EmbedCounts(embedded.sum(), byClass);
  }
}

package io.imgvec.jobs.embed;

import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.image.ImageDecoder;
import io.imgvec.model.EmbedderCache;
import io.imgvec.model.ModelSpec;
import io.imgvec.pipeline.EmbeddingPipeline;
import io.imgvec.pipeline.EmbeddingPipeline.Item;
import io.imgvec.pipeline.EmbeddingPipeline.Result;
import io.imgvec.pipeline.ImageFetcher;
import io.imgvec.pipeline.StageTimes;
import io.imgvec.pipeline.ThreadLayout;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.TreeMap;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Spark side of inference: wires one partition of manifest rows through the JVM-wide shared model
 * ({@link EmbedderCache}) and an {@link EmbeddingPipeline}, emitting exactly one output row per input row.
 */
public final class EmbedPartition implements MapPartitionsFunction<Row, Row> {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(EmbedPartition.class);

  /** Accumulators the driver reads for the run summary. */
  public record Metrics(LongAccumulator rowsDone, LongAccumulator modelLoads, LongAccumulator readNanos,
      LongAccumulator decodeNanos, LongAccumulator inferenceNanos, CollectionAccumulator<String> rowsByExecutor)
      implements java.io.Serializable {

    public static Metrics create(org.apache.spark.SparkContext sc) {
      return new Metrics(sc.longAccumulator("rows"), sc.longAccumulator("model_loads"), sc.longAccumulator("read_ns"),
          sc.longAccumulator("decode_ns"), sc.longAccumulator("inference_ns"),
          sc.collectionAccumulator("rows_by_executor"));
    }

    public Map<String, Double> stageMsPerImage(long rows, long embedded) {
      return StageTimes.msPerImage(readNanos.value(), decodeNanos.value(), inferenceNanos.value(), rows, embedded);
    }

    /** Rows each executor's tasks finished ({@code executor id TAB rows} per task, summed here). */
    public Map<String, Long> rowsPerExecutor() {
      Map<String, Long> out = new TreeMap<>();
      for (String entry : rowsByExecutor.value()) {
        String[] parts = entry.split("\t");
        out.merge(parts[0], Long.parseLong(parts[1]), Long::sum);
      }
      return out;
    }
  }

  private final ImgvecConfig config;
  private final ImageFetcher fetcher;
  private final String manifestDir;
  private final StructType inputSchema;
  private final List<String> carried;
  private final Metrics metrics;

  public EmbedPartition(ImgvecConfig config, ImageFetcher fetcher, String manifestDir, StructType inputSchema,
      List<String> carried, Metrics metrics) {
    this.config = config;
    this.fetcher = fetcher;
    this.manifestDir = manifestDir;
    this.inputSchema = inputSchema;
    this.carried = carried;
    this.metrics = metrics;
  }

  @Override
  public Iterator<Row> call(Iterator<Row> rows) throws Exception {
    int gpu = gpuIndex();
    ThreadLayout layout = ThreadLayout.of(config, TaskContext.get().cpus(), gpu >= 0);
    ModelSpec spec = ModelSpec.from(config).withThreads(layout.inferenceThreads());
    EmbedderCache.Lease lease = EmbedderCache.lease(spec, gpu, fetcher.hadoopConf());
    if (lease.firstInJvm()) {
      metrics.modelLoads().add(1);
    }
    String modelId = lease.embedder().modelId();
    StageTimes times = new StageTimes();
    EmbeddingPipeline<Row> pipeline = new EmbeddingPipeline<>(lease.embedder(), fetcher,
        new ImageDecoder(config.get(ConfigKeys.MAX_PIXELS)), config.get(ConfigKeys.BATCH_SIZE),
        layout.decodeThreads(), config.get(ConfigKeys.PREFETCH_BATCHES), times);
    long[] taskRows = {0};
    TaskContext.get().addTaskCompletionListener(context -> {
      pipeline.close();
      metrics.rowsByExecutor().add(SparkEnv.get().executorId() + "\t" + taskRows[0]);
      metrics.readNanos().add(times.readNanos.sum());
      metrics.decodeNanos().add(times.decodeNanos.sum());
      metrics.inferenceNanos().add(times.inferenceNanos.sum());
    });
    int issueIndex = inputSchema.fieldIndex(ManifestReader.ISSUE);
    ArrayDeque<Row> rejected = new ArrayDeque<>();
    Iterator<Item<Row>> items = new Iterator<>() {
      private Item<Row> next;

      @Override
      public boolean hasNext() {
        while (next == null && rows.hasNext()) {
          Row row = rows.next();
          if (row.isNullAt(issueIndex)) {
            next = new Item<>(row, resolve(row.getAs(ManifestReader.URI)));
          } else {
            String uri = row.getAs(ManifestReader.URI);
            rejected.add(errorRow(row, uri == null ? null : resolve(uri), "manifest", row.getString(issueIndex),
                row.getAs(ManifestReader.ISSUE_MESSAGE)));
          }
        }
        return next != null;
      }

      @Override
      public Item<Row> next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        Item<Row> item = next;
        next = null;
        return item;
      }
    };
    Iterator<Result<Row>> results = pipeline.run(items);
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        return !rejected.isEmpty() || results.hasNext() || !rejected.isEmpty();
      }

      @Override
      public Row next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        metrics.rowsDone().add(1);
        taskRows[0]++;
        return rejected.isEmpty() ? toRow(results.next(), modelId) : rejected.poll();
      }
    };
  }

  /** The GPU Spark assigned to this task, -1 for CPU; a GPU the engine cannot use falls back to CPU later. */
  private int gpuIndex() {
    if (!config.get(ConfigKeys.DEVICE).equals("gpu")) {
      return -1;
    }
    ResourceInformation gpu = TaskContext.get().resources().get("gpu").getOrElse(() -> null);
    if (gpu == null || gpu.addresses().length == 0) {
      LOG.warn("inference.device=gpu but Spark assigned this task no 'gpu' resource"
          + " (set spark.task.resource.gpu.amount); trying GPU 0");
      return 0;
    }
    return Integer.parseInt(gpu.addresses()[0]);
  }

  /** Manifest URIs without a scheme are relative to the manifest's directory. */
  private String resolve(String uri) {
    return ManifestRules.resolve(manifestDir, uri);
  }

  private Row toRow(Result<Row> r, String modelId) {
    return RowFactory.create(EmbedRecords.of(r, r.payload().getAs(ManifestReader.IMAGE_ID), modelId,
        carried(r.payload())));
  }

  private Row errorRow(Row input, String uri, String stage, String errorClass, String message) {
    return RowFactory.create(EmbedRecords.error(input.getAs(ManifestReader.IMAGE_ID), uri, stage, errorClass, message,
        carried(input)));
  }

  private Object[] carried(Row input) {
    Object[] values = new Object[carried.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = input.get(inputSchema.fieldIndex(carried.get(i)));
    }
    return values;
  }
}

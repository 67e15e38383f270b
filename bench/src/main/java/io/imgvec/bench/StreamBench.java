package io.imgvec.bench;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.input_file_name;

import io.imgvec.io.Digests;
import io.imgvec.io.Json;
import io.imgvec.util.Numbers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The streaming benchmark's two Java halves (bench/stream.sh runs the jobs through bin/imgvec):
 * <ul>
 *   <li>{@code latency <bootstrap> <topic> <image> <rate/s> <seconds> <stream output>}: produces records at a fixed
 *   rate (after a 15 s warm-up at that rate) while a running stream embeds them, notes when each batch file becomes visible in {@code embeddings/}, and
 *   reports produce-to-visible latency per record (record timestamp → first sight of its file);</li>
 *   <li>{@code generate <embeddings dir> <first id> <count> <dimension>}: appends synthetic embeddings (clustered,
 *   with image_id, uri, content_sha256, model_id) for the update-index vs rebuild comparison.</li>
 * </ul>
 */
public final class StreamBench {
  /** Records sent before the measured ones: the stream finds the new topic and settles into its trigger rhythm. */
  private static final int WARMUP_SECONDS = 15;

  private StreamBench() {}

  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "latency" -> latency(args[1], args[2], args[3], Double.parseDouble(args[4]), Integer.parseInt(args[5]),
          Path.of(args[6]));
      case "generate" -> generate(args[1], Long.parseLong(args[2]), Long.parseLong(args[3]),
          Integer.parseInt(args[4]));
      default -> throw new IllegalArgumentException("usage: StreamBench latency|generate ...");
    }
  }

  private static void latency(String bootstrap, String topic, String image, double rate, int seconds, Path output)
      throws Exception {
    Path embeddings = output.resolve("embeddings");
    Map<String, Long> firstSeen = new ConcurrentHashMap<>();
    Thread watcher = new Thread(() -> {
      while (!Thread.currentThread().isInterrupted()) {
        try (Stream<Path> files = Files.exists(embeddings) ? Files.list(embeddings) : Stream.empty()) {
          long now = System.currentTimeMillis();
          files.map(f -> f.getFileName().toString()).filter(f -> f.endsWith(".parquet"))
              .forEach(f -> firstSeen.putIfAbsent(f, now));
          Thread.sleep(10);
        } catch (InterruptedException e) {
          return;
        } catch (Exception e) {
          // a file moved while listed: look again
        }
      }
    });
    watcher.setDaemon(true);
    watcher.start();
    int warmup = (int) Math.round(rate * WARMUP_SECONDS);
    int records = (int) Math.round(rate * seconds);
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("linger.ms", "0");
    long start = System.nanoTime();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(),
        new StringSerializer())) {
      for (int i = 0; i < warmup + records; i++) {
        long due = start + (long) (i / rate * 1e9);
        long wait = due - System.nanoTime();
        if (wait > 0) {
          Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        }
        String id = (i < warmup ? "warmup" : "lat") + i;
        producer.send(new ProducerRecord<>(topic, id, "{\"image_id\":\"" + id + "\",\"uri\":\"" + image + "\"}"));
      }
    }
    try (SparkSession spark = SparkSession.builder().master("local[1]").appName("stream-bench")
        .config("spark.ui.enabled", "false").getOrCreate()) {
      long deadline = System.currentTimeMillis() + 180_000;
      long visible = 0;
      while (visible < records && System.currentTimeMillis() < deadline) {
        Thread.sleep(1000);
        visible = Files.exists(embeddings) ? spark.read().parquet(embeddings.toString())
            .filter(col("image_id").startsWith("lat")).count() : 0;
      }
      watcher.interrupt();
      List<Row> rows = spark.read().parquet(embeddings.toString()).filter(col("image_id").startsWith("lat"))
          .select(input_file_name(), col("kafka_timestamp")).collectAsList();
      long[] latencies = new long[rows.size()];
      for (int i = 0; i < rows.size(); i++) {
        String file = rows.get(i).getString(0);
        long seen = firstSeen.get(file.substring(file.lastIndexOf('/') + 1));
        latencies[i] = seen - rows.get(i).<Timestamp>getAs(1).getTime();
      }
      java.util.Arrays.sort(latencies);
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("rate_per_s", rate);
      out.put("records", records);
      out.put("visible", rows.size());
      out.put("latency_p50_s", Numbers.round(Numbers.percentile(latencies, 0.50) / 1e3, 3));
      out.put("latency_p99_s", Numbers.round(Numbers.percentile(latencies, 0.99) / 1e3, 3));
      out.put("latency_max_s", Numbers.round(latencies[latencies.length - 1] / 1e3, 3));
      System.out.println(Json.line(out));
    }
  }

  private static final StructType EMBEDDINGS = DataTypes.createStructType(List.of(
      DataTypes.createStructField("image_id", DataTypes.StringType, false),
      DataTypes.createStructField("uri", DataTypes.StringType, false),
      DataTypes.createStructField("content_sha256", DataTypes.StringType, false),
      DataTypes.createStructField("model_id", DataTypes.StringType, false),
      DataTypes.createStructField("embedding", DataTypes.createArrayType(DataTypes.FloatType, false), false)));

  private static void generate(String dir, long first, long count, int d) throws Exception {
    try (SparkSession spark = SparkSession.builder().master("local[*]").appName("stream-bench-data")
        .config("spark.ui.enabled", "false").getOrCreate()) {
      spark.range(first, first + count, 1, Math.max(1, (int) (count / 50_000))).toDF()
          .mapPartitions(new Synthetic(d), Encoders.row(EMBEDDINGS))
          .write().mode(SaveMode.Append).parquet(dir);
    }
  }

  /**
   * Vectors with the low intrinsic dimension of real embeddings: a point of a 32-d latent space (around one of 1,000
   * centres whose sizes are skewed, centre c drawn with weight 1/(c+1)) mapped into d dimensions by a fixed random
   * linear map, plus a little noise. The same id always gives the same vector and digest.
   */
  private static final class Synthetic implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    private static final int LATENT = 32;
    private final int d;

    Synthetic(int d) {
      this.d = d;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> ids) {
      Random seeds = new Random(7);
      float[][] centres = new float[1000][LATENT];
      for (float[] c : centres) {
        for (int i = 0; i < LATENT; i++) {
          c[i] = (float) seeds.nextGaussian();
        }
      }
      float[][] map = new float[d][LATENT];
      for (float[] row : map) {
        for (int j = 0; j < LATENT; j++) {
          row[j] = (float) (seeds.nextGaussian() / Math.sqrt(LATENT));
        }
      }
      double[] cumulative = new double[centres.length];
      double total = 0;
      for (int c = 0; c < centres.length; c++) {
        total += 1.0 / (c + 1);
        cumulative[c] = total;
      }
      double sum = total;
      List<Row> rows = new ArrayList<>();
      ids.forEachRemaining(r -> {
        long id = r.getLong(0);
        Random random = new Random(id * 31 + 17);
        int c = java.util.Arrays.binarySearch(cumulative, random.nextDouble() * sum);
        float[] centre = centres[c < 0 ? -c - 1 : c];
        float[] z = new float[LATENT];
        for (int j = 0; j < LATENT; j++) {
          z[j] = centre[j] + (float) (0.3 * random.nextGaussian());
        }
        float[] v = new float[d];
        for (int i = 0; i < d; i++) {
          double x = 0.02 * random.nextGaussian();
          for (int j = 0; j < LATENT; j++) {
            x += map[i][j] * z[j];
          }
          v[i] = (float) x;
        }
        rows.add(RowFactory.create("s" + id, "synthetic://" + id,
            Digests.sha256(("s" + id).getBytes(StandardCharsets.UTF_8)), "synthetic@sha256:00", v));
      });
      return rows.iterator();
    }
  }
}

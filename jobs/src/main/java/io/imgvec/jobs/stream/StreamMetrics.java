package io.imgvec.jobs.stream;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.util.Map;

/**
 * A running stream's Prometheus metrics, served by an exporter on the driver ({@code metrics.port}): Spark's own
 * metrics system knows nothing of records, error classes or Kafka lag, and a driver exporter needs no cluster-side
 * configuration.
 */
public final class StreamMetrics implements AutoCloseable {
  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final Counter records = Counter.builder().name("imgvec_stream_records_total")
      .help("records processed, by result (embedded, deleted, error)").labelNames("result").register(registry);
  private final Counter errors = Counter.builder().name("imgvec_stream_errors_total")
      .help("records that became error rows, by error class").labelNames("class").register(registry);
  private final Histogram batchDuration = Histogram.builder().name("imgvec_stream_batch_duration_seconds")
      .help("micro-batch duration, trigger to commit").classicOnly()
      .classicUpperBounds(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900).register(registry);
  private final Gauge imagesPerSecond = Gauge.builder().name("imgvec_stream_images_per_second")
      .help("images embedded per second in the last micro-batch").register(registry);
  private final Gauge lag = Gauge.builder().name("imgvec_stream_lag_records")
      .help("records behind the end of each topic partition after the last micro-batch").labelNames("partition")
      .register(registry);
  private final Gauge modelLoads = Gauge.builder().name("imgvec_stream_model_loads")
      .help("models loaded by the stream's executor JVMs (one per JVM)").register(registry);
  private final HTTPServer server;

  /** Serves the metrics on 127.0.0.1-and-all-interfaces {@code port} (0: no exporter, metrics kept for nothing). */
  StreamMetrics(int port) throws IOException {
    server = port == 0 ? null : HTTPServer.builder().port(port).registry(registry).buildAndStart();
  }

  /** One micro-batch: its counts (as in its progress line), duration, and lag per partition. */
  void batch(Map<String, Object> counts, double seconds, Map<String, Object> lagByPartition, long loads) {
    records.labelValues("embedded").inc(((Number) counts.get("embedded")).doubleValue());
    records.labelValues("deleted").inc(((Number) counts.get("deleted")).doubleValue());
    records.labelValues("error").inc(((Number) counts.get("errors")).doubleValue());
    @SuppressWarnings("unchecked")
    Map<String, Object> byClass = (Map<String, Object>) counts.get("errors_by_class");
    byClass.forEach((errorClass, n) -> errors.labelValues(errorClass).inc(((Number) n).doubleValue()));
    batchDuration.observe(seconds);
    imagesPerSecond.set(((Number) counts.get("embedded")).doubleValue() / Math.max(seconds, 1e-3));
    lagByPartition.forEach((partition, n) -> {
      if (n instanceof Number behind && !partition.equals("total")) {
        lag.labelValues(partition).set(behind.doubleValue());
      }
    });
    modelLoads.set(loads);
  }

  @Override
  public void close() {
    if (server != null) {
      server.close();
    }
  }
}

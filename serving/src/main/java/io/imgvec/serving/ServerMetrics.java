package io.imgvec.serving;

import io.imgvec.published.PublishedIndex;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;

/** The server's Prometheus metrics, served at {@code /metrics} in the text format. */
final class ServerMetrics implements IndexHolder.Listener {
  static final String CONTENT_TYPE = PrometheusTextFormatWriter.CONTENT_TYPE;

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final Counter requests = Counter.builder().name("imgvec_serve_requests_total")
      .help("requests by endpoint and HTTP status").labelNames("endpoint", "status").register(registry);
  private final Histogram latency = Histogram.builder().name("imgvec_serve_request_duration_seconds")
      .help("time from request to response, by endpoint").labelNames("endpoint").classicOnly()
      .classicUpperBounds(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)
      .register(registry);
  private final Gauge version = Gauge.builder().name("imgvec_serve_index_version_info")
      .help("1 for the index version being served").labelNames("version", "model_id").register(registry);
  private final Gauge vectors = Gauge.builder().name("imgvec_serve_index_vectors")
      .help("vectors in the served index").register(registry);
  private final Gauge indexBytes = Gauge.builder().name("imgvec_serve_index_bytes")
      .help("size of the served index file").register(registry);
  private final Counter reloads = Counter.builder().name("imgvec_serve_reloads_total")
      .help("index versions loaded and swapped in (the first load included)").register(registry);
  private final Counter failedReloads = Counter.builder().name("imgvec_serve_reload_failures_total")
      .help("index versions that failed to load (the previous one kept serving)").register(registry);

  private final Counter refusedVersions = Counter.builder().name("imgvec_serve_refused_versions_total")
      .help("index versions refused because LATEST or their manifest broke the publisher's rules").register(registry);
  private final Gauge lastPoll = Gauge.builder().name("imgvec_serve_last_successful_poll_timestamp_seconds")
      .help("when LATEST was last read without failing (alert on time() minus this)").register(registry);
  private final Gauge lastFailure = Gauge.builder().name("imgvec_serve_last_reload_failure_timestamp_seconds")
      .help("when a poll or version load last failed; 0 = never").register(registry);
  private final Counter deadlines = Counter.builder().name("imgvec_serve_deadline_exceeded_total")
      .help("requests answered 503 because they ran past serve.request-timeout-ms").register(registry);

  void deadlineExceeded() {
    deadlines.inc();
  }

  void observe(String endpoint, int status, long startNanos) {
    requests.labelValues(endpoint, String.valueOf(status)).inc();
    latency.labelValues(endpoint).observe((System.nanoTime() - startNanos) / 1e9);
  }

  @Override
  public synchronized void loaded(PublishedIndex index) {
    version.clear();
    version.labelValues(index.version(), index.modelId()).set(1);
    vectors.set(index.size());
    indexBytes.set(index.indexBytes());
    reloads.inc();
  }

  @Override
  public void loadFailed(String version, Throwable e, boolean refused) {
    (refused ? refusedVersions : failedReloads).inc();
    lastFailure.set(System.currentTimeMillis() / 1000.0);
  }

  @Override
  public void polled() {
    lastPoll.set(System.currentTimeMillis() / 1000.0);
  }

  byte[] scrape() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrometheusTextFormatWriter.create().write(out, registry.scrape());
    return out.toByteArray();
  }
}

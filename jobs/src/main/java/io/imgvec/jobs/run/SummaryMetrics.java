package io.imgvec.jobs.run;

import io.imgvec.util.Exceptions;
import java.time.Duration;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A batch job's run summary as Prometheus gauges, pushed to a Pushgateway when the job ends (it ends before any
 * scrape would find it). Every number of the summary becomes {@code imgvec_<command>_<key>} (nested objects:
 * {@code _<key>_<key>}; {@code _s} becomes {@code _seconds}; true/false become 1/0); the per-class, per-executor and
 * per-stage maps become one gauge with a label; {@code imgvec_<command>_last_run_timestamp_seconds} says when.
 */
public final class SummaryMetrics {
  private static final Logger LOG = LoggerFactory.getLogger(SummaryMetrics.class);
  /** Summary maps keyed by data (class names, executor ids, stages): a label, not part of the metric name. */
  private static final Map<String, String> LABELLED = Map.of("errors_by_class", "class",
      "images_per_executor", "executor", "stage_ms_per_image", "stage");

  private SummaryMetrics() {}

  static PrometheusRegistry registry(RunSummary summary) {
    PrometheusRegistry registry = new PrometheusRegistry();
    String prefix = "imgvec_" + String.valueOf(summary.get("command")).replace('-', '_');
    summary.fields().forEach((key, value) -> add(registry, prefix, key, value));
    Gauge.builder().name(prefix + "_last_run_timestamp_seconds").help("when the run ended").register(registry)
        .set(System.currentTimeMillis() / 1e3);
    return registry;
  }

  /**
   * Pushes {@code summary} to the Pushgateway at {@code hostPort} (PUT: replaces the job's previous push); a failure
   * is logged, never fails the job.
   */
  public static void push(RunSummary summary, String hostPort) {
    String job = "imgvec_" + String.valueOf(summary.get("command")).replace('-', '_');
    try {
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      PrometheusTextFormatWriter.create().write(body, registry(summary).scrape());
      HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://" + hostPort + "/metrics/job/" + job)).timeout(Duration.ofSeconds(10))
          .header("Content-Type", PrometheusTextFormatWriter.CONTENT_TYPE)
          .PUT(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build(),
          HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() / 100 != 2) {
        throw new IOException("HTTP " + response.statusCode() + ": " + response.body());
      }
      LOG.info("pushed the run summary's metrics to the Pushgateway at {} (job {})", hostPort, job);
    } catch (IOException | RuntimeException e) {
      LOG.warn("could not push metrics to the Pushgateway at {}: {}", hostPort, Exceptions.firstLine(e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void add(PrometheusRegistry registry, String prefix, String key, Object value) {
    String name = prefix + "_" + key.replaceAll("[^a-zA-Z0-9_]", "_").replaceAll("_s$", "_seconds");
    if (value instanceof Number || value instanceof Boolean) {
      Gauge.builder().name(name).help(key + " of the run summary").register(registry).set(number(value));
    } else if (value instanceof Map<?, ?> map && LABELLED.containsKey(key)) {
      Gauge gauge = Gauge.builder().name(name).help(key + " of the run summary").labelNames(LABELLED.get(key))
          .register(registry);
      map.forEach((label, n) -> {
        if (n instanceof Number) {
          gauge.labelValues(String.valueOf(label)).set(number(n));
        }
      });
    } else if (value instanceof Map<?, ?> map) {
      map.forEach((k, v) -> add(registry, name, String.valueOf(k), v));
    }
  }

  private static double number(Object value) {
    return value instanceof Boolean b ? (b ? 1 : 0) : ((Number) value).doubleValue();
  }
}

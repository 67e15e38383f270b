package io.imgvec.jobs;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.imgvec.TestImages;
import io.imgvec.io.Json;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Metrics as operators see them: a real Prometheus (Debian's) scrapes a running stream's exporter, a Pushgateway
 * that batch jobs push to and a running server; its HTTP API must then hold the expected series and values, and
 * every metric the Grafana dashboard uses.
 */
public class MetricsIT {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static final Path ALERTS = StandaloneCluster.HOME.resolve("conf/prometheus/imgvec-alerts.yml");

  @TempDir Path tmp;

  @Test
  void prometheusScrapesTheStreamTheServerAndWhatBatchJobsPush() throws Exception {
    int pushgatewayPort = StandaloneCluster.freePort();
    int streamPort = StandaloneCluster.freePort();
    int servePort = StandaloneCluster.freePort();
    int prometheusPort = StandaloneCluster.freePort();
    String pushgateway = "127.0.0.1:" + pushgatewayPort;
    Files.writeString(tmp.resolve("prometheus.yml"), String.join("\n",
        "global: {scrape_interval: 1s, evaluation_interval: 1s}",
        "rule_files: ['" + ALERTS + "']",
        "scrape_configs:",
        "  - {job_name: pushgateway, honor_labels: true, static_configs: [{targets: ['" + pushgateway + "']}]}",
        "  - {job_name: stream, static_configs: [{targets: ['127.0.0.1:" + streamPort + "']}]}",
        "  - {job_name: serve, static_configs: [{targets: ['127.0.0.1:" + servePort + "']}]}", ""));
    List<Process> daemons = new ArrayList<>();
    List<Path> photos = TestImages.list("photos");
    try (KafkaBroker kafka = KafkaBroker.start(tmp.resolve("kafka"))) {
      daemons.add(daemon("pushgateway", "/usr/bin/prometheus-pushgateway", "--web.listen-address=" + pushgateway));
      daemons.add(daemon("prometheus", "/usr/bin/prometheus", "--config.file=" + tmp.resolve("prometheus.yml"),
          "--storage.tsdb.path=" + tmp.resolve("tsdb"), "--web.listen-address=127.0.0.1:" + prometheusPort));
      String prometheus = "http://127.0.0.1:" + prometheusPort;
      for (int i = 0; i < 20; i++) {
        kafka.send("photos", "img" + i, ("{\"image_id\":\"img" + i + "\",\"uri\":\"" + photos.get(i % photos.size())
            + "\"}").getBytes(StandardCharsets.UTF_8));
      }
      kafka.send("photos", null, "not json".getBytes(StandardCharsets.UTF_8));
      String out = tmp.resolve("stream").toString();
      String[] stream = {"--bootstrap-servers", kafka.bootstrapServers(), "--topic", "photos", "--output", out,
          "--checkpoint", tmp.resolve("checkpoint").toString(), "--input.allowed-uri-prefixes=" + TestImages.ROOT};
      Process running = ImgvecProcess.start(tmp, "stream", concat(stream, "--trigger", "processing-time=1s",
          "--metrics.port=" + streamPort));
      daemons.add(running);
      awaitValue(prometheus, "imgvec_stream_records_total{result=\"embedded\"}", 20);
      awaitValue(prometheus, "imgvec_stream_errors_total{class=\"malformed_record\"}", 1);
      awaitValue(prometheus, "sum(imgvec_stream_lag_records)", 0);
      running.destroy();
      running.waitFor();

      String push = "--metrics.pushgateway=" + pushgateway;
      String index = tmp.resolve("index").toString();
      ImgvecProcess.run(tmp, "build-index", "--embeddings", out, "--output", index, push);
      kafka.send("photos", "img0", "{\"image_id\":\"img0\",\"deleted\":true}".getBytes(StandardCharsets.UTF_8));
      ImgvecProcess.run(tmp, "stream1", concat(stream, "--trigger", "available-now", push));
      ImgvecProcess.run(tmp, "update-index", "--index", index, "--embeddings", out, push);
      Path manifest = Files.writeString(tmp.resolve("manifest.csv"), "image_id,uri\na," + photos.get(0).toUri()
          + "\nb," + tmp.resolve("missing.jpg").toUri() + "\n");
      ImgvecProcess.run(tmp, "embed", "--manifest", manifest.toString(), "--output", tmp.resolve("run").toString(),
          push);

      Process serve = ImgvecProcess.start(tmp, "serve", "--index", index, "--port", String.valueOf(servePort));
      daemons.add(serve);
      String server = "http://127.0.0.1:" + servePort;
      awaitOk(server + "/readyz");
      HTTP.send(HttpRequest.newBuilder(URI.create(server + "/search"))
          .POST(HttpRequest.BodyPublishers.ofString("{\"image_id\": \"img1\", \"k\": 3}")).build(),
          HttpResponse.BodyHandlers.ofString());

      awaitValue(prometheus, "imgvec_embed_embedded", 1);
      awaitValue(prometheus, "imgvec_embed_errors_by_class{class=\"not_found\"}", 1);
      awaitValue(prometheus, "imgvec_build_index_count", 20);
      awaitValue(prometheus, "imgvec_stream_deleted", 1);
      awaitValue(prometheus, "imgvec_update_index_update_removed", 1);
      awaitValue(prometheus, "imgvec_serve_index_vectors", 19);
      awaitValue(prometheus, "sum(imgvec_serve_requests_total{endpoint=\"/search\",status=\"200\"})", 1);

      Set<String> present = new TreeSet<>();
      query(prometheus + "/api/v1/label/__name__/values").get("data").forEach(n -> present.add(n.asText()));
      Set<String> used = dashboardMetrics();
      assertTrue(used.size() >= 20, "dashboard metrics: " + used);
      used.removeAll(present);
      assertEquals(Set.of(), used, "metrics the dashboard uses that Prometheus never received");
      // the alert rules run in the same Prometheus: they must evaluate and name only metrics it received
      Set<String> alerting = metricsIn(Files.readString(ALERTS));
      assertTrue(alerting.size() >= 10, "alert rule metrics: " + alerting);
      alerting.removeAll(present);
      assertEquals(Set.of(), alerting, "metrics the alert rules use that Prometheus never received");
      List<String> rules = new ArrayList<>();
      query(prometheus + "/api/v1/rules").at("/data/groups").forEach(g -> g.get("rules").forEach(r ->
          rules.add(r.get("name").asText() + "=" + r.get("health").asText())));
      assertEquals(10, rules.size(), rules.toString());
      assertTrue(rules.stream().allMatch(r -> r.endsWith("=ok")), "every rule evaluates: " + rules);
    } finally {
      for (Process p : daemons) {
        p.destroy();
        p.waitFor(30, TimeUnit.SECONDS);
      }
    }
  }

  /** Every imgvec metric named in conf/grafana's dashboard expressions. */
  static Set<String> dashboardMetrics() throws Exception {
    JsonNode dashboard = Json.MAPPER.readTree(StandaloneCluster.HOME.resolve("conf/grafana/imgvec-dashboard.json")
        .toFile());
    Set<String> names = new TreeSet<>();
    for (JsonNode panel : dashboard.get("panels")) {
      for (JsonNode target : panel.get("targets")) {
        names.addAll(metricsIn(target.get("expr").asText()));
      }
    }
    return names;
  }

  private static Set<String> metricsIn(String expressions) {
    Set<String> names = new TreeSet<>();
    Matcher m = Pattern.compile("imgvec_[a-z0-9_]+").matcher(expressions);
    while (m.find()) {
      names.add(m.group());
    }
    return names;
  }

  private Process daemon(String name, String... cmd) throws Exception {
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve(name + ".log").toFile())
        .start();
  }

  private static String[] concat(String[] a, String... b) {
    List<String> all = new ArrayList<>(List.of(a));
    all.addAll(List.of(b));
    return all.toArray(String[]::new);
  }

  /** Polls Prometheus until {@code promql} has the value {@code expected} (60 s at most). */
  private static void awaitValue(String prometheus, String promql, double expected) {
    await(promql + " = " + expected).atMost(60, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(500))
        .ignoreExceptionsInstanceOf(java.io.IOException.class) // not up yet
        .until(() -> query(prometheus + "/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8))
            .at("/data/result"), result -> result.size() == 1
            && Double.parseDouble(result.get(0).at("/value/1").asText()) == expected);
  }

  private static void awaitOk(String url) {
    await(url + " answers 200").atMost(120, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(500))
        .ignoreExceptionsInstanceOf(java.io.IOException.class) // not listening yet
        .until(() -> HTTP.send(HttpRequest.newBuilder(URI.create(url)).build(),
            HttpResponse.BodyHandlers.discarding()).statusCode() == 200);
  }

  private static JsonNode query(String url) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).build(),
        HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new java.io.IOException(url + " answered " + r.statusCode() + ": " + r.body());
    }
    return Json.MAPPER.readTree(r.body());
  }
}

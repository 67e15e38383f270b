package io.imgvec.jobs.stream;

import com.fasterxml.jackson.core.type.TypeReference;
import io.imgvec.io.Json;
import io.imgvec.util.Exceptions;
import io.imgvec.util.Numbers;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.streaming.StreamingQueryListener;

/** A JSON line per micro-batch on stdout: its counts, images/s and how far the stream is behind the topic. */
final class StreamProgress extends StreamingQueryListener {
  private final StreamBatches batches;
  private final StreamMetrics metrics;

  StreamProgress(StreamBatches batches, StreamMetrics metrics) {
    this.batches = batches;
    this.metrics = metrics;
  }

  @Override
  public void onQueryProgress(QueryProgressEvent event) {
    var p = event.progress();
    Map<String, Object> counts = batches.counts(p.batchId());
    if (counts == null) {
      return; // a trigger that found no new records
    }
    Map<String, Object> line = new LinkedHashMap<>(counts);
    line.put("images_per_second", Numbers.round(((Number) counts.get("embedded")).doubleValue()
        / Math.max(1e-3, p.batchDuration() / 1e3), 3));
    line.put("batch_duration_s", p.batchDuration() / 1e3);
    Map<String, Object> lag = lag(p.sources().length == 0 ? null : p.sources()[0]);
    line.put("lag", lag);
    System.out.println(Json.line(Map.of("stream_progress", line)));
    metrics.batch(counts, p.batchDuration() / 1e3, lag, batches.modelLoads());
  }

  /** Records behind the topic's end, per partition ({@code topic-partition}) and in total. */
  private static Map<String, Object> lag(org.apache.spark.sql.streaming.SourceProgress source) {
    Map<String, Object> lag = new TreeMap<>();
    if (source == null || source.latestOffset() == null || source.endOffset() == null) {
      return lag;
    }
    try {
      Map<String, Map<String, Long>> latest = Json.MAPPER.readValue(source.latestOffset(),
          new TypeReference<>() {});
      Map<String, Map<String, Long>> end = Json.MAPPER.readValue(source.endOffset(), new TypeReference<>() {});
      long total = 0;
      for (var topic : latest.entrySet()) {
        for (var partition : topic.getValue().entrySet()) {
          long behind = partition.getValue() - end.getOrDefault(topic.getKey(), Map.of())
              .getOrDefault(partition.getKey(), partition.getValue());
          lag.put(topic.getKey() + "-" + partition.getKey(), behind);
          total += behind;
        }
      }
      lag.put("total", total);
    } catch (IOException e) {
      lag.put("unknown", Exceptions.firstLine(e));
    }
    return lag;
  }

  @Override
  public void onQueryStarted(QueryStartedEvent event) {}

  @Override
  public void onQueryTerminated(QueryTerminatedEvent event) {}

  @Override
  public void onQueryIdle(QueryIdleEvent event) {}
}

package io.imgvec.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.imgvec.TestImages;
import io.imgvec.io.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every notebook runs headless through {@code bin/notebooks --execute} on real data (the test photos, their
 * near-duplicate re-encodings and bad files; a stream of them from a real broker): no cell may fail, and each
 * notebook shows pictures.
 */
public class NotebooksIT {
  @TempDir Path tmp;

  @Test
  void everyNotebookRunsOnARunAnIndexAndAStream() throws Exception {
    List<String> rows = new ArrayList<>(List.of("image_id,uri,source"));
    for (String folder : List.of("photos", "near-duplicates", "bad")) {
      TestImages.list(folder).forEach(p -> rows.add(folder + "-" + p.getFileName() + "," + p.toUri() + "," + folder));
    }
    Path manifest = Files.write(tmp.resolve("manifest.csv"), rows);
    String run = tmp.resolve("run").toString();
    String index = tmp.resolve("index").toString();
    ImgvecProcess.run(tmp, "embed", "--manifest", manifest.toString(), "--output", run);
    ImgvecProcess.run(tmp, "build-index", "--embeddings", run, "--output", index);
    String stream = tmp.resolve("stream").toString();
    try (KafkaBroker kafka = KafkaBroker.start(tmp.resolve("kafka"))) {
      ImgvecProcess.run(tmp, "produce", "--manifest", manifest.toString(), "--bootstrap-servers",
          kafka.bootstrapServers(), "--topic", "photos");
      kafka.send("photos", null, "not json".getBytes(StandardCharsets.UTF_8));
      ImgvecProcess.run(tmp, "stream", "--bootstrap-servers", kafka.bootstrapServers(), "--topic", "photos",
          "--output", stream, "--checkpoint", tmp.resolve("checkpoint").toString(), "--trigger", "available-now",
          "--max-offsets-per-trigger", "20", "--input.allowed-uri-prefixes=" + TestImages.ROOT);
    }

    ProcessBuilder pb = new ProcessBuilder(StandaloneCluster.HOME.resolve("bin/notebooks").toString(), "--execute")
        .redirectErrorStream(true).redirectOutput(tmp.resolve("notebooks.log").toFile());
    pb.environment().put("IMGVEC_RUN", run);
    pb.environment().put("IMGVEC_INDEX", index);
    pb.environment().put("IMGVEC_STREAM", stream);
    pb.environment().put("IMGVEC_TUNE_VECTORS", "3000"); // the sweep's generated vectors: enough to run every cell
    pb.environment().put("IMGVEC_BUILD", "never"); // Maven has just built it
    pb.environment().put("IMGVEC_CDS", "false");
    Process p = pb.start();
    assertTrue(p.waitFor(15, TimeUnit.MINUTES), "bin/notebooks --execute did not finish");
    assertEquals(0, p.exitValue(), Files.readString(tmp.resolve("notebooks.log")));

    List<Path> notebooks;
    try (Stream<Path> files = Files.list(StandaloneCluster.HOME.resolve("notebooks"))) {
      notebooks = files.filter(f -> f.toString().endsWith(".ipynb")).toList();
    }
    assertEquals(3, notebooks.size(), notebooks.toString());
    for (Path source : notebooks) {
      JsonNode executed = Json.MAPPER.readTree(StandaloneCluster.HOME.resolve("target/notebooks")
          .resolve(source.getFileName()).toFile());
      int pictures = 0;
      for (JsonNode cell : executed.get("cells")) {
        for (JsonNode output : cell.path("outputs")) {
          assertTrue(!output.path("output_type").asText().equals("error"), source + ": " + output);
          pictures += output.path("data").has("image/png") ? 1 : 0;
        }
      }
      assertTrue(pictures >= 1, source + " shows no picture");
    }
    String explore = Files.readString(StandaloneCluster.HOME.resolve("target/notebooks/explore-run.ipynb"));
    assertTrue(explore.contains("near-duplicates-flower_q85"), "near-duplicate pairs found among the re-encodings");
  }
}

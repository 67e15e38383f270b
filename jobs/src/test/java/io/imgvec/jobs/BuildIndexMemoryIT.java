package io.imgvec.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgvec.jobs.cli.Main;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * build-index under a small driver heap: embeddings written as the embed job writes them (large Parquet files) must
 * stream to the driver in bounded pieces, for IVF-Flat, whose build keeps full vectors.
 */
public class BuildIndexMemoryIT {
  private static final int COUNT = 300_000;
  private static final int DIM = 384;

  @TempDir Path tmp;

  @Test
  void ivfFlatBuildFitsASmallHeap() throws Exception {
    Path embeddings = tmp.resolve("embeddings");
    TestEmbeddings.write(embeddings, COUNT, DIM, 1, 0); // one large file, as one embed task writes it
    List<String> cmd = new ArrayList<>(ChildJvm.command("1g", System.getProperty("java.class.path"),
        "-Dai.djl.offline=true"));
    cmd.addAll(List.of(Main.class.getName(), "build-index",
        "--embeddings", embeddings.toString(), "--output", tmp.resolve("index").toString(), "--type", "IVF-Flat",
        "--index.eval-queries=200"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("build.log").toFile())
        .start();
    assertTrue(p.waitFor(10, TimeUnit.MINUTES));
    String log = Files.readString(tmp.resolve("build.log"));
    assertEquals(0, p.exitValue(), log);
    assertTrue(log.contains("\"count\":" + COUNT), log);
  }
}

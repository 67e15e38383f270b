package io.imgvec.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgvec.faiss.FaissIndex;
import io.imgvec.faiss.SearchParams;
import io.imgvec.io.Json;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Debian's python3-faiss, an independent reader, loads the published index and finds the same neighbours. */
class PythonInteropTest {
  private static final String PYTHON = "/usr/bin/python3";
  private static final int K = 10;
  private static final int NQ = 50;

  @TempDir
  Path tmp;

  @Test
  void stockFaissReadsThePublishedIndexWithItsSearchSettingsAndAgrees() throws Exception {
    ArrayVectorSource source = ArrayVectorSource.clustered(12_000, 32, 40, 11);
    IndexBuilder.BuiltIndex built = new IndexBuilder(source, IndexBuilderTest.options(
        Map.of("index.type", "IVF-PQ", "index.pq-m", "8", "index.nprobe", "8")), s -> {}).build(tmp.resolve("b"));
    Path indexFile = published(built, "pub");
    float[] queries = queries(source, 0);
    long[] javaLabels;
    try (FaissIndex index = FaissIndex.read(indexFile)) {
      javaLabels = index.search(queries, NQ, K, SearchParams.nprobe(8)).labels();
    }
    String[] lines = searchedByPython("print(faiss.extract_index_ivf(index).nprobe)", indexFile, queries);
    assertEquals("8", lines[lines.length - 3].trim(), "index.faiss carries the nprobe imgvec searches with");
    assertEquals("12000", lines[lines.length - 2].trim());
    assertArrayEquals(javaLabels, labels(lines[lines.length - 1]));
  }

  /** A published graph carries its tuned efSearch, and stock FAISS searching it at that finds what imgvec finds. */
  @Test
  void stockFaissSearchesAPublishedGraphAtItsTunedEfSearch() throws Exception {
    ArrayVectorSource source = ArrayVectorSource.clustered(12_000, 32, 40, 11);
    IndexBuilder.BuiltIndex built = new IndexBuilder(source, IndexBuilderTest.options(
        Map.of("index.type", "HNSW", "index.eval-queries", "200", "index.target-recall", "1")), s -> {})
        .build(tmp.resolve("g"));
    Path indexFile = published(built, "gpub");
    @SuppressWarnings("unchecked")
    int efSearch = (int) ((Map<String, Object>) built.manifest().get("index")).get("ef_search");
    float[] queries = queries(source, 5);
    long[] javaLabels;
    try (FaissIndex index = FaissIndex.read(indexFile)) {
      javaLabels = index.search(queries, NQ, K, new SearchParams(0, efSearch, 0)).labels();
    }
    String[] lines = searchedByPython("print(faiss.downcast_index(faiss.downcast_index(index).index).hnsw.efSearch)",
        indexFile, queries);
    assertEquals(String.valueOf(efSearch), lines[lines.length - 3].trim(), "index.faiss carries the tuned efSearch");
    assertArrayEquals(javaLabels, labels(lines[lines.length - 1]),
        "a search for efSearch results, its first 10 kept, is FAISS's own");
  }

  private Path published(IndexBuilder.BuiltIndex built, String root) throws Exception {
    IndexPublisher.publish(built, tmp.resolve(root).toUri().toString(), 2, new Configuration());
    String version = Files.readString(tmp.resolve(root + "/LATEST")).trim();
    return tmp.resolve(root + "/versions/" + version + "/index.faiss");
  }

  /** {@value #NQ} of the source's vectors, every 97th from {@code offset}. */
  private static float[] queries(ArrayVectorSource source, int offset) {
    int d = source.vectors[0].length;
    float[] queries = new float[NQ * d];
    for (int q = 0; q < NQ; q++) {
      System.arraycopy(source.vectors[q * 97 + offset], 0, queries, q * d, d);
    }
    return queries;
  }

  /**
   * The lines python3-faiss prints reading {@code indexFile}: what {@code inspect} prints, its vector count, then
   * the labels it finds for {@code queries} (row after row).
   */
  private String[] searchedByPython(String inspect, Path indexFile, float[] queries) throws Exception {
    ByteBuffer buf = ByteBuffer.allocate(queries.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    buf.asFloatBuffer().put(queries);
    Path queryFile = Files.write(Files.createTempFile(tmp, "queries", ".f32"), buf.array());
    String script = String.join("\n",
        "import sys, numpy as np, faiss",
        "index = faiss.read_index(sys.argv[1])",
        inspect,
        "q = np.fromfile(sys.argv[2], dtype='<f4').reshape(-1, index.d)",
        "D, I = index.search(q, " + K + ")",
        "print(index.ntotal)",
        "print(' '.join(str(x) for x in I.ravel()))");
    Process p = new ProcessBuilder(PYTHON, "-c", script, indexFile.toString(), queryFile.toString())
        .redirectErrorStream(true).start();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    p.getInputStream().transferTo(out);
    assertEquals(0, p.waitFor(), "python3-faiss failed (apt-get install python3-faiss): " + out);
    return out.toString().trim().split("\n");
  }

  private static long[] labels(String line) {
    return java.util.Arrays.stream(line.trim().split(" ")).mapToLong(Long::parseLong).toArray();
  }

  /**
   * Stock FAISS re-measures a published version the way its manifest says it was measured, with its published
   * held-out queries and search parameters: the same recall. How close its latency comes to the manifest's is
   * bench/index-repro.sh's to measure; a test checks the method, not the clock.
   */
  @Test
  @SuppressWarnings("unchecked")
  void stockFaissMeasuresThePublishedVersionAsItsManifestSays() throws Exception {
    ArrayVectorSource source = ArrayVectorSource.clustered(20_000, 32, 40, 5);
    IndexBuilder.BuiltIndex built = new IndexBuilder(source, IndexBuilderTest.options(
        Map.of("index.type", "IVF-PQ", "index.pq-m", "8", "index.eval-queries", "500")), s -> {})
        .build(tmp.resolve("b"));
    IndexPublisher.publish(built, tmp.resolve("pub").toUri().toString(), 2, new Configuration());
    Path version = tmp.resolve("pub/versions/" + Files.readString(tmp.resolve("pub/LATEST")).trim());
    Process p = new ProcessBuilder(PYTHON, Path.of("..", "bench", "faiss_measure.py").toString(), version.toString())
        .redirectErrorStream(true).start();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    p.getInputStream().transferTo(out);
    assertEquals(0, p.waitFor(), "python3-faiss failed (apt-get install python3-faiss): " + out);
    String[] lines = out.toString().trim().split("\n");
    Map<String, Object> stock = Json.MAPPER.readValue(lines[lines.length - 1], Map.class);
    Map<String, Object> reported = (Map<String, Object>) built.manifest().get("metrics");
    assertEquals(500, stock.get("queries"));
    assertEquals((double) reported.get("recall_at_10"), ((Number) stock.get("recall_at_10")).doubleValue(), 0.002,
        "the same queries and search parameters find the same neighbours: " + stock);
    assertTrue((boolean) stock.get("max_codes_set"), "searched with the manifest's codes cap: " + stock);
    assertTrue(((Number) stock.get("latency_p50_ms")).doubleValue() <= ((Number) stock.get("latency_p99_ms"))
        .doubleValue(), "timed per query and summarised as the manifest's method says: " + stock);
    assertTrue(((Number) ((Map<String, Object>) stock.get("machine_speed")).get("slowdown")).doubleValue() >= 1,
        "with the machine's speed beside it, as imgvec's: " + stock);
  }
}

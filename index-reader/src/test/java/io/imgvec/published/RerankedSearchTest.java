package io.imgvec.published;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgvec.faiss.FaissIndex;
import io.imgvec.faiss.IdBitmap;
import io.imgvec.faiss.Metric;
import io.imgvec.faiss.SearchParams;
import io.imgvec.faiss.SearchResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RerankedSearchTest {
  private static final int D = 32;
  private static final int N = 6000;
  private static final int NQ = 100;
  private static final int K = 10;

  @TempDir
  Path tmp;

  /**
   * Coarse PQ codes (8 bytes for 32 dimensions) lose most true neighbours; re-ranking 8 × k of their candidates
   * against the vectors stored in 8-bit codes brings them back, within and outside a filter, and the search's
   * counted work says how many were re-ranked. Distances are those of the stored vectors, in order. The stored
   * vectors alone rank a filter's few ids almost exactly.
   */
  @Test
  void reRankingCandidatesAgainstStoredVectorsRecoversTheNeighboursCoarseCodesLose() throws Exception {
    Random random = new Random(3);
    float[] vectors = gaussian(random, N);
    float[] queries = gaussian(random, NQ);
    long[] ids = java.util.stream.LongStream.range(0, N).toArray();
    Sq8Vectors stored = written(vectors, N);
    try (FaissIndex exact = FaissIndex.create(D, "IDMap,Flat", Metric.L2);
        FaissIndex codes = FaissIndex.create(D, "IVF8,PQ8np", Metric.L2)) {
      exact.add(vectors, ids, N);
      codes.train(vectors, N);
      codes.add(vectors, ids, N);
      SearchParams allLists = SearchParams.nprobe(8);
      SearchResult truth = exact.search(queries, NQ, K, SearchParams.DEFAULT);
      RerankedSearch refined = new RerankedSearch(codes, stored, Metric.L2, 8);
      double plain = tenRecall(truth, codes.search(queries, NQ, K, allLists));
      SearchResult reranked = refined.search(queries, NQ, K, allLists);
      double withRefine = tenRecall(truth, reranked);
      assertTrue(plain < 0.7 && withRefine > 0.95, "10-recall@10 " + plain + " without, " + withRefine + " with");
      for (int q = 0; q < NQ; q++) {
        for (int r = 1; r < K; r++) {
          assertTrue(reranked.distance(q, r - 1) <= reranked.distance(q, r), "ranked by stored distance");
        }
        float[] x = Arrays.copyOfRange(vectors, (int) reranked.label(q, 0) * D, (int) (reranked.label(q, 0) + 1) * D);
        assertEquals(l2(queries, q, x), reranked.distance(q, 0), 0.05 * l2(queries, q, x), "query " + q);
      }
      long[] allowed = random.longs(500, 0, N).sorted().distinct().toArray();
      SearchResult filtered = refined.search(queries, NQ, K, allLists, IdBitmap.of(allowed));
      Arrays.stream(filtered.labels()).forEach(id -> assertTrue(Arrays.binarySearch(allowed, id) >= 0, "id " + id));
      float[] allowedVectors = new float[allowed.length * D];
      for (int i = 0; i < allowed.length; i++) {
        System.arraycopy(vectors, (int) allowed[i] * D, allowedVectors, i * D, D);
      }
      try (FaissIndex amongAllowed = FaissIndex.create(D, "IDMap,Flat", Metric.L2)) {
        amongAllowed.add(allowedVectors, allowed, allowed.length);
        double among = tenRecall(amongAllowed.search(queries, NQ, K, SearchParams.DEFAULT),
            refined.nearestAmong(queries, NQ, K, allowed));
        assertTrue(among > 0.95, "an exact search among the allowed ids' stored vectors: 10-recall@10 " + among);
      }
      assertEquals(K * 8, refined.searchWork(queries, NQ, K, allLists).reranked(0));
      assertEquals(K * 2, refined.searchWork(queries, NQ, K, allLists.withKFactor(2)).reranked(0),
          "a search's own k factor wins");
    }
  }

  /** A store takes more rows at the end of a copy; hostile or mismatched files are refused with the reason. */
  @Test
  void storesGrowByIdAndRefuseFilesThatAreNotTheirs() throws Exception {
    Random random = new Random(5);
    float[] vectors = gaussian(random, 100);
    written(vectors, 60);
    Path file = tmp.resolve(Sq8Vectors.FILE);
    try (Sq8Vectors.Writer more = Sq8Vectors.Writer.appendTo(file, D, 60)) {
      more.append(Arrays.copyOfRange(vectors, 60 * D, 100 * D), 40);
    }
    Sq8Vectors grown = Sq8Vectors.map(file, D);
    assertEquals(100, grown.rows());
    float[] last = Arrays.copyOfRange(vectors, 99 * D, 100 * D);
    assertEquals(0, distanceTo99(grown, last, Metric.L2), 0.01, "the appended row is id 99's");
    float dot = 0;
    for (float x : last) {
      dot += x * x;
    }
    assertEquals(dot, distanceTo99(grown, last, Metric.INNER_PRODUCT), 0.02 * dot, "inner product");

    assertMessage(() -> Sq8Vectors.Writer.appendTo(file, D, 99), "holds 100 rows, the id map 99 ids");
    assertMessage(() -> Sq8Vectors.map(file, 16), "holds 32-dimensional vectors, the index 16");
    Files.write(file, new byte[] {1}, StandardOpenOption.APPEND);
    assertMessage(() -> Sq8Vectors.map(file, D), "not a whole number of 32-byte rows");
    Path foreign = Files.write(tmp.resolve("foreign"), new byte[] {'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0});
    assertMessage(() -> Sq8Vectors.map(foreign, D), "is not an imgvec vector store");
    try (FaissIndex flat = FaissIndex.create(D, "IDMap,Flat", Metric.L2);
        ShardedIndex index = ShardedIndex.copies(flat, 1, 100)) {
      Map<String, Object> manifest = Map.of("index", Map.of("refine", "SQ8", "k_factor", 1 << 30, "nprobe", 0,
          "max_codes", 0));
      assertMessage(() -> RerankedSearch.ofVersion(manifest, index, tmp), "the manifest's k_factor is 1073741824");
    }
  }

  private Sq8Vectors written(float[] vectors, int n) throws Exception {
    Path file = tmp.resolve(Sq8Vectors.FILE);
    try (Sq8Vectors.Writer writer = Sq8Vectors.Writer.create(file, Sq8Vectors.Codec.train(vectors, n, D))) {
      writer.append(vectors, n);
    }
    return Sq8Vectors.map(file, D);
  }

  private static float distanceTo99(Sq8Vectors stored, float[] query, Metric metric) {
    float[] distance = new float[1];
    stored.distances(stored.prepare(query, 0, metric), new long[] {99}, 0, 1, distance);
    return distance[0];
  }

  private static void assertMessage(org.junit.jupiter.api.function.Executable call, String expected) {
    UntrustedIndexException e = assertThrows(UntrustedIndexException.class, call);
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  private static double tenRecall(SearchResult truth, SearchResult found) {
    int hits = 0;
    for (int q = 0; q < NQ; q++) {
      for (int i = 0; i < K; i++) {
        for (int j = 0; j < K; j++) {
          hits += truth.label(q, i) == found.label(q, j) ? 1 : 0;
        }
      }
    }
    return hits / (double) (NQ * K);
  }

  private static float l2(float[] queries, int q, float[] x) {
    float sum = 0;
    for (int j = 0; j < D; j++) {
      sum += (queries[q * D + j] - x[j]) * (queries[q * D + j] - x[j]);
    }
    return sum;
  }

  private static float[] gaussian(Random random, int n) {
    float[] v = new float[n * D];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) random.nextGaussian();
    }
    return v;
  }
}

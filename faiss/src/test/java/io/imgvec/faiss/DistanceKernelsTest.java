package io.imgvec.faiss;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** FAISS's distance functions, replaced by the shim's AVX2 loops on this processor, still give the formulas. */
class DistanceKernelsTest {
  // Below one block of 8, one block, a block and a tail, 16 + 8 + a tail, two blocks of 16 and 8.
  private static final int[] DIMENSIONS = {5, 8, 13, 29, 40};

  /** A flat index's single-query search computes one distance per stored vector (fvec_L2sqr, fvec_inner_product). */
  @Test
  void exactSearchDistancesAreTheFormulas() {
    for (int d : DIMENSIONS) {
      float[] stored = gaussian(60 * d, d);
      float[] query = gaussian(d, -d);
      for (Metric metric : Metric.values()) {
        try (FaissIndex index = FaissIndex.create(d, "Flat", metric)) {
          index.add(stored, 60);
          SearchResult result = index.search(query, 1, 60, SearchParams.DEFAULT);
          for (int i = 0; i < 60; i++) {
            float[] vector = Arrays.copyOfRange(stored, (int) result.labels()[i] * d,
                (int) (result.labels()[i] + 1) * d);
            assertDistance(metric, query, vector, result.distances()[i], "d " + d + ", " + metric);
          }
        }
      }
    }
  }

  /**
   * A PQ index's search sums look-up tables of query-to-centroid distances (fvec_L2sqr_ny, fvec_inner_products_ny),
   * and its codes name each sub-vector's nearest centroid (fvec_L2sqr_ny_nearest): each distance is the formula's
   * against the decoded vector.
   */
  @Test
  void pqTableDistancesAreTheFormulasAgainstDecodedVectors() {
    int d = 40; // 4 sub-vectors of 10 dimensions (a block of 8 and a tail), 16 centroids each
    float[] training = gaussian(1_000 * d, 1);
    float[] query = gaussian(d, 2);
    for (Metric metric : Metric.values()) {
      try (FaissIndex index = FaissIndex.create(d, "PQ4x4", metric)) {
        index.train(training, 1_000);
        index.add(training, 100);
        SearchResult result = index.search(query, 1, 100, SearchParams.DEFAULT);
        for (int i = 0; i < 100; i++) {
          assertDistance(metric, query, index.reconstruct(result.labels()[i]), result.distances()[i], "PQ " + metric);
        }
      }
    }
  }

  private static void assertDistance(Metric metric, float[] query, float[] vector, float actual, String what) {
    double expected = 0;
    double scale = 0;
    for (int j = 0; j < query.length; j++) {
      expected += metric == Metric.L2 ? Math.pow(query[j] - vector[j], 2) : query[j] * vector[j];
      scale += Math.abs(query[j] * vector[j]) + query[j] * query[j] + vector[j] * vector[j];
    }
    assertEquals(expected, actual, 1e-5 * scale, what);
  }

  private static float[] gaussian(int n, long seed) {
    Random random = new Random(seed);
    float[] values = new float[n];
    for (int i = 0; i < n; i++) {
      values[i] = (float) random.nextGaussian();
    }
    return values;
  }
}

package io.imgvec.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgvec.faiss.FaissIndex;
import io.imgvec.faiss.Metric;
import io.imgvec.faiss.SearchParams;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class ProbedListsTest {
  private static final int D = 32;
  private static final int BASE = 10_000;
  private static final int NQ = 300;

  /**
   * What a candidate is skipped by must hold: its lists' coverage is an IVF-Flat index's R@10 on the same lists, and
   * at least a PQ index's; their counted work is the candidates' own.
   */
  @Test
  void coverageIsIvfFlatRecallAndBoundsPqCodes() {
    float[][] rows = ArrayVectorSource.clustered(BASE + NQ, D, 50, 21).vectors;
    float[] sample = new float[BASE * D];
    float[] queries = new float[NQ * D];
    for (int i = 0; i < BASE + NQ; i++) {
      System.arraycopy(rows[i], 0, i < BASE ? sample : queries, (i < BASE ? i : i - BASE) * D, D);
    }
    ExactNeighbours truth = new ExactNeighbours(queries, NQ, D, IndexEvaluator.K, Metric.L2);
    truth.addBase(sample, CandidateSelector.sequentialIds(BASE), BASE);
    IndexEvaluator evaluator = new IndexEvaluator(queries, NQ, D, truth);
    long[] nearest = IntStream.range(0, NQ).mapToLong(q -> truth.ids(q)[0]).toArray();
    try (FaissIndex centroids = FaissIndex.create(D, "IVF128,Flat", Metric.L2)) {
      centroids.train(sample, BASE);
      for (String quantizer : List.of("IVF128", "IVF128_HNSW32")) {
        try (ProbedLists lists = ProbedLists.of(quantizer, centroids, sample, BASE, D, Metric.L2, queries, nearest);
            FaissIndex flat = filled(quantizer + ",Flat", centroids, sample);
            FaissIndex pq = filled(quantizer + ",PQ4np", centroids, sample)) {
          for (SearchParams params : List.of(new SearchParams(1, 16, 0), new SearchParams(4, 16, 0),
              new SearchParams(8, 16, 2 * BASE / 128), new SearchParams(16, 32, 0))) {
            double coverage = lists.coverage(params);
            String what = quantizer + " " + params;
            assertEquals(evaluator.recall(flat, params).recallAt10(), coverage, 1e-9, what);
            assertTrue(evaluator.recall(pq, params).recallAt10() <= coverage, what);
            assertArrayEquals(flat.searchWork(queries, NQ, 10, params).counts(),
                lists.counted().searchWork(queries, NQ, 10, params).counts(), what);
          }
          assertTrue(lists.coverage(new SearchParams(1, 16, 0)) < lists.coverage(new SearchParams(16, 32, 0)));
        }
      }
    }
  }

  private static FaissIndex filled(String factory, FaissIndex centroids, float[] sample) {
    FaissIndex index = FaissIndex.create(D, factory, Metric.L2);
    index.trainFrom(centroids, sample, BASE, true);
    index.add(sample, CandidateSelector.sequentialIds(BASE), BASE);
    return index;
  }
}

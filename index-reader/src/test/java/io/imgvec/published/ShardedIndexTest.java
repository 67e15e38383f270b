package io.imgvec.published;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.imgvec.faiss.FaissIndex;
import io.imgvec.faiss.IdBitmap;
import io.imgvec.faiss.Metric;
import io.imgvec.faiss.SearchParams;
import io.imgvec.faiss.SearchResult;
import io.imgvec.faiss.SearchWork;
import io.imgvec.faiss.VectorSearch;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class ShardedIndexTest {
  private static final int D = 16;
  private static final int N = 4000;
  private static final int NQ = 50;
  private static final int K = 10;
  private static final SearchParams ALL_LISTS = SearchParams.nprobe(16); // exact: every list probed
  private static final SearchParams SOME_LISTS = SearchParams.nprobe(4);

  /**
   * Four shards searched at once answer exactly as one after another, and as the same vectors in one index: with
   * and without an id filter, for one query and for a batch, probing every list or some (the lists the first shard's
   * quantizer finds, searched in all), from many threads at a time. Their counted work is the one index's: the same
   * codes scanned, the quantizer searched once.
   */
  @Test
  void shardsSearchedInParallelAnswerAsOneIndex() throws Exception {
    Random random = new Random(7);
    float[] vectors = randomVectors(random, N);
    float[] queries = randomVectors(random, NQ);
    long[] ids = new long[N];
    for (int i = 0; i < N; i++) {
      ids[i] = i;
    }
    long[] allowed = random.longs(300, 0, N).sorted().distinct().toArray();
    try (FaissIndex whole = FaissIndex.create(D, "IVF16,Flat", Metric.L2)) {
      whole.train(vectors, N);
      try (ShardedIndex sharded = ShardedIndex.copies(whole, 4, N)) { // copies of the trained, empty index
        whole.add(vectors, ids, N);
        sharded.add(vectors, ids, N);
        SearchResult[] expected = searches(whole, queries, allowed);
        assertSame(expected, searches(sharded, queries, allowed)); // one after another
        SearchWork one = whole.searchWork(queries, NQ, K, SOME_LISTS);
        SearchWork shards = sharded.searchWork(queries, NQ, K, SOME_LISTS);
        for (int q = 0; q < NQ; q++) {
          assertEquals(one.codes(q), shards.codes(q), "codes scanned by query " + q);
          assertEquals(one.flatCentroids(q), shards.flatCentroids(q), "centroids compared by query " + q);
        }
        sharded.searchShardsInParallel(4);
        ExecutorService callers = Executors.newFixedThreadPool(8);
        try {
          List<Future<?>> running = new ArrayList<>();
          for (int c = 0; c < 32; c++) {
            running.add(callers.submit(() -> assertSame(expected, searches(sharded, queries, allowed))));
          }
          for (Future<?> call : running) {
            call.get();
          }
        } finally {
          callers.shutdownNow();
        }
      }
    }
  }

  /**
   * A batch, one query, and a batch with an id filter, over every list; a batch with and without it over some; a
   * batch asking for more lists than there are.
   */
  private static SearchResult[] searches(VectorSearch index, float[] queries, long[] allowed) {
    return new SearchResult[] {index.search(queries, NQ, K, ALL_LISTS, null),
        index.search(queries, 1, K, ALL_LISTS, null),
        index.search(queries, NQ, K, ALL_LISTS, IdBitmap.of(allowed)),
        index.search(queries, NQ, K, SOME_LISTS, null),
        index.search(queries, NQ, K, SOME_LISTS, IdBitmap.of(allowed)),
        index.search(queries, NQ, K, SearchParams.nprobe(64), null)}; // more lists than the 16 there are
  }

  private static void assertSame(SearchResult[] expected, SearchResult[] found) {
    for (int i = 0; i < expected.length; i++) {
      assertArrayEquals(expected[i].labels(), found[i].labels(), "labels of search " + i);
      assertArrayEquals(expected[i].distances(), found[i].distances(), 1e-4f, "distances of search " + i);
    }
  }

  private static float[] randomVectors(Random random, int n) {
    float[] v = new float[n * D];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) random.nextGaussian();
    }
    return v;
  }
}

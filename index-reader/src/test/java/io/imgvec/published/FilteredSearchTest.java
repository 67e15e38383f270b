package io.imgvec.published;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgvec.faiss.FaissIndex;
import io.imgvec.faiss.Metric;
import io.imgvec.faiss.SearchParams;
import io.imgvec.faiss.SearchResult;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FilteredSearchTest {
  private static final int N = 20_000;
  private static final int D = 8;
  private static final int NLIST = 16;
  // Each matches more ids than an exact search takes, so each is searched with a bitmap of N / 8 bytes.
  private static final List<String> COLUMNS = List.of("every-2", "every-3", "every-4");
  private static final Map<String, String> HALF = Map.of("every-2", "yes");
  private static final Map<String, String> THIRD = Map.of("every-3", "yes");
  private static final Map<String, String> QUARTER = Map.of("every-4", "yes");

  @TempDir
  Path tmp;

  /** Bitmaps are kept while they fit the cache; the least recently used goes first, and a search rebuilds it. */
  @Test
  void leastRecentlyUsedBitmapsAreEvictedAndRebuilt() throws Exception {
    float[] vectors = new float[N * D];
    Random random = new Random(3);
    for (int i = 0; i < vectors.length; i++) {
      vectors[i] = (float) random.nextGaussian();
    }
    FaissIndex ivf = FaissIndex.create(D, "IVF" + NLIST + ",Flat", Metric.L2);
    ivf.train(vectors, N);
    ivf.add(vectors, LongStream.range(0, N).toArray(), N);
    try (ShardedIndex index = new ShardedIndex(List.of(ivf), new long[] {0})) {
      // Room for two bitmaps: each filter's largest id is 19,996 or 19,998, so each takes 2,500 bytes.
      FilteredSearch filtered = new FilteredSearch(index, idMap(), COLUMNS, NLIST, false, null, 2L * N / 8);
      search(filtered, HALF, vectors);
      search(filtered, THIRD, vectors);
      search(filtered, HALF, vectors); // now the most recent
      assertEquals(List.of(THIRD, HALF), filtered.cachedFilters());
      search(filtered, QUARTER, vectors);
      assertEquals(List.of(HALF, QUARTER), filtered.cachedFilters(), "the least recently used (THIRD) went");
      search(filtered, THIRD, vectors);
      assertEquals(List.of(QUARTER, THIRD), filtered.cachedFilters());

      FilteredSearch tiny = new FilteredSearch(index, idMap(), COLUMNS, NLIST, false, null, 1);
      search(tiny, HALF, vectors);
      search(tiny, THIRD, vectors);
      assertEquals(List.of(THIRD), tiny.cachedFilters(), "a bitmap larger than the cache is kept alone");
    }
  }

  /** Searches with {@code filter} (the multiples of its column's number) and checks every result matches it. */
  private static void search(FilteredSearch filtered, Map<String, String> filter, float[] vectors) {
    String column = filter.keySet().iterator().next();
    int every = Integer.parseInt(column.substring(column.indexOf('-') + 1));
    SearchResult result = filtered.search(Arrays.copyOf(vectors, D), 1, 10, SearchParams.nprobe(2),
        filter, Long.MAX_VALUE, SearchParams::nprobe);
    assertEquals(10, Arrays.stream(result.labels()).filter(id -> id >= 0).count());
    for (long id : result.labels()) {
      assertTrue(id % every == 0, "id " + id + " does not match " + filter);
    }
  }

  private IdMap idMap() throws Exception {
    Path file = tmp.resolve(IdMap.FILE);
    try (IdMap.Writer writer = new IdMap.Writer(file)) {
      for (int id = 0; id < N; id++) {
        writer.write(id, "image-" + id, "file:/image-" + id + ".jpg", multiple(id, 2), multiple(id, 3),
            multiple(id, 4));
      }
    }
    return IdMap.read(file, N, COLUMNS.size());
  }

  private static String multiple(int id, int of) {
    return id % of == 0 ? "yes" : "no";
  }
}

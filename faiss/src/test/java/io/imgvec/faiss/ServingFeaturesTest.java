package io.imgvec.faiss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What serving needs from the binding: vectors by id, id filters, memory-mapped IVF lists. */
class ServingFeaturesTest {
  private static final int D = FaissIndexTest.D;
  private static final int N = 4000;

  @TempDir Path tmp;

  @Test
  void reconstructReturnsTheStoredVectorOfAnIdForIvfAndIdMap() {
    float[] data = FaissIndexTest.randomVectors(N, 21);
    long[] ids = FaissIndexTest.ids(N, 1_000_000);
    for (String factory : new String[] {"IVF16,Flat", "IDMap,Flat"}) {
      try (FaissIndex index = FaissIndex.create(D, factory, Metric.L2)) {
        index.train(data, N);
        index.add(data, ids, N);
        index.enableReconstruct();
        for (int i : new int[] {0, 1234, N - 1}) {
          assertArrayEquals(Arrays.copyOfRange(data, i * D, (i + 1) * D), index.reconstruct(ids[i]), 0f, factory);
        }
        SearchResult self = index.search(data, 1, 1, SearchParams.nprobe(16));
        assertEquals(ids[0], self.label(0, 0), factory + ": searching still works after the switch");
      }
    }
  }

  @Test
  void idFilterReturnsOnlyAllowedIds() {
    float[] data = FaissIndexTest.randomVectors(N, 22);
    long[] ids = FaissIndexTest.ids(N, 0);
    long[] allowed = {7, 70, 700, 3999};
    try (FaissIndex index = FaissIndex.create(D, "IVF16,Flat", Metric.L2)) {
      index.train(data, N);
      index.add(data, ids, N);
      SearchResult r = index.search(data, 1, 10, SearchParams.nprobe(16), IdBitmap.of(allowed));
      Set<Long> found = Arrays.stream(r.labels()).filter(l -> l >= 0).boxed().collect(Collectors.toSet());
      assertEquals(Set.of(7L, 70L, 700L, 3999L), found, "all lists probed: every allowed id, nothing else");
    }
  }

  @Test
  void memoryMappedIvfSearchesLikeTheLoadedOne() {
    float[] data = FaissIndexTest.randomVectors(N, 23);
    Path file = tmp.resolve("ivf.faiss");
    try (FaissIndex index = FaissIndex.create(D, "IVF16,Flat", Metric.L2)) {
      index.train(data, N);
      index.add(data, FaissIndexTest.ids(N, 0), N);
      index.write(file);
    }
    try (FaissIndex loaded = FaissIndex.read(file); FaissIndex mapped = FaissIndex.read(file, true)) {
      SearchResult a = loaded.search(data, 50, 5, SearchParams.nprobe(4));
      SearchResult b = mapped.search(data, 50, 5, SearchParams.nprobe(4));
      assertArrayEquals(a.labels(), b.labels());
      mapped.enableReconstruct();
      assertArrayEquals(Arrays.copyOfRange(data, 10 * D, 11 * D), mapped.reconstruct(10), 0f,
          "vectors read back from the mapped lists");
    }
  }
}

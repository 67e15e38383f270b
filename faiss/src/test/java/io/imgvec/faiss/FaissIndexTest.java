package io.imgvec.faiss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FaissIndexTest {
  static final int D = 32;

  @TempDir
  Path tmp;

  static float[] randomVectors(int n, long seed) {
    Random r = new Random(seed);
    float[] v = new float[n * D];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) r.nextGaussian();
    }
    return v;
  }

  static long[] ids(int n, long offset) {
    long[] ids = new long[n];
    for (int i = 0; i < n; i++) {
      ids[i] = offset + i;
    }
    return ids;
  }

  @Test
  void flatIndexFindsEachVectorItself() {
    float[] data = randomVectors(500, 1);
    try (FaissIndex index = FaissIndex.create(D, "IDMap,Flat", Metric.L2)) {
      assertTrue(index.isTrained());
      index.add(data, ids(500, 1000), 500);
      assertEquals(500, index.ntotal());
      assertEquals(D, index.dimension());
      assertEquals(Metric.L2, index.metric());
      SearchResult r = index.search(data, 500, 3, SearchParams.DEFAULT);
      for (int q = 0; q < 500; q++) {
        assertEquals(1000 + q, r.label(q, 0));
        assertEquals(0f, r.distance(q, 0), 1e-4);
      }
    }
  }

  @Test
  void ivfPqTrainsAddsSearchesAndRoundTripsThroughFilesAndBytes() {
    float[] data = randomVectors(4000, 2);
    float[] queries = randomVectors(50, 3);
    try (FaissIndex index = FaissIndex.create(D, "IVF16,PQ8np", Metric.L2)) {
      assertFalse(index.isTrained());
      index.train(data, 4000);
      index.add(data, ids(4000, 0), 4000);
      SearchResult direct = index.search(queries, 50, 10, SearchParams.nprobe(4));
      SearchResult allLists = index.search(queries, 50, 10, SearchParams.nprobe(16));
      boolean closer = false;
      for (int i = 0; i < 50 * 10; i++) { // every list holds the 4 probed first: each rank is as near or nearer
        assertTrue(allLists.distances()[i] <= direct.distances()[i] + 1e-5f, "rank " + i);
        closer |= allLists.distances()[i] < direct.distances()[i] - 1e-5f;
      }
      assertTrue(closer, "nprobe must reach the search: 16 lists found nearer codes than 4");
      // max_codes is checked between lists; the first list (about 250 codes) already passes 10, so one list is read
      SearchResult capped = index.search(queries, 50, 10, new SearchParams(16, 0, 10));
      assertArrayEquals(index.search(queries, 50, 10, SearchParams.nprobe(1)).labels(), capped.labels(),
          "maxCodes must reach the search");

      Path file = tmp.resolve("ivfpq.faiss");
      index.write(file);
      try (FaissIndex fromFile = FaissIndex.read(file); FaissIndex fromBytes = FaissIndex.fromBytes(index.toBytes())) {
        assertEquals(4000, fromFile.ntotal());
        assertArrayEquals(direct.labels(), fromFile.search(queries, 50, 10, SearchParams.nprobe(4)).labels());
        assertArrayEquals(direct.labels(), fromBytes.search(queries, 50, 10, SearchParams.nprobe(4)).labels());
      }
    }
  }

  /**
   * Partial indexes filled apart (a distributed add's tasks) merged through their entries answer as one index filled
   * whole; an IVF part's entries leave out the quantizer, and entries of another index's shape are refused.
   */
  @Test
  void entriesWrittenApartMergeIntoTheIndexOneAddWouldFill() {
    float[] data = randomVectors(4000, 21);
    float[] queries = randomVectors(50, 22);
    for (String factory : new String[] {"IVF64,PQ8np", "IDMap,Flat"}) {
      try (FaissIndex trained = FaissIndex.create(D, factory, Metric.L2)) {
        trained.train(data, 4000);
        byte[] empty = trained.toBytes();
        try (FaissIndex whole = FaissIndex.fromBytes(empty); FaissIndex merged = FaissIndex.fromBytes(empty)) {
          whole.add(data, ids(4000, 0), 4000);
          for (int part = 0; part < 2; part++) {
            try (FaissIndex half = FaissIndex.fromBytes(empty)) {
              half.add(Arrays.copyOfRange(data, part * 2000 * D, (part + 1) * 2000 * D),
                  ids(2000, part * 2000L), 2000);
              Path file = tmp.resolve(factory.hashCode() + "-part-" + part);
              half.writeEntries(file);
              if (factory.startsWith("IVF")) {
                assertTrue(file.toFile().length() <= 32 + 64 * 16 + 2000 * (8 + 8), "codes and ids alone");
              }
              merged.mergeEntries(file);
            }
          }
          assertEquals(4000, merged.ntotal());
          assertArrayEquals(whole.listSizes(), merged.listSizes(), factory);
          SearchParams params = SearchParams.nprobe(8);
          SearchResult expected = whole.search(queries, 50, 10, params);
          SearchResult got = merged.search(queries, 50, 10, params);
          assertArrayEquals(expected.labels(), got.labels(), factory);
          assertArrayEquals(expected.distances(), got.distances(), factory);
        }
      }
    }
    Path ivf = tmp.resolve("ivf64-entries");
    try (FaissIndex small = FaissIndex.create(D, "IVF64,PQ8np", Metric.L2); FaissIndex other = FaissIndex.create(D,
        "IVF32,PQ8np", Metric.L2)) {
      small.train(data, 4000);
      other.train(data, 4000);
      small.writeEntries(ivf);
      FaissException e = assertThrows(FaissException.class, () -> other.mergeEntries(ivf));
      assertTrue(e.getMessage().contains("holds no list entries of this index's shape"), e.getMessage());
    }
  }

  @Test
  void efSearchReachesTheHnswCoarseQuantizerOfAnIvfIndex() {
    float[] data = randomVectors(6000, 8);
    float[] queries = randomVectors(50, 9);
    try (FaissIndex index = FaissIndex.create(D, "IVF64_HNSW8,Flat", Metric.L2)) {
      index.train(data, 6000);
      index.add(data, ids(6000, 0), 6000);
      long[] narrow = index.search(queries, 50, 10, new SearchParams(32, 1, 0)).labels();
      long[] wide = index.search(queries, 50, 10, new SearchParams(32, 64, 0)).labels();
      assertFalse(Arrays.equals(narrow, wide), "efSearch must reach the quantizer");
      SearchWork narrowWork = index.searchWork(queries, 1, 10, new SearchParams(8, 8, 0));
      SearchWork wideWork = index.searchWork(queries, 1, 10, new SearchParams(8, 64, 0));
      assertTrue(narrowWork.graphDistances(0) > 0 && wideWork.graphDistances(0) > narrowWork.graphDistances(0),
          "the graph's distances are counted, more at a larger efSearch: " + narrowWork.graphDistances(0) + ", "
          + wideWork.graphDistances(0));
      assertEquals(0, narrowWork.flatCentroids(0), "no flat scan of the centroids");
    }
  }

  /** Work summed from the probed lists' sizes is what FAISS counts while scanning them, codes cap included. */
  @Test
  void countedWorkAgreesWithFaissScanningTheLists() {
    float[] data = randomVectors(6000, 14);
    float[] queries = randomVectors(50, 15);
    for (String factory : List.of("IVF64,PQ8np", "IVF64_HNSW8,Flat", "IVF32,Flat")) {
      try (FaissIndex index = FaissIndex.create(D, factory, Metric.L2)) {
        index.train(data, 6000);
        index.add(data, ids(4000, 0), 4000);
        for (SearchParams params : List.of(new SearchParams(1, 16, 0), new SearchParams(12, 24, 0),
            new SearchParams(12, 24, 300), new SearchParams(64, 128, 0))) {
          assertArrayEquals(index.searchWorkBySearching(queries, 50, 10, params).counts(),
              index.searchWork(queries, 50, 10, params).counts(), factory + " " + params);
        }
      }
    }
  }

  /** Two fresh builds must measure the same candidates: an HNSW quantizer's graph does not depend on thread timing. */
  @Test
  void hnswQuantizersGivenTheSameCentroidsSearchAlike() {
    float[] data = randomVectors(6000, 12);
    float[] queries = randomVectors(50, 13);
    try (FaissIndex donor = FaissIndex.create(D, "IVF512,Flat", Metric.L2);
        FaissIndex first = FaissIndex.create(D, "IVF512_HNSW32,Flat", Metric.L2);
        FaissIndex second = FaissIndex.create(D, "IVF512_HNSW32,Flat", Metric.L2)) {
      donor.train(data, 6000);
      SearchParams params = new SearchParams(4, 8, 0);
      first.trainFrom(donor, data, 6000, true);
      second.trainFrom(donor, data, 6000, true);
      first.add(data, ids(6000, 0), 6000);
      second.add(data, ids(6000, 0), 6000);
      assertArrayEquals(first.search(queries, 50, 10, params).labels(),
          second.search(queries, 50, 10, params).labels());
      SearchWork a = first.searchWork(queries, 50, 10, params);
      SearchWork b = second.searchWork(queries, 50, 10, params);
      for (int q = 0; q < 50; q++) {
        assertEquals(a.graphDistances(q), b.graphDistances(q), "query " + q);
      }
    }
  }

  @Test
  void trainFromSharesTheDonorsCentroidsAcrossQuantizerAndCodeTypes() {
    float[] data = randomVectors(6000, 10);
    float[] queries = Arrays.copyOf(data, 50 * D);
    try (FaissIndex donor = FaissIndex.create(D, "IVF64,Flat", Metric.L2);
        FaissIndex hnswPq = FaissIndex.create(D, "IVF64_HNSW32,PQ8np", Metric.L2);
        FaissIndex other = FaissIndex.create(D, "IVF32,Flat", Metric.L2)) {
      donor.train(data, 6000);
      hnswPq.trainFrom(donor, data, 6000, true);
      assertTrue(hnswPq.isTrained());
      donor.add(data, ids(6000, 0), 6000);
      hnswPq.add(data, ids(6000, 0), 6000);
      // same centroids: every vector lands in the same list in both indexes
      assertArrayEquals(donor.listSizes(), hnswPq.listSizes());
      SearchResult found = hnswPq.search(queries, 50, 1, new SearchParams(4, 16, 0));
      for (int q = 0; q < 50; q++) {
        assertEquals(q, found.label(q, 0));
      }
      FaissException mismatch = assertThrows(FaissException.class, () -> other.trainFrom(donor, data, 6000, false));
      assertTrue(mismatch.getMessage().contains("same nlist"), mismatch.getMessage());
    }
  }

  @Test
  void growListsRepeatsEachListsOwnEntriesInProportion() {
    float[] data = randomVectors(3000, 12);
    try (FaissIndex index = FaissIndex.create(D, "IVF16,PQ4np", Metric.L2);
        FaissIndex flat = FaissIndex.create(D, "Flat", Metric.L2)) {
      index.train(data, 3000);
      index.add(data, ids(3000, 0), 3000);
      long[] before = index.listSizes();
      index.growLists(7500);
      long[] after = index.listSizes();
      for (int l = 0; l < before.length; l++) {
        assertEquals(Math.round(before[l] * 2.5), after[l], "list " + l);
      }
      assertEquals(Arrays.stream(after).sum(), index.ntotal());
      SearchResult found = index.search(data, 20, 5, SearchParams.nprobe(16));
      for (long label : found.labels()) {
        assertTrue(label >= 0 && label < 3000, "copies keep their entry's id: " + label);
      }
      FaissException notIvf = assertThrows(FaissException.class, () -> flat.growLists(10));
      assertTrue(notIvf.getMessage().contains("filled IVF"), notIvf.getMessage());
    }
  }

  @Test
  void balancedTrainingSplitsTheHubListsThatPlainKMeansLeaves() {
    int n = 20_000;
    int d = 128;
    int nlist = 128;
    float[] data = new GaussianClusters(d, nlist, 16, 11).next(n);
    double mean = (double) n / nlist;
    String factory = "IVF" + nlist + ",Flat";
    try (FaissIndex plain = FaissIndex.create(d, factory, Metric.L2);
        FaissIndex balanced = FaissIndex.create(d, factory, Metric.L2)) {
      plain.train(data, 39 * nlist);
      plain.add(data, ids(n, 0), n);
      int split = balanced.trainWithBalancedLists(data, 39 * nlist, 2.0);
      balanced.add(data, ids(n, 0), n);
      long plainMax = Arrays.stream(plain.listSizes()).max().orElseThrow();
      long balancedMax = Arrays.stream(balanced.listSizes()).max().orElseThrow();
      assertEquals(nlist, balanced.listSizes().length);
      assertTrue(plainMax > 4 * mean, "the data must show k-means hubs: largest plain list " + plainMax);
      assertTrue(split > 0 && balancedMax < 3 * mean, split + " lists split, largest list " + balancedMax);
      SearchResult self = balanced.search(data, 200, 1, SearchParams.nprobe(1));
      for (int q = 0; q < 200; q++) {
        assertEquals(q, self.label(q, 0), "each vector finds itself in its own list");
      }
    }
    try (FaissIndex innerProduct = FaissIndex.create(d, factory, Metric.INNER_PRODUCT)) {
      int split = innerProduct.trainWithBalancedLists(data, 39 * nlist, 2.0);
      innerProduct.add(data, ids(n, 0), n);
      long largest = Arrays.stream(innerProduct.listSizes()).max().orElseThrow();
      assertTrue(largest < 3 * mean, "inner product: " + split + " lists split, largest " + largest);
    }
    try (FaissIndex flat = FaissIndex.create(D, "IDMap,Flat", Metric.L2)) {
      assertEquals(0, flat.trainWithBalancedLists(randomVectors(100, 12), 100, 2.0));
      assertEquals(0, flat.listSizes().length);
    }
  }

  /**
   * From 4,096 lists the coarse k-means runs in two levels (64 centroids, then each one's points into its share):
   * lists as good as one k-means over all of them gives (4,095 lists, just below), with a flat or an HNSW quantizer.
   */
  @Test
  void twoLevelKMeansFindsListsAsGoodAsOneKMeans() {
    int n = 200_000;
    int d = 16;
    GaussianClusters clusters = new GaussianClusters(d, 2000, 8, 17, 1.1);
    float[] data = clusters.next(n);
    int queryCount = 2000;
    float[] queries = clusters.next(queryCount);
    long[] exact;
    try (FaissIndex flat = FaissIndex.create(d, "IDMap,Flat", Metric.L2)) {
      flat.add(data, ids(n, 0), n);
      exact = flat.search(queries, queryCount, 1, SearchParams.DEFAULT).labels();
    }
    Map<String, Double> recall = new LinkedHashMap<>();
    for (String quantizer : List.of("", "_HNSW32")) {
      for (int nlist : new int[] {4095, 4096}) {
        String factory = "IVF" + nlist + quantizer + ",Flat";
        try (FaissIndex index = FaissIndex.create(d, factory, Metric.L2)) {
          index.trainWithBalancedLists(data, 39 * 4096, 2.0);
          index.add(data, ids(n, 0), n);
          SearchResult found = index.search(queries, queryCount, 10, new SearchParams(8, 64, 0));
          int hits = 0;
          for (int q = 0; q < queryCount; q++) {
            for (int r = 0; r < 10; r++) {
              hits += found.label(q, r) == exact[q] ? 1 : 0;
            }
          }
          recall.put(factory, (double) hits / queryCount);
        }
      }
      double oneKMeans = recall.get("IVF4095" + quantizer + ",Flat");
      assertTrue(oneKMeans > 0.5 && oneKMeans < 0.98, "the data must leave room to differ: " + recall);
      assertTrue(recall.get("IVF4096" + quantizer + ",Flat") >= oneKMeans - 0.015, "R@10 at nprobe 8: " + recall);
    }
  }

  @Test
  void balancedTrainingLeavesIdenticalVectorsTogetherWithoutEmptyingLists() {
    int n = 20_000;
    int d = 64;
    int nlist = 64;
    float[] data = new GaussianClusters(d, nlist, 8, 13).next(n);
    for (int p = 0; p < n; p += 4) { // a quarter are one picture (think of a catalogue's placeholder image)
      System.arraycopy(data, 0, data, p * d, d);
    }
    try (FaissIndex index = FaissIndex.create(d, "IVF" + nlist + ",Flat", Metric.L2)) {
      index.trainWithBalancedLists(data, 39 * nlist, 2.0);
      index.add(data, ids(n, 0), n);
      long[] sizes = index.listSizes();
      long empty = Arrays.stream(sizes).filter(size -> size == 0).count();
      assertTrue(empty <= 2, empty + " empty lists: slots were spent on centroids that cannot take points");
    }
  }

  @Test
  void faissErrorsBecomeJavaExceptions() {
    FaissException badFactory = assertThrows(FaissException.class,
        () -> FaissIndex.create(D, "NoSuchIndex42", Metric.L2));
    assertTrue(badFactory.getMessage().toLowerCase().contains("could not parse"), badFactory.getMessage());
    try (FaissIndex ivf = FaissIndex.create(D, "IVF16,Flat", Metric.L2)) {
      FaissException untrained = assertThrows(FaissException.class, () -> ivf.add(randomVectors(10, 4), ids(10, 0), 10));
      assertTrue(untrained.getMessage().contains("is_trained"), untrained.getMessage());
      FaissException tooFew = assertThrows(FaissException.class, () -> ivf.train(randomVectors(10, 4), 20));
      assertTrue(tooFew.getMessage().contains("expected 20 vectors"), tooFew.getMessage());
    }
    try (FaissIndex flat = FaissIndex.create(D, "Flat", Metric.L2)) {
      assertThrows(FaissException.class, () -> flat.add(randomVectors(10, 4), ids(10, 0), 10));
    }
    assertThrows(FaissException.class, () -> FaissIndex.read(tmp.resolve("missing.faiss")));
    assertThrows(FaissException.class, () -> FaissIndex.fromBytes(new byte[] {1, 2, 3}));
  }

  @Test
  void closedIndexThrowsInsteadOfCrashing() {
    FaissIndex index = FaissIndex.create(D, "IDMap,Flat", Metric.INNER_PRODUCT);
    index.close();
    index.close();
    FaissException e = assertThrows(FaissException.class, index::ntotal);
    assertEquals("index is closed", e.getMessage());
    assertThrows(FaissException.class, () -> index.search(randomVectors(1, 5), 1, 1, SearchParams.DEFAULT));
  }

  @Test
  void concurrentSearchesAgreeWithSerialOnes() throws Exception {
    float[] data = randomVectors(2000, 6);
    try (FaissIndex index = FaissIndex.create(D, "IVF8,Flat", Metric.L2)) {
      index.train(data, 2000);
      index.add(data, ids(2000, 0), 2000);
      float[] queries = randomVectors(20, 7);
      long[] expected = index.search(queries, 20, 5, SearchParams.nprobe(2)).labels();
      ExecutorService pool = Executors.newFixedThreadPool(4);
      List<Future<long[]>> futures = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        int nprobe = i % 2 == 0 ? 2 : 8;
        futures.add(pool.submit(() -> index.search(queries, 20, 5, SearchParams.nprobe(nprobe)).labels()));
      }
      for (int i = 0; i < futures.size(); i += 2) {
        assertArrayEquals(expected, futures.get(i).get());
      }
      pool.shutdown();
    }
  }
}

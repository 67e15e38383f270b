package io.imgvec.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgvec.published.ContentDigests;
import io.imgvec.published.IdMap;
import io.imgvec.published.IndexFetcher;
import io.imgvec.published.IndexLayout;
import io.imgvec.published.PublishedIndex;
import io.imgvec.published.ShardedIndex;
import io.imgvec.published.Sq8Vectors;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class IndexUpdaterTest {
  private static final int N = 2000;
  private static final int D = 16;

  @TempDir Path tmp;

  @ParameterizedTest(name = "{0} shard(s)")
  @ValueSource(ints = {1, 3})
  void addsReplacesAndRemovesExactlyTheChangedIdsWithoutRetraining(int shards) throws Exception {
    String root = publishBase(shards);
    // Upserts: img-0..9 with new content, img-10 sent again unchanged, img-2000..2099 new.
    ArrayVectorSource fresh = ArrayVectorSource.clustered(110, D, 20, 7);
    List<String> ids = new ArrayList<>();
    List<String> digests = new ArrayList<>();
    List<float[]> vectors = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      ids.add("img-" + i);
      digests.add("changed-" + i);
      vectors.add(fresh.vectors[i]);
    }
    ids.add("img-10");
    digests.add("d-10");
    vectors.add(base().vectors[10]);
    for (int i = 0; i < 100; i++) {
      ids.add("img-" + (N + i));
      digests.add("new-" + i);
      vectors.add(fresh.vectors[10 + i]);
    }
    ArrayVectorSource upserts = source(vectors, ids, digests);
    ArrayVectorSource live = liveAfter(Set.of("img-20", "img-21"), upserts);

    IndexBuilder.BuiltIndex updated = update(root, upserts, Set.of("img-20", "img-21", "not-indexed"), live, 0.5);
    @SuppressWarnings("unchecked")
    Map<String, Object> update = (Map<String, Object>) updated.manifest().get("update");
    assertEquals(List.of(100L, 10L, 2L), List.of(update.get("added"), update.get("replaced"), update.get("removed")),
        update.toString());
    assertEquals((long) N + 100 - 2, updated.manifest().get("count"));
    assertEquals(false, update.get("rebuild_due"), update.toString());
    @SuppressWarnings("unchecked")
    Map<String, Object> metrics = (Map<String, Object>) updated.manifest().get("metrics");
    assertTrue(((Number) metrics.get("recall_at_10")).doubleValue() >= 0.95, metrics.toString());

    IdMap map = IdMap.read(updated.dir().resolve(IdMap.FILE), ((Number) updated.manifest().get("id_bound")).longValue(),
        2);
    assertNull(map.imageId(20), "removed");
    assertEquals("img-10", map.imageId(10), "unchanged keeps its id");
    assertNull(map.imageId(0), "replaced: the old id is gone");
    assertEquals(Map.of(), ContentDigests.read(updated.dir().resolve(ContentDigests.FILE)).entrySet().stream()
        .filter(e -> map.imageId(e.getKey()) == null).collect(java.util.stream.Collectors.toMap(
            Map.Entry::getKey, Map.Entry::getValue)), "a digest for every id in the map, none for removed ids");
    try (ShardedIndex index = ShardedIndex.readVersion(updated.manifest(), updated.dir(), false)) {
      var hit = index.search(fresh.vectors[0], 1, 1, IndexLayout.searchParams(updated.manifest()));
      assertEquals("img-0", map.imageId(hit.label(0, 0)), "the replaced image is found by its new vector");
      if (shards == 3) { // 667, 667 and 666 vectors: the last shard takes the 110 new ids, the first lost 12
        assertEquals(List.of(655L, 667L, 776L), Arrays.stream(index.shardSizes()).boxed().toList());
      }
    }
  }

  /**
   * The ids each update adds go to the shard with the fewest vectors (here the first, after the first update's
   * removals), where searches and lookups by image_id find them.
   */
  @Test
  void aShardedVersionTakesEachUpdatesNewIdsInItsSmallestShard() throws Exception {
    String root = publishBase(3);
    ArrayVectorSource fresh = ArrayVectorSource.clustered(21, D, 20, 11);
    List<String> ids = new ArrayList<>();
    List<String> digests = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      ids.add(i < 10 ? "img-" + i : "new-" + i); // 10 replaced (the first shard shrinks), 10 new (the last grows)
      digests.add("n" + i);
    }
    ArrayVectorSource first = source(Arrays.asList(fresh.vectors).subList(0, 20), ids, digests);
    IndexPublisher.publish(update(root, first, Set.of(), liveAfter(Set.of(), first), 0.5), root, 5,
        new Configuration());
    float[] newest = fresh.vectors[20];
    ArrayVectorSource second = source(List.of(newest), List.of("newest"), List.of("x"));
    IndexBuilder.BuiltIndex updated = update(root, second, Set.of(), liveAfter(Set.of(), first, second), 0.5);
    assertEquals("[[0, 0], [667, 1], [1334, 2], [2020, 0]]",
        Arrays.deepToString(IndexLayout.idRanges(updated.manifest())));
    try (ShardedIndex index = ShardedIndex.readVersion(updated.manifest(), updated.dir(), false)) {
      assertEquals(List.of(658L, 667L, 686L), Arrays.stream(index.shardSizes()).boxed().toList());
    }
    IndexPublisher.publish(updated, root, 5, new Configuration());
    try (PublishedIndex published = PublishedIndex.open(root, new Configuration(), tmp.resolve("read"),
        new PublishedIndex.LoadOptions(false, true))) {
      assertEquals("newest", published.search(newest, 1).get(0).imageId());
      assertArrayEquals(newest, published.vectorOf("newest"), 1e-6f, "looked up in the shard its id range names");
    }
  }

  @Test
  void saysARebuildIsDueWhenTheAddedShareExceedsTheRule() throws Exception {
    String root = publishBase(1);
    ArrayVectorSource upserts = newImages();
    IndexBuilder.BuiltIndex updated = update(root, upserts, Set.of(), liveAfter(Set.of(), upserts), 0.01);
    @SuppressWarnings("unchecked")
    Map<String, Object> update = (Map<String, Object>) updated.manifest().get("update");
    assertEquals(true, update.get("rebuild_due"));
    assertTrue(update.get("rebuild_reasons").toString().contains("50 vectors added since training"), update.toString());
  }

  @Test
  void aVersionWithoutDigestsAsksForOneBuild() throws Exception {
    IndexBuilder.BuiltIndex built = new IndexBuilder(base(), IndexBuilderTest.options(Map.of("index.type", "IVF-Flat",
        "index.nlist", "16")), m -> { }).build(tmp.resolve("nodigests"));
    java.nio.file.Files.delete(built.dir().resolve(ContentDigests.FILE));
    String root = tmp.resolve("published-nodigests").toString();
    IndexPublisher.publish(built, root, 5, new Configuration());
    IndexBuildException e = assertThrows(IndexBuildException.class,
        () -> update(root, base(), Set.of(), base(), 0.5));
    assertTrue(e.getMessage().contains("run build-index once"), e.getMessage());
  }

  /**
   * A version whose PQ codes (4 bytes for 16 dimensions) are re-ranked against its stored vectors: an update stores
   * the added and replaced vectors under their new ids, and the published version finds them by their exact
   * distance, in each of its 2 shards.
   */
  @Test
  void aReRankedVersionStoresEachUpdatesVectorsUnderTheirNewIds() throws Exception {
    String root = publishBase(Map.of("index.type", "IVF-PQ", "index.pq-m", "4", "index.refine", "sq8",
        "index.shards", "2"));
    java.util.Random random = new java.util.Random(13);
    List<float[]> fresh = new ArrayList<>(); // near existing vectors: within the range the 8-bit codes span
    List<String> ids = new ArrayList<>();
    List<String> digests = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      float[] v = base().vectors[37 * i + 5].clone();
      for (int j = 0; j < D; j++) {
        v[j] += 0.3f * (float) random.nextGaussian();
      }
      fresh.add(v);
      ids.add(i < 10 ? "img-" + i : "new-" + i);
      digests.add("n" + i);
    }
    ArrayVectorSource upserts = source(fresh, ids, digests);
    IndexBuilder.BuiltIndex updated = update(root, upserts, Set.of("img-30"), liveAfter(Set.of("img-30"), upserts),
        0.5);
    assertEquals(N + 20L, Sq8Vectors.map(updated.dir().resolve(Sq8Vectors.FILE), D).rows(), "a row per id");
    IndexPublisher.publish(updated, root, 5, new Configuration());
    try (PublishedIndex published = PublishedIndex.open(root, new Configuration(), tmp.resolve("read"))) {
      assertEquals(IndexPlanner.REFINE_K_FACTOR, published.searchParams().kFactor());
      for (int i = 0; i < 20; i++) {
        PublishedIndex.Neighbor hit = published.search(fresh.get(i), 1).get(0);
        assertEquals(ids.get(i), hit.imageId());
        assertEquals(0, hit.distance(), 0.05, "the stored vector's distance, not the 4-byte code's");
      }
      // a filter matching few ids: an exact search among their stored vectors (no lookups loaded to decode codes)
      PublishedIndex.Neighbor inGroup = published.search(new float[][] {fresh.get(7)}, 1, 0,
          Map.of("group", ArrayVectorSource.groupOf(7)), Long.MAX_VALUE).get(0).get(0);
      assertEquals(ids.get(7), inGroup.imageId());
      assertEquals(0, inGroup.distance(), 0.05);
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> metrics = (Map<String, Object>) updated.manifest().get("metrics");
    assertTrue(((Number) metrics.get("recall_at_10")).doubleValue() >= 0.95, metrics.toString());
  }

  /** A graph version takes new images (FAISS adds to an HNSW graph); an update that would remove any is refused. */
  @Test
  void aGraphVersionTakesNewImagesAndRefusesRemovals() throws Exception {
    String root = publishBase(Map.of("index.type", "HNSW"));
    ArrayVectorSource upserts = newImages();
    IndexBuilder.BuiltIndex updated = update(root, upserts, Set.of(), liveAfter(Set.of(), upserts), 0.5);
    @SuppressWarnings("unchecked")
    Map<String, Object> update = (Map<String, Object>) updated.manifest().get("update");
    assertEquals(List.of(50L, 0L, 0L), List.of(update.get("added"), update.get("replaced"), update.get("removed")));
    @SuppressWarnings("unchecked")
    Map<String, Object> metrics = (Map<String, Object>) updated.manifest().get("metrics");
    assertTrue(((Number) metrics.get("recall_at_10")).doubleValue() >= 0.95, "measured with the queries left in"
        + " the graph and out of its results: " + metrics);
    IndexPublisher.publish(updated, root, 5, new Configuration());
    try (PublishedIndex published = PublishedIndex.open(root, new Configuration(), tmp.resolve("read"))) {
      for (int i = 0; i < 50; i += 7) {
        assertEquals("new-" + i, published.search(upserts.vectors[i], 1).get(0).imageId());
      }
    }
    IndexBuildException refused = assertThrows(IndexBuildException.class, () -> update(root,
        source(List.of(), List.of(), List.of()), Set.of("img-3"), liveAfter(Set.of("img-3"), upserts), 0.5));
    assertTrue(refused.getMessage().contains("is an HNSW graph, which FAISS cannot remove from"),
        refused.getMessage());
  }

  private String publishBase(int shards) throws Exception {
    // Recall target 1: nprobe tuned to find every neighbour, so the rebuild rule's 0.01 margin is not up to which
    // 100 queries each side measured on.
    return publishBase(Map.of("index.type", "IVF-Flat", "index.shards", String.valueOf(shards)));
  }

  private String publishBase(Map<String, String> settings) throws Exception {
    Map<String, String> all = new java.util.HashMap<>(Map.of("index.nlist", "16", "index.target-recall", "1"));
    all.putAll(settings);
    IndexBuilder.BuiltIndex built = new IndexBuilder(base(), IndexBuilderTest.options(all), m -> { })
        .build(tmp.resolve("built"));
    String root = tmp.resolve("published").toString();
    IndexPublisher.publish(built, root, 5, new Configuration());
    return root;
  }

  private IndexBuilder.BuiltIndex update(String root, VectorSource upserts, Set<String> deleted, ArrayVectorSource live,
      double rebuildShare) throws Exception {
    Map<String, Object> manifest = IndexFetcher.fetch(root, new Configuration(), tmp.resolve("cache"));
    List<String> liveIds = new ArrayList<>();
    live.scan(100_000, b -> liveIds.addAll(Arrays.asList(b.imageIds()).subList(0, b.size())));
    int nq = 100;
    float[] queries = new float[nq * D];
    String[] queryIds = new String[nq];
    for (int q = 0; q < nq; q++) {
      int row = q * 17;
      System.arraycopy(live.vectors[row], 0, queries, q * D, D);
      queryIds[q] = liveIds.get(row);
    }
    IndexUpdater updater = new IndexUpdater(tmp.resolve("cache").resolve(String.valueOf(manifest.get("version"))),
        manifest, new IndexUpdater.Options(1000, 512, rebuildShare), m -> { });
    return updater.update(upserts, deleted, new IndexUpdater.Queries(queries, queryIds), live,
        java.nio.file.Files.createTempDirectory(tmp, "updated"));
  }

  /** 50 images the base lacks: "new-i", digests "ni". */
  private static ArrayVectorSource newImages() {
    ArrayVectorSource added = ArrayVectorSource.clustered(50, D, 20, 9);
    List<String> ids = new ArrayList<>();
    List<String> digests = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      ids.add("new-" + i);
      digests.add("n" + i);
    }
    return source(Arrays.asList(added.vectors), ids, digests);
  }

  /** The base data: digests "d-i". */
  private static ArrayVectorSource base() {
    ArrayVectorSource clustered = ArrayVectorSource.clustered(N, D, 20, 1);
    List<String> ids = new ArrayList<>();
    List<String> digests = new ArrayList<>();
    for (int i = 0; i < N; i++) {
      ids.add("img-" + i);
      digests.add("d-" + i);
    }
    return source(Arrays.asList(clustered.vectors), ids, digests);
  }

  /** Every live vector once the upserts (in turn) and deletions are applied. */
  private static ArrayVectorSource liveAfter(Set<String> deleted, ArrayVectorSource... upserts) throws Exception {
    Map<String, float[]> live = new java.util.LinkedHashMap<>();
    ArrayVectorSource base = base();
    for (int i = 0; i < N; i++) {
      live.put("img-" + i, base.vectors[i]);
    }
    for (ArrayVectorSource upsert : upserts) {
      List<String> upsertIds = new ArrayList<>();
      upsert.scan(100_000, b -> upsertIds.addAll(Arrays.asList(b.imageIds()).subList(0, b.size())));
      for (int i = 0; i < upsertIds.size(); i++) {
        live.put(upsertIds.get(i), upsert.vectors[i]);
      }
    }
    deleted.forEach(live::remove);
    return source(new ArrayList<>(live.values()), new ArrayList<>(live.keySet()), null);
  }

  private static ArrayVectorSource source(List<float[]> vectors, List<String> ids, List<String> digests) {
    String[] models = new String[vectors.size()];
    Arrays.fill(models, "test-model@sha256:00");
    return new ArrayVectorSource(vectors.toArray(float[][]::new), models, ids.toArray(String[]::new),
        digests == null ? null : digests.toArray(String[]::new));
  }
}

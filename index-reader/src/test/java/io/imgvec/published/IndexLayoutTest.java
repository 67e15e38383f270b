package io.imgvec.published;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class IndexLayoutTest {
  private static final Map<String, Object> FILE = Map.of("bytes", 1, "sha256", "00");

  /** A build's shards each hold one range; an update's ranges come from id_ranges. */
  @Test
  void idRangesComeFromTheShardsFirstIdsOrFromTheUpdatesRanges() throws Exception {
    Map<String, Object> built = sharded();
    IndexLayout.requireKnownFiles(built, "index");
    assertEquals("[[0, 0], [500, 1]]", Arrays.deepToString(IndexLayout.idRanges(built)));
    Map<String, Object> updated = new HashMap<>(built);
    updated.put("id_ranges", IndexLayout.idRangesEntry(new long[][] {{0, 0}, {500, 1}, {1000, 0}}));
    IndexLayout.requireKnownFiles(updated, "index");
    assertEquals("[[0, 0], [500, 1], [1000, 0]]", Arrays.deepToString(IndexLayout.idRanges(updated)));
  }

  /** A manifest written by someone else cannot name a shard the version lacks or ranges out of order. */
  @Test
  void idRangesNamingAMissingShardOrOutOfOrderAreRefused() {
    for (List<Map<String, Object>> ranges : List.of(
        List.of(Map.<String, Object>of("first_id", 0, "shard", 7)),
        List.of(Map.<String, Object>of("first_id", 0, "shard", 0), Map.<String, Object>of("first_id", 0, "shard", 1)),
        List.of(Map.<String, Object>of("first_id", 5, "shard", 0)),
        List.of(Map.<String, Object>of("first_id", "zero", "shard", 0)))) {
      Map<String, Object> manifest = sharded();
      manifest.put("id_ranges", ranges);
      UntrustedIndexException e = assertThrows(UntrustedIndexException.class,
          () -> IndexLayout.requireKnownFiles(manifest, "index"), ranges.toString());
      assertTrue(e.getMessage().startsWith("index/manifest.json has "), e.getMessage());
    }
  }

  private static Map<String, Object> sharded() {
    Map<String, Object> manifest = new HashMap<>();
    manifest.put("version", "v20261204T080000000Z-0123abcd");
    manifest.put("files", Map.of("index-00000.faiss", FILE, "index-00001.faiss", FILE));
    manifest.put("shards", List.of(Map.of("file", "index-00000.faiss", "first_id", 0),
        Map.of("file", "index-00001.faiss", "first_id", 500)));
    return manifest;
  }
}

package io.imgvec.published;

import io.imgvec.faiss.SearchParams;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

/**
 * Where a published index keeps what: {@code <root>/versions/<version>/} (index file or shards, id map, content
 * digests, held-out queries, {@code manifest.json} with their checksums) and {@code <root>/LATEST} naming the
 * version readers take. The names readers accept are exactly those publish writes, since they become local paths;
 * and what the manifest says about the index (its files, shards, id bound, search parameters, metadata columns).
 */
public final class IndexLayout {
  public static final String LATEST = "LATEST";
  public static final String VERSIONS = "versions";
  public static final String MANIFEST = "manifest.json";
  /** The index file of an unsharded version. */
  public static final String INDEX_FILE = "index.faiss";
  /** Every version name publish makes: v, a UTC time stamp (so name order is publication order), a random tag. */
  public static final Pattern VERSION_NAME = Pattern.compile("v\\d{8}T\\d{9}Z-[0-9a-f]{8}");
  /** Every file name publish writes into a version. */
  public static final Pattern FILE_NAME = Pattern.compile("index(-\\d{5})?\\.faiss|" + Pattern.quote(IdMap.FILE)
      + "|" + Pattern.quote(ContentDigests.FILE) + "|" + Pattern.quote(HeldOutQueries.FILE) + "|"
      + Pattern.quote(Sq8Vectors.FILE));

  private IndexLayout() {}

  /** A version name as publish makes them; anything else (a path, "..") is refused, never resolved. */
  static String requireVersionName(String version, String source) throws UntrustedIndexException {
    if (!VERSION_NAME.matcher(version).matches()) {
      throw new UntrustedIndexException(source + " names version '" + version.substring(0, Math.min(80,
          version.length())) + "', not a name build-index publishes (v<yyyyMMdd>T<HHmmssSSS>Z-<8 hex>)");
    }
    return version;
  }

  /**
   * The manifest's files, once its version and every file name are ones publish writes: the names become local
   * paths, so a manifest written by someone else cannot place files outside the cache.
   */
  @SuppressWarnings("unchecked")
  static Map<String, Map<String, Object>> requireKnownFiles(Map<String, Object> manifest, String where)
      throws UntrustedIndexException {
    String source = where + "/" + MANIFEST;
    requireVersionName(String.valueOf(manifest.get("version")), source);
    if (!(manifest.get("files") instanceof Map<?, ?> files)) {
      throw new UntrustedIndexException(source + " lists no files");
    }
    for (Object name : files.keySet()) {
      if (!FILE_NAME.matcher(String.valueOf(name)).matches()) {
        throw new UntrustedIndexException(source + " names file '" + name + "', not one build-index publishes");
      }
    }
    for (String indexFile : indexFiles(manifest)) {
      if (!files.containsKey(indexFile)) {
        throw new UntrustedIndexException(source + " names shard " + indexFile + " without listing it among its"
            + " files");
      }
    }
    if (refines(manifest) && !files.containsKey(Sq8Vectors.FILE)) {
      throw new UntrustedIndexException(source + " re-ranks against " + Sq8Vectors.FILE + " without listing it among"
          + " its files");
    }
    requireIdRanges(manifest, source);
    return (Map<String, Map<String, Object>>) files;
  }

  /** The version's FAISS files: index.faiss, or its shards in id order. */
  @SuppressWarnings("unchecked")
  public static List<String> indexFiles(Map<String, Object> manifest) {
    List<Map<String, Object>> shards = (List<Map<String, Object>>) manifest.get("shards");
    return shards == null ? List.of(INDEX_FILE) : shards.stream().map(s -> String.valueOf(s.get("file"))).toList();
  }

  /** The first id of each shard (one shard: 0). */
  @SuppressWarnings("unchecked")
  static long[] firstIds(Map<String, Object> manifest) {
    List<Map<String, Object>> shards = (List<Map<String, Object>>) manifest.get("shards");
    return shards == null ? new long[] {0}
        : shards.stream().mapToLong(s -> ((Number) s.get("first_id")).longValue()).toArray();
  }

  /**
   * Which shard holds which ids: pairs of (first id, shard), ascending from 0, each range running up to the next
   * one's first id. A build gives each shard one range (its {@code first_id}); update-index adds a range for the ids
   * it adds ({@code id_ranges}).
   */
  @SuppressWarnings("unchecked")
  public static long[][] idRanges(Map<String, Object> manifest) {
    Object ranges = manifest.get("id_ranges");
    if (ranges == null) {
      long[] first = firstIds(manifest);
      return IntStream.range(0, first.length).mapToObj(s -> new long[] {first[s], s})
          .toArray(long[][]::new);
    }
    return ((List<Map<String, Object>>) ranges).stream().map(r -> new long[] {((Number) r.get("first_id"))
        .longValue(), ((Number) r.get("shard")).longValue()}).toArray(long[][]::new);
  }

  /** {@code ranges} (see {@link #idRanges}) as the manifest's {@code id_ranges}. */
  public static List<Map<String, Object>> idRangesEntry(long[][] ranges) {
    return Arrays.stream(ranges).map(r -> Map.<String, Object>of("first_id", r[0], "shard", r[1])).toList();
  }

  private static void requireIdRanges(Map<String, Object> manifest, String source) throws UntrustedIndexException {
    long[][] ranges;
    try {
      ranges = idRanges(manifest);
    } catch (RuntimeException e) {
      throw new UntrustedIndexException(source + " has malformed shards or id_ranges: " + e);
    }
    int shards = indexFiles(manifest).size();
    for (int r = 0; r < ranges.length; r++) {
      if ((r == 0 ? ranges[r][0] != 0 : ranges[r][0] <= ranges[r - 1][0]) || ranges[r][1] < 0
          || ranges[r][1] >= shards) {
        throw new UntrustedIndexException(source + " has id ranges that do not start at 0, ascend and name one of"
            + " its " + shards + " shards");
      }
    }
  }

  /** One more than the largest id (versions written before update-index existed: the count). */
  public static long idBound(Map<String, Object> manifest) {
    return ((Number) manifest.getOrDefault("id_bound", manifest.get("count"))).longValue();
  }

  /** The search parameters recorded in an index manifest. */
  public static SearchParams searchParams(Map<String, Object> manifest) {
    Map<String, Object> info = indexInfo(manifest);
    return new SearchParams(((Number) info.get("nprobe")).intValue(),
        ((Number) info.getOrDefault("ef_search", 0)).intValue(), ((Number) info.get("max_codes")).longValue(),
        ((Number) info.getOrDefault("k_factor", 0)).intValue());
  }

  /** Whether the version re-ranks its codes' candidates against its stored vectors ({@link RerankedSearch}). */
  public static boolean refines(Map<String, Object> manifest) {
    return manifest.get("index") instanceof Map<?, ?> info && info.get("refine") != null;
  }

  /** Whether the version is an HNSW graph: searched by efSearch alone, and never removed from. */
  public static boolean isGraph(Map<String, Object> manifest) {
    return "HNSW".equals(indexInfo(manifest).get("type"));
  }

  /** Inverted lists of the index (0 for indexes without lists). */
  static int nlist(Map<String, Object> manifest) {
    return ((Number) indexInfo(manifest).get("nlist")).intValue();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> indexInfo(Map<String, Object> manifest) {
    return (Map<String, Object>) manifest.get("index");
  }

  /** The metadata columns published with the ids (index.metadata-columns at build time). */
  @SuppressWarnings("unchecked")
  static List<String> metadataColumns(Map<String, Object> manifest) {
    Object columns = manifest.get("metadata_columns");
    return columns == null ? List.of() : (List<String>) columns;
  }
}

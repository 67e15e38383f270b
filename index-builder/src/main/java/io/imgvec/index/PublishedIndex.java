package io.imgvec.index;

import com.fasterxml.jackson.core.type.TypeReference;
import io.imgvec.faiss.FaissIndex;
import io.imgvec.faiss.SearchParams;
import io.imgvec.faiss.SearchResult;
import io.imgvec.io.Digests;
import io.imgvec.io.Json;
import io.imgvec.util.UserException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;

/**
 * A published index, loaded for serving: resolves {@code LATEST} (or takes a version directory), copies the files
 * locally, verifies their checksums against the manifest, and loads index and id map. Searches are thread-safe.
 */
public final class PublishedIndex implements AutoCloseable {

  /** One search hit. */
  public record Neighbor(long id, String imageId, String uri, float distance) {

    /** Hits as query and serve answer them: rank (from 1), image_id, uri, distance. */
    public static List<Map<String, Object>> rows(List<Neighbor> neighbors) {
      List<Map<String, Object>> rows = new ArrayList<>(neighbors.size());
      for (int i = 0; i < neighbors.size(); i++) {
        Neighbor n = neighbors.get(i);
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("rank", i + 1);
        row.put("image_id", n.imageId());
        row.put("uri", n.uri());
        row.put("distance", n.distance());
        rows.add(row);
      }
      return rows;
    }
  }

  /**
   * How to load: {@code mmap} keeps an IVF index's lists in the file (mapped, paged in on use);
   * {@code lookups} makes {@link #vectorOf} work (an image_id → id map, about 100 bytes per vector on the heap, and
   * FAISS's id → list-offset map, about 16 bytes per vector) and filters use it for exact search over few ids.
   */
  public record LoadOptions(boolean mmap, boolean lookups) {
    public static final LoadOptions QUERY = new LoadOptions(false, false);
  }

  /** Filters matching at most this many ids are searched exactly, over their stored vectors. */
  static final int EXACT_FILTER_LIMIT = 4096;
  /** Stored vectors decoded at once by an exact filtered search (16,384 x 512 floats: 32 MB). */
  private static final int EXACT_CHUNK = 16_384;

  private final Map<String, Object> manifest;
  private final SearchParams searchParams;
  private final ShardedIndex index;
  private final IdMap ids;
  private final List<String> metadataColumns;
  private final Map<String, Long> idOfImage;
  /** column → value → ids, built on first use of a column. */
  private final Map<String, Map<String, long[]>> idsByValue = new ConcurrentHashMap<>();

  private PublishedIndex(Map<String, Object> manifest, ShardedIndex index, IdMap ids, boolean lookups) {
    this.manifest = manifest;
    this.searchParams = searchParams(manifest);
    this.index = index;
    this.ids = ids;
    this.metadataColumns = metadataColumns(manifest);
    this.idOfImage = lookups ? ids.idsByImageId() : Map.of();
    if (lookups) {
      index.enableReconstruct();
    }
  }

  /** Opens {@code uri} for one-off queries (see {@link #open(String, Configuration, Path, LoadOptions)}). */
  public static PublishedIndex open(String uri, Configuration conf, Path localCache) throws IOException {
    return open(uri, conf, localCache, LoadOptions.QUERY);
  }

  /** The version {@code LATEST} under publish root {@code uri} names, or null if there is none. */
  public static String latestVersion(String uri, Configuration conf) throws IOException {
    org.apache.hadoop.fs.Path latest = new org.apache.hadoop.fs.Path(uri, IndexPublisher.LATEST);
    FileSystem fs = latest.getFileSystem(conf);
    String version;
    try (InputStream in = fs.open(latest)) {
      version = new String(in.readNBytes(256), StandardCharsets.UTF_8).trim();
    } catch (FileNotFoundException e) {
      return null;
    }
    return requireVersionName(version, latest.toString());
  }

  /** A version name as publish makes them; anything else (a path, "..") is refused, never resolved. */
  private static String requireVersionName(String version, String source) throws UntrustedIndexException {
    if (!IndexPublisher.VERSION_NAME.matcher(version).matches()) {
      throw new UntrustedIndexException(source + " names version '" + version.substring(0, Math.min(80,
          version.length())) + "', not a name build-index publishes (v<yyyyMMdd>T<HHmmssSSS>Z-<8 hex>)");
    }
    return version;
  }

  /**
   * Opens {@code uri}: a publish root (follows LATEST) or one version directory (see {@link #fetch}).
   */
  public static PublishedIndex open(String uri, Configuration conf, Path localCache, LoadOptions options)
      throws IOException {
    Map<String, Object> manifest = fetch(uri, conf, localCache);
    Path local = localCache.resolve(String.valueOf(manifest.get("version")));
    ShardedIndex index = ShardedIndex.read(indexFiles(manifest).stream().map(local::resolve).toList(),
        firstIds(manifest), options.mmap());
    try {
      IdMap ids = IdMap.read(local.resolve(IdMap.FILE), idBound(manifest), metadataColumns(manifest).size());
      return new PublishedIndex(manifest, index, ids, options.lookups());
    } catch (IOException | RuntimeException e) {
      index.close(); // the native index is not garbage-collected
      throw e;
    }
  }

  /**
   * Copies the files of the version at {@code uri} (a publish root: the version LATEST names; or one version
   * directory) into {@code localCache/<version>/}, verifies their checksums, and returns its manifest. If the version
   * LATEST named is retired while it is being read (several newer versions were published meanwhile), LATEST is read
   * again.
   */
  public static Map<String, Object> fetch(String uri, Configuration conf, Path localCache) throws IOException {
    org.apache.hadoop.fs.Path root = new org.apache.hadoop.fs.Path(uri);
    FileSystem fs = IndexPublisher.withoutChecksumFiles(root.getFileSystem(conf));
    String version = latestVersion(uri, conf);
    if (version == null) {
      if (!fs.exists(new org.apache.hadoop.fs.Path(root, IndexPublisher.MANIFEST))) {
        throw new UserException("no published index at " + uri + " (neither LATEST nor manifest.json found)",
            "pass the --output of build-index, or one of its versions/<version> directories");
      }
      return fetchVersion(fs, root, localCache);
    }
    for (int attempt = 1; ; attempt++) {
      try {
        return fetchVersion(fs, new org.apache.hadoop.fs.Path(root, IndexPublisher.VERSIONS + "/" + version),
            localCache);
      } catch (FileNotFoundException e) {
        if (attempt == 3) {
          throw e;
        }
        version = latestVersion(uri, conf);
      }
    }
  }

  /**
   * The manifest of the version LATEST names under publish root {@code uri}; null if nothing is published there (or
   * that version was just retired by a newer publish).
   */
  public static Map<String, Object> latestManifest(String uri, Configuration conf) throws IOException {
    String version = latestVersion(uri, conf);
    if (version == null) {
      return null;
    }
    org.apache.hadoop.fs.Path versionDir = new org.apache.hadoop.fs.Path(uri, IndexPublisher.VERSIONS + "/" + version);
    try {
      return readManifest(versionDir.getFileSystem(conf), versionDir);
    } catch (FileNotFoundException e) {
      return null;
    }
  }

  private static Map<String, Object> readManifest(FileSystem fs, org.apache.hadoop.fs.Path versionDir)
      throws IOException {
    try (InputStream in = fs.open(new org.apache.hadoop.fs.Path(versionDir, IndexPublisher.MANIFEST))) {
      return Json.MAPPER.readValue(in, new TypeReference<Map<String, Object>>() {});
    }
  }

  private static Map<String, Object> fetchVersion(FileSystem fs, org.apache.hadoop.fs.Path versionDir,
      Path localCache) throws IOException {
    Map<String, Object> manifest = readManifest(fs, versionDir);
    Map<String, Map<String, Object>> files = requireKnownFiles(manifest, versionDir.toString());
    Path local = Files.createDirectories(localCache.resolve(String.valueOf(manifest.get("version"))));
    for (Map.Entry<String, Map<String, Object>> f : files.entrySet()) {
      Path target = local.resolve(f.getKey());
      fs.copyToLocalFile(false, new org.apache.hadoop.fs.Path(versionDir, f.getKey()),
          new org.apache.hadoop.fs.Path(target.toUri()), true);
      String actual = Digests.sha256(target);
      if (!actual.equals(f.getValue().get("sha256"))) {
        throw new IOException("checksum mismatch for " + f.getKey() + " of version " + manifest.get("version")
            + ": manifest says " + f.getValue().get("sha256") + ", file has " + actual);
      }
    }
    return manifest;
  }

  /**
   * The manifest's files, once its version and every file name are ones publish writes: the names become local
   * paths, so a manifest written by someone else cannot place files outside the cache.
   */
  @SuppressWarnings("unchecked")
  private static Map<String, Map<String, Object>> requireKnownFiles(Map<String, Object> manifest, String where)
      throws UntrustedIndexException {
    requireVersionName(String.valueOf(manifest.get("version")), where + "/" + IndexPublisher.MANIFEST);
    if (!(manifest.get("files") instanceof Map<?, ?> files)) {
      throw new UntrustedIndexException(where + "/" + IndexPublisher.MANIFEST + " lists no files");
    }
    for (Object name : files.keySet()) {
      if (!IndexPublisher.FILE_NAME.matcher(String.valueOf(name)).matches()) {
        throw new UntrustedIndexException(where + "/" + IndexPublisher.MANIFEST + " names file '" + name
            + "', not one build-index publishes");
      }
    }
    for (String indexFile : indexFiles(manifest)) {
      if (!files.containsKey(indexFile)) {
        throw new UntrustedIndexException(where + "/" + IndexPublisher.MANIFEST + " names shard " + indexFile
            + " without listing it among its files");
      }
    }
    return (Map<String, Map<String, Object>>) files;
  }

  public Map<String, Object> manifest() {
    return manifest;
  }

  public String version() {
    return String.valueOf(manifest.get("version"));
  }

  public String modelId() {
    return String.valueOf(manifest.get("model_id"));
  }

  /** Bytes of the index files (as published; what they take in memory unless memory-mapped). */
  @SuppressWarnings("unchecked")
  public long indexBytes() {
    Map<String, Map<String, Object>> files = (Map<String, Map<String, Object>>) manifest.get("files");
    return indexFiles(manifest).stream().mapToLong(f -> ((Number) files.get(f).get("bytes")).longValue()).sum();
  }

  /** The version's FAISS files: index.faiss, or its shards in id order. */
  @SuppressWarnings("unchecked")
  public static List<String> indexFiles(Map<String, Object> manifest) {
    List<Map<String, Object>> shards = (List<Map<String, Object>>) manifest.get("shards");
    return shards == null ? List.of(IndexBuilder.INDEX_FILE)
        : shards.stream().map(s -> String.valueOf(s.get("file"))).toList();
  }

  @SuppressWarnings("unchecked")
  private static long[] firstIds(Map<String, Object> manifest) {
    List<Map<String, Object>> shards = (List<Map<String, Object>>) manifest.get("shards");
    return shards == null ? new long[] {0}
        : shards.stream().mapToLong(s -> ((Number) s.get("first_id")).longValue()).toArray();
  }

  /** Vectors in the index. */
  public long size() {
    return index.ntotal();
  }

  public int dimension() {
    return index.dimension();
  }

  /** The search parameters the builder chose and measured (nprobe, codes cap; 0 for indexes without lists). */
  public SearchParams searchParams() {
    return searchParams;
  }

  /** One more than the largest id (versions written before update-index existed: the count). */
  public static long idBound(Map<String, Object> manifest) {
    return ((Number) manifest.getOrDefault("id_bound", manifest.get("count"))).longValue();
  }

  /** The search parameters recorded in an index manifest. */
  public static SearchParams searchParams(Map<String, Object> manifest) {
    Map<String, Object> info = indexInfo(manifest);
    return new SearchParams(((Number) info.get("nprobe")).intValue(),
        ((Number) info.getOrDefault("ef_search", 0)).intValue(), ((Number) info.get("max_codes")).longValue());
  }

  /** The model.* settings the embeddings were made with (recorded by build-index), or null if not recorded. */
  @SuppressWarnings("unchecked")
  public Map<String, String> modelSettings() {
    Map<String, Object> model = (Map<String, Object>) manifest.get("model");
    return model == null ? null : (Map<String, String>) model.get("settings");
  }

  /** The metadata columns published with the ids (index.metadata-columns at build time). */
  public List<String> metadataColumns() {
    return metadataColumns;
  }

  /** The stored vector of {@code imageId} (decoded from its code for PQ indexes), or null if it is not indexed. */
  public float[] vectorOf(String imageId) {
    Long id = idOfImage.get(imageId);
    return id == null ? null : index.reconstruct(id);
  }

  /** The k nearest neighbours of {@code vector}, with the published search parameters. */
  public List<Neighbor> search(float[] vector, int k) {
    return search(new float[][] {vector}, k, 0, Map.of(), Long.MAX_VALUE).get(0);
  }

  /**
   * The k nearest neighbours of each vector; {@code nprobe} 0 keeps the published setting; {@code filter}
   * (column → value, all must match) restricts the search to matching ids. An IVF index searches at most
   * {@value #EXACT_FILTER_LIMIT} matching ids exactly (so a rare value still gets its true neighbours) and more by
   * FAISS's ID selector with nprobe raised by the share of ids that match (at most every list); an index without
   * lists (Flat, PQ) scans the matching ids' stored codes exactly, in chunks. {@code maxScanned} caps the vectors or
   * codes the whole request may scan (as estimated before searching): beyond it, {@link SearchLimitException}.
   */
  public List<List<Neighbor>> search(float[][] vectors, int k, int nprobe, Map<String, String> filter,
      long maxScanned) {
    int d = index.dimension();
    float[] flat = new float[vectors.length * d];
    for (int q = 0; q < vectors.length; q++) {
      if (vectors[q].length != d) {
        throw new IllegalArgumentException("query vector has dimension " + vectors[q].length + ", the index has "
            + d);
      }
      System.arraycopy(vectors[q], 0, flat, q * d, d);
    }
    SearchParams params = nprobe > 0 ? withNprobe(nprobe, searchParams.maxCodes()) : searchParams;
    if (filter.isEmpty()) {
      return neighbours(index.search(flat, vectors.length, k, params), vectors.length);
    }
    long[] allowed = matching(filter);
    if (allowed.length == 0) {
      return Collections.nCopies(vectors.length, List.of());
    }
    int nlist = ((Number) indexInfo(manifest).get("nlist")).intValue();
    if (nlist == 0 || allowed.length <= EXACT_FILTER_LIMIT && !idOfImage.isEmpty()) {
      requireWithin(maxScanned, (long) vectors.length * allowed.length, allowed.length);
      return neighbours(exactAmong(flat, vectors.length, allowed, k), vectors.length);
    }
    int widened = (int) Math.min(nlist, Math.ceil(Math.max(1, params.nprobe()) * (double) size()
        / allowed.length));
    requireWithin(maxScanned, (long) vectors.length * (long) Math.ceil((double) size() * widened / nlist),
        allowed.length);
    return neighbours(index.search(flat, vectors.length, k, withNprobe(widened, 0), allowed), vectors.length);
  }

  private static void requireWithin(long maxScanned, long scanned, int matching) {
    if (scanned > maxScanned) {
      throw new SearchLimitException("the filter matches " + matching + " ids, so this request would scan about "
          + scanned + " vectors, over the limit of " + maxScanned + " (serve.max-scan-per-request); send fewer"
          + " vectors per batch or a narrower filter");
    }
  }

  /** The published settings at another nprobe; an HNSW coarse quantizer's efSearch keeps up with it. */
  private SearchParams withNprobe(int nprobe, long maxCodes) {
    int efSearch = searchParams.efSearch() > 0 ? Math.max(searchParams.efSearch(), 2 * nprobe) : 0;
    return new SearchParams(nprobe, efSearch, maxCodes);
  }

  /** Ids whose metadata match every column = value of {@code filter}. */
  long[] matching(Map<String, String> filter) {
    long[] result = null;
    for (Map.Entry<String, String> e : filter.entrySet()) {
      int column = metadataColumns.indexOf(e.getKey());
      if (column < 0) {
        throw new IllegalArgumentException("cannot filter on '" + e.getKey() + "': this index publishes "
            + (metadataColumns.isEmpty() ? "no metadata columns (set index.metadata-columns when building)"
            : "the metadata columns " + metadataColumns));
      }
      long[] ids = idsByValue.computeIfAbsent(e.getKey(), c -> groupByValue(column))
          .getOrDefault(e.getValue(), new long[0]);
      result = result == null ? ids : intersect(result, ids);
    }
    return result;
  }

  private Map<String, long[]> groupByValue(int column) {
    Map<String, List<Long>> grouped = new HashMap<>();
    for (long id = 0; id < ids.size(); id++) {
      String value = ids.metadata(id, column);
      if (value != null) {
        grouped.computeIfAbsent(value, v -> new ArrayList<>()).add(id);
      }
    }
    Map<String, long[]> out = new HashMap<>();
    grouped.forEach((value, list) -> out.put(value, list.stream().mapToLong(Long::longValue).toArray()));
    return out;
  }

  private static long[] intersect(long[] a, long[] b) { // both ascending
    return Arrays.stream(a).filter(x -> Arrays.binarySearch(b, x) >= 0).toArray();
  }

  /**
   * Exact search among the stored vectors of {@code allowed} (decoded from their codes for PQ: the distances PQ's
   * own search computes), {@value #EXACT_CHUNK} at a time so memory stays bounded whatever the filter matches.
   */
  private SearchResult exactAmong(float[] queries, int nq, long[] allowed, int k) {
    if (idOfImage.isEmpty()) {
      throw new IllegalArgumentException("filters on an index without lists need it loaded with lookups");
    }
    int d = index.dimension();
    TopK merged = new TopK(nq, k, index.metric());
    for (int from = 0; from < allowed.length; from += EXACT_CHUNK) {
      long[] ids = Arrays.copyOfRange(allowed, from, Math.min(allowed.length, from + EXACT_CHUNK));
      float[] stored = new float[ids.length * d];
      for (int i = 0; i < ids.length; i++) {
        System.arraycopy(index.reconstruct(ids[i]), 0, stored, i * d, d);
      }
      try (FaissIndex exact = FaissIndex.create(d, "IDMap,Flat", index.metric())) {
        exact.add(stored, ids, ids.length);
        merged.offerAll(exact.search(queries, nq, Math.min(k, ids.length), SearchParams.DEFAULT), id -> id);
      }
    }
    return merged.result();
  }

  private List<List<Neighbor>> neighbours(SearchResult r, int queries) {
    List<List<Neighbor>> out = new ArrayList<>();
    for (int q = 0; q < queries; q++) {
      List<Neighbor> hits = new ArrayList<>();
      for (int i = 0; i < r.k(); i++) {
        long id = r.label(q, i);
        if (id >= 0) {
          hits.add(new Neighbor(id, ids.imageId(id), ids.uri(id), r.distance(q, i)));
        }
      }
      out.add(hits);
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> indexInfo(Map<String, Object> manifest) {
    return (Map<String, Object>) manifest.get("index");
  }

  @SuppressWarnings("unchecked")
  private static List<String> metadataColumns(Map<String, Object> manifest) {
    Object columns = manifest.get("metadata_columns");
    return columns == null ? List.of() : (List<String>) columns;
  }

  @Override
  public void close() {
    index.close();
  }
}

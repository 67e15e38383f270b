package io.imgvec.published;

import io.imgvec.faiss.SearchParams;
import io.imgvec.faiss.SearchResult;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/**
 * A published index, loaded for serving and queries: fetched and verified ({@link IndexFetcher}), its index and id
 * map loaded, searched with the published parameters, with filters ({@link FilteredSearch}) and lookups of stored
 * vectors by image_id. Searches are thread-safe.
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

  private final Map<String, Object> manifest;
  private final SearchParams searchParams;
  /** Whether the version is an HNSW graph, which a request's nprobe cannot steer. */
  private final boolean graph;
  private final ShardedIndex index;
  private final IdMap ids;
  private final List<String> metadataColumns;
  private final Map<String, Long> idOfImage;
  private final FilteredSearch filtered;
  /** The refine stage re-ranking the codes' candidates, or null where the version has none. */
  private final RerankedSearch refine;

  private PublishedIndex(Map<String, Object> manifest, ShardedIndex index, IdMap ids, RerankedSearch refine,
      boolean lookups) {
    this.manifest = manifest;
    this.searchParams = IndexLayout.searchParams(manifest);
    this.graph = IndexLayout.isGraph(manifest);
    this.index = index;
    this.refine = refine;
    this.ids = ids;
    this.metadataColumns = IndexLayout.metadataColumns(manifest);
    this.idOfImage = lookups ? ids.idsByImageId() : Map.of();
    if (lookups) {
      index.enableReconstruct();
    }
    this.filtered = new FilteredSearch(index, ids, metadataColumns, IndexLayout.nlist(manifest), lookups, refine);
  }

  /** Opens {@code uri} for one-off queries (see {@link #open(String, Configuration, Path, LoadOptions)}). */
  public static PublishedIndex open(String uri, Configuration conf, Path localCache) throws IOException {
    return open(uri, conf, localCache, LoadOptions.QUERY);
  }

  /**
   * Opens {@code uri}: a publish root (follows LATEST) or one version directory (see {@link #fetch}).
   */
  public static PublishedIndex open(String uri, Configuration conf, Path localCache, LoadOptions options)
      throws IOException {
    Map<String, Object> manifest = IndexFetcher.fetch(uri, conf, localCache);
    Path local = localCache.resolve(String.valueOf(manifest.get("version")));
    ShardedIndex index = ShardedIndex.readVersion(manifest, local, options.mmap())
        .searchShardsInParallel(Runtime.getRuntime().availableProcessors());
    try {
      IdMap ids = IdMap.read(local.resolve(IdMap.FILE), IndexLayout.idBound(manifest),
          IndexLayout.metadataColumns(manifest).size());
      return new PublishedIndex(manifest, index, ids, refine(manifest, index, local), options.lookups());
    } catch (IOException | RuntimeException e) {
      index.close(); // the native index is not garbage-collected
      throw e;
    }
  }

  /** The version's refine stage over {@code index}, its store checked to hold a row per id (null: none). */
  private static RerankedSearch refine(Map<String, Object> manifest, ShardedIndex index, Path local)
      throws IOException {
    RerankedSearch refine = RerankedSearch.ofVersion(manifest, index, local);
    if (refine != null && refine.storedRows() != IndexLayout.idBound(manifest)) {
      throw new UntrustedIndexException(Sq8Vectors.FILE + " holds " + refine.storedRows() + " vectors, the"
          + " manifest's id_bound is " + IndexLayout.idBound(manifest));
    }
    return refine;
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

  /**
   * Bytes of the index files and the refine stage's stored vectors (as published; what they take in memory unless
   * memory-mapped: the store always is, paged in as re-ranking touches it).
   */
  @SuppressWarnings("unchecked")
  public long indexBytes() {
    Map<String, Map<String, Object>> files = (Map<String, Map<String, Object>>) manifest.get("files");
    List<String> names = new ArrayList<>(IndexLayout.indexFiles(manifest));
    if (refine != null) {
      names.add(Sq8Vectors.FILE);
    }
    return names.stream().mapToLong(f -> ((Number) files.get(f).get("bytes")).longValue()).sum();
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
   * (column → value, all must match) restricts the search to matching ids ({@link FilteredSearch}).
   * {@code maxScanned} caps the vectors or codes the whole request may scan (as estimated before searching): beyond
   * it, {@link SearchLimitException}.
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
    if (nprobe > 0 && graph) {
      throw new IllegalArgumentException("nprobe sets how many IVF lists a search probes, and this version is an"
          + " HNSW graph (searched at its published ef_search " + searchParams.efSearch() + "): leave nprobe out");
    }
    SearchParams params = nprobe > 0 ? withNprobe(nprobe, searchParams.maxCodes()) : searchParams;
    int candidates = refine == null ? k : refine.candidates(k, params);
    SearchResult hits = filter.isEmpty() ? index.search(flat, vectors.length, candidates, params)
        : filtered.search(flat, vectors.length, candidates, params, filter, maxScanned,
            widened -> withNprobe(widened, 0));
    if (hits == null) {
      return Collections.nCopies(vectors.length, List.of());
    }
    return neighbours(refine == null ? hits : refine.rerank(flat, vectors.length, k, hits), vectors.length);
  }

  /** The published settings at another nprobe; an HNSW coarse quantizer's efSearch keeps up with it. */
  private SearchParams withNprobe(int nprobe, long maxCodes) {
    int efSearch = searchParams.efSearch() > 0 ? Math.max(searchParams.efSearch(), 2 * nprobe) : 0;
    return new SearchParams(nprobe, efSearch, maxCodes, searchParams.kFactor());
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

  @Override
  public void close() {
    index.close();
  }
}

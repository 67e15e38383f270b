package io.imgvec.published;

import io.imgvec.faiss.FaissIndex;
import io.imgvec.faiss.IdBitmap;
import io.imgvec.faiss.SearchParams;
import io.imgvec.faiss.SearchResult;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntFunction;

/**
 * Search restricted to the ids whose metadata match a filter (column → value, all must match). The strategy follows
 * how many ids match. At most {@value #EXACT_FILTER_LIMIT}: an exact search among them, over the refine stage's
 * stored vectors where the version has them (PQ codes cannot rank a thousand near-equidistant vectors), else over
 * vectors decoded from their codes. More: the IVF index searched with FAISS's bitmap ID selector and nprobe raised
 * by the share of ids that match (at most every list), so as many matching codes are scanned as an unfiltered
 * search scans. An index without lists (Flat, PQ) scans the matching ids exactly, in chunks.
 */
final class FilteredSearch {
  /** Filters matching at most this many ids are searched exactly, over their stored vectors. */
  static final int EXACT_FILTER_LIMIT = 4096;
  /** Stored vectors decoded at once by an exact filtered search (16,384 x 512 floats: 32 MB). */
  private static final int EXACT_CHUNK = 16_384;
  /** Off-heap bytes of recent filters' bitmaps kept (one bit an id: 16 filters of 100M ids). */
  private static final long BITMAP_CACHE_BYTES = 200L << 20;

  private final ShardedIndex index;
  private final IdMap ids;
  private final List<String> metadataColumns;
  private final int nlist;
  /** Whether stored vectors can be read back (the index was loaded with lookups). */
  private final boolean reconstructible;
  /** The version's refine stage (null: none): its stored vectors rank an exact filtered search. */
  private final RerankedSearch refine;
  /** column → value → ids, built on first use of a column. */
  private final Map<String, Map<String, long[]>> idsByValue = new ConcurrentHashMap<>();
  /** filter → its ids' bitmap, least recently used first. */
  private final LinkedHashMap<Map<String, String>, IdBitmap> bitmaps = new LinkedHashMap<>(16, 0.75f, true);
  private final long bitmapCacheBytes;
  private long bitmapBytes;

  FilteredSearch(ShardedIndex index, IdMap ids, List<String> metadataColumns, int nlist, boolean reconstructible,
      RerankedSearch refine) {
    this(index, ids, metadataColumns, nlist, reconstructible, refine, BITMAP_CACHE_BYTES);
  }

  FilteredSearch(ShardedIndex index, IdMap ids, List<String> metadataColumns, int nlist, boolean reconstructible,
      RerankedSearch refine, long bitmapCacheBytes) {
    this.bitmapCacheBytes = bitmapCacheBytes;
    this.index = index;
    this.ids = ids;
    this.metadataColumns = metadataColumns;
    this.nlist = nlist;
    this.reconstructible = reconstructible;
    this.refine = refine;
  }

  /**
   * The k nearest matching neighbours of {@code nq} queries ({@code flat}, row after row), or null when no id
   * matches. {@code maxScanned} caps the vectors or codes the request may scan (estimated before searching).
   */
  SearchResult search(float[] flat, int nq, int k, SearchParams params, Map<String, String> filter,
      long maxScanned, IntFunction<SearchParams> atNprobe) {
    long[] allowed = matching(filter);
    if (allowed.length == 0) {
      return null;
    }
    if (nlist == 0 || allowed.length <= EXACT_FILTER_LIMIT && (reconstructible || refine != null)) {
      requireWithin(maxScanned, (long) nq * allowed.length, allowed.length);
      return exactAmong(flat, nq, allowed, k);
    }
    int widened = (int) Math.min(nlist, Math.ceil(Math.max(1, params.nprobe()) * (double) index.ntotal()
        / allowed.length));
    requireWithin(maxScanned, (long) nq * (long) Math.ceil((double) index.ntotal() * widened / nlist),
        allowed.length);
    return index.search(flat, nq, k, atNprobe.apply(widened), bitmap(filter, allowed));
  }

  /** The bitmap of {@code filter}'s ids, built once and kept while recent filters' bitmaps fit the cache. */
  private IdBitmap bitmap(Map<String, String> filter, long[] allowed) {
    synchronized (bitmaps) {
      IdBitmap cached = bitmaps.get(filter);
      if (cached != null) {
        return cached;
      }
    }
    IdBitmap built = IdBitmap.of(allowed);
    synchronized (bitmaps) {
      if (bitmaps.putIfAbsent(Map.copyOf(filter), built) == null) {
        bitmapBytes += built.bytes();
      }
      Iterator<IdBitmap> eldest = bitmaps.values().iterator();
      while (bitmapBytes > bitmapCacheBytes && bitmaps.size() > 1) {
        bitmapBytes -= eldest.next().bytes();
        eldest.remove();
      }
    }
    return built;
  }

  /** The filters whose bitmaps are kept, least recently used first. */
  List<Map<String, String>> cachedFilters() {
    synchronized (bitmaps) {
      return List.copyOf(bitmaps.keySet());
    }
  }

  private static void requireWithin(long maxScanned, long scanned, int matching) {
    if (scanned > maxScanned) {
      throw new SearchLimitException("the filter matches " + matching + " ids, so this request would scan about "
          + scanned + " vectors, over the limit of " + maxScanned + " (serve.max-scan-per-request); send fewer"
          + " vectors per batch or a narrower filter");
    }
  }

  /** Ids whose metadata match every column = value of {@code filter}, ascending. */
  long[] matching(Map<String, String> filter) {
    long[] result = null;
    for (Map.Entry<String, String> e : filter.entrySet()) {
      int column = metadataColumns.indexOf(e.getKey());
      if (column < 0) {
        throw new IllegalArgumentException("cannot filter on '" + e.getKey() + "': this index publishes "
            + (metadataColumns.isEmpty() ? "no metadata columns (set index.metadata-columns when building)"
            : "the metadata columns " + metadataColumns));
      }
      long[] matched = idsByValue.computeIfAbsent(e.getKey(), c -> groupByValue(column))
          .getOrDefault(e.getValue(), new long[0]);
      result = result == null ? matched : intersect(result, matched);
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
   * Exact search among {@code allowed}: by the refine stage's stored vectors, else by vectors decoded from their
   * codes (the distances PQ's own search computes), {@value #EXACT_CHUNK} at a time so memory stays bounded whatever
   * the filter matches.
   */
  private SearchResult exactAmong(float[] queries, int nq, long[] allowed, int k) {
    if (refine == null && !reconstructible) {
      throw new IllegalArgumentException("filters on an index without lists need it loaded with lookups");
    }
    TopK merged = new TopK(nq, k, index.metric());
    for (int from = 0; from < allowed.length; from += EXACT_CHUNK) {
      long[] chunk = Arrays.copyOfRange(allowed, from, Math.min(allowed.length, from + EXACT_CHUNK));
      int kept = Math.min(k, chunk.length);
      merged.offerAll(refine != null ? refine.nearestAmong(queries, nq, kept, chunk)
          : decodedNearest(queries, nq, kept, chunk), id -> id);
    }
    return merged.result();
  }

  private SearchResult decodedNearest(float[] queries, int nq, int k, long[] chunk) {
    int d = index.dimension();
    float[] stored = new float[chunk.length * d];
    for (int i = 0; i < chunk.length; i++) {
      System.arraycopy(index.reconstruct(chunk[i]), 0, stored, i * d, d);
    }
    try (FaissIndex exact = FaissIndex.create(d, "IDMap,Flat", index.metric())) {
      exact.add(stored, chunk, chunk.length);
      return exact.search(queries, nq, k, SearchParams.DEFAULT);
    }
  }
}

package io.imgvec.published;

import io.imgvec.faiss.FaissIndex;
import io.imgvec.faiss.SearchParams;
import io.imgvec.faiss.SearchResult;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntFunction;

/**
 * Search restricted to the ids whose metadata match a filter (column → value, all must match). An IVF index
 * searches at most {@value #EXACT_FILTER_LIMIT} matching ids exactly (so a rare value still gets its true
 * neighbours) and more by FAISS's ID selector with nprobe raised by the share of ids that match (at most every
 * list); an index without lists (Flat, PQ) scans the matching ids' stored codes exactly, in chunks.
 */
final class FilteredSearch {
  /** Filters matching at most this many ids are searched exactly, over their stored vectors. */
  static final int EXACT_FILTER_LIMIT = 4096;
  /** Stored vectors decoded at once by an exact filtered search (16,384 x 512 floats: 32 MB). */
  private static final int EXACT_CHUNK = 16_384;

  private final ShardedIndex index;
  private final IdMap ids;
  private final List<String> metadataColumns;
  private final int nlist;
  /** Whether stored vectors can be read back (the index was loaded with lookups). */
  private final boolean reconstructible;
  /** column → value → ids, built on first use of a column. */
  private final Map<String, Map<String, long[]>> idsByValue = new ConcurrentHashMap<>();

  FilteredSearch(ShardedIndex index, IdMap ids, List<String> metadataColumns, int nlist, boolean reconstructible) {
    this.index = index;
    this.ids = ids;
    this.metadataColumns = metadataColumns;
    this.nlist = nlist;
    this.reconstructible = reconstructible;
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
    if (nlist == 0 || allowed.length <= EXACT_FILTER_LIMIT && reconstructible) {
      requireWithin(maxScanned, (long) nq * allowed.length, allowed.length);
      return exactAmong(flat, nq, allowed, k);
    }
    int widened = (int) Math.min(nlist, Math.ceil(Math.max(1, params.nprobe()) * (double) index.ntotal()
        / allowed.length));
    requireWithin(maxScanned, (long) nq * (long) Math.ceil((double) index.ntotal() * widened / nlist),
        allowed.length);
    return index.search(flat, nq, k, atNprobe.apply(widened), allowed);
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
   * Exact search among the stored vectors of {@code allowed} (decoded from their codes for PQ: the distances PQ's
   * own search computes), {@value #EXACT_CHUNK} at a time so memory stays bounded whatever the filter matches.
   */
  private SearchResult exactAmong(float[] queries, int nq, long[] allowed, int k) {
    if (!reconstructible) {
      throw new IllegalArgumentException("filters on an index without lists need it loaded with lookups");
    }
    int d = index.dimension();
    TopK merged = new TopK(nq, k, index.metric());
    for (int from = 0; from < allowed.length; from += EXACT_CHUNK) {
      long[] chunk = Arrays.copyOfRange(allowed, from, Math.min(allowed.length, from + EXACT_CHUNK));
      float[] stored = new float[chunk.length * d];
      for (int i = 0; i < chunk.length; i++) {
        System.arraycopy(index.reconstruct(chunk[i]), 0, stored, i * d, d);
      }
      try (FaissIndex exact = FaissIndex.create(d, "IDMap,Flat", index.metric())) {
        exact.add(stored, chunk, chunk.length);
        merged.offerAll(exact.search(queries, nq, Math.min(k, chunk.length), SearchParams.DEFAULT), id -> id);
      }
    }
    return merged.result();
  }
}

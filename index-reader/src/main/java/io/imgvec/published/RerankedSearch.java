package io.imgvec.published;

import io.imgvec.faiss.IdBitmap;
import io.imgvec.faiss.Metric;
import io.imgvec.faiss.SearchParams;
import io.imgvec.faiss.SearchResult;
import io.imgvec.faiss.SearchWork;
import io.imgvec.faiss.VectorSearch;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A refine stage over an index of compressed codes: the codes find k × kFactor candidates, and their stored
 * vectors ({@link Sq8Vectors}, far finer than PQ codes) re-rank them to the k nearest. It is imgvec's rather than
 * FAISS's {@code IndexRefine} (which in FAISS 1.7.3 takes neither ids, search parameters nor shards): the store is
 * keyed by id like the id map, so shards, filters, updates and removals work as they do without it.
 */
public final class RerankedSearch implements VectorSearch {
  static final int MAX_K_FACTOR = 1024;
  private final VectorSearch codes;
  private final Sq8Vectors vectors;
  private final Metric metric;
  private final int kFactor;

  /** Re-ranks {@code codes}' results against {@code vectors}; {@code kFactor} unless a search asks for another. */
  public RerankedSearch(VectorSearch codes, Sq8Vectors vectors, Metric metric, int kFactor) {
    this.codes = codes;
    this.vectors = vectors;
    this.metric = metric;
    this.kFactor = kFactor;
  }

  /**
   * The refine stage of the version {@code manifest} describes, over its {@code index}, with the store in
   * {@code dir} mapped (null where the version has none).
   */
  public static RerankedSearch ofVersion(Map<String, Object> manifest, ShardedIndex index, Path dir)
      throws IOException {
    if (!IndexLayout.refines(manifest)) {
      return null;
    }
    int kFactor = IndexLayout.searchParams(manifest).kFactor();
    if (kFactor < 1 || kFactor > MAX_K_FACTOR) { // each search holds k x kFactor candidates
      throw new UntrustedIndexException("the manifest's k_factor is " + kFactor + "; a version re-ranks 1 to "
          + MAX_K_FACTOR + " candidates a result");
    }
    return new RerankedSearch(index, Sq8Vectors.map(dir.resolve(Sq8Vectors.FILE), index.dimension()),
        index.metric(), kFactor);
  }

  /** Rows in the store: one more than the largest id it can re-rank. */
  public long storedRows() {
    return vectors.rows();
  }

  @Override
  public SearchResult search(float[] queries, int n, int k, SearchParams params) {
    return search(queries, n, k, params, null);
  }

  @Override
  public SearchResult search(float[] queries, int n, int k, SearchParams params, IdBitmap allowed) {
    return rerank(queries, n, k, codes.search(queries, n, candidates(k, params), params, allowed));
  }

  /** The codes' counted work, and the candidates each query re-ranks (fewer than k × kFactor where few codes match). */
  @Override
  public SearchWork searchWork(float[] queries, int n, int k, SearchParams params) {
    int candidates = candidates(k, params);
    long[] found = codes.search(queries, n, candidates, params).labels();
    long[] reranked = new long[n];
    for (int i = 0; i < found.length; i++) {
      reranked[i / candidates] += found[i] >= 0 ? 1 : 0;
    }
    return codes.searchWork(queries, n, candidates, params).withReranked(reranked);
  }

  /** Candidates the codes are searched for: k × the search's kFactor (this stage's own when it gives none). */
  public int candidates(int k, SearchParams params) {
    return Math.multiplyExact(k, params.kFactor() > 0 ? params.kFactor() : kFactor);
  }

  /**
   * The k nearest of each query's {@code found} candidates by their stored vectors' distances; candidates at equal
   * distances keep the codes' order.
   */
  public SearchResult rerank(float[] queries, int n, int k, SearchResult found) {
    int d = vectors.codec().dimension();
    TopK nearest = new TopK(n, k, metric);
    long[] labels = found.labels();
    float[] distances = new float[found.k()];
    for (int q = 0; q < n; q++) {
      int first = q * found.k();
      vectors.distances(vectors.prepare(queries, q * d, metric), labels, first, found.k(), distances);
      for (int i = 0; i < found.k(); i++) {
        long id = labels[first + i];
        if (id >= 0) {
          nearest.offer(q, distances[i], id);
        }
      }
    }
    return nearest.result();
  }

  /** The k nearest of {@code ids} to each query by their stored vectors: an exact search among them. */
  public SearchResult nearestAmong(float[] queries, int n, int k, long[] ids) {
    long[] labels = new long[Math.multiplyExact(n, ids.length)];
    for (int q = 0; q < n; q++) {
      System.arraycopy(ids, 0, labels, q * ids.length, ids.length);
    }
    return rerank(queries, n, k, new SearchResult(ids.length, new float[labels.length], labels));
  }
}

package io.imgvec.faiss;

/** Something that answers k-nearest-neighbour searches: one FAISS index, or several searched as one. */
public interface VectorSearch {
  /** The {@code k} nearest neighbours of each of {@code n} queries laid out row after row. */
  SearchResult search(float[] queries, int n, int k, SearchParams params);

  /** Searches among the vectors whose ids are in {@code allowed} only (null: all). */
  SearchResult search(float[] queries, int n, int k, SearchParams params, IdBitmap allowed);

  /** The work of searching each query alone ({@link FaissIndex#searchWork}). */
  SearchWork searchWork(float[] queries, int n, int k, SearchParams params);
}

package io.imgvec.faiss;

/**
 * Per-search parameters; 0 keeps the index's own setting. They apply to the index and the indexes it wraps
 * (IDMap, pre-transforms such as OPQ) without changing the shared index, so concurrent searches may differ.
 *
 * @param nprobe inverted lists visited by IVF indexes
 * @param efSearch candidate list size of HNSW indexes, and of the HNSW coarse quantizer of IVF indexes
 * @param maxCodes codes after which an IVF search stops probing further lists (FAISS checks it between lists)
 * @param kFactor a re-ranked index's candidates per result: it searches its codes for k × kFactor and re-ranks them
 *     against its stored vectors (imgvec's refine stage; FAISS itself never sees it)
 */
public record SearchParams(int nprobe, int efSearch, long maxCodes, int kFactor) {
  public static final SearchParams DEFAULT = new SearchParams(0, 0, 0);

  public SearchParams(int nprobe, int efSearch, long maxCodes) {
    this(nprobe, efSearch, maxCodes, 0);
  }

  public SearchParams withKFactor(int factor) {
    return new SearchParams(nprobe, efSearch, maxCodes, factor);
  }

  public static SearchParams nprobe(int nprobe) {
    return new SearchParams(nprobe, 0, 0);
  }
}

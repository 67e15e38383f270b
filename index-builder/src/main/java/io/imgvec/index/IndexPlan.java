package io.imgvec.index;

import io.imgvec.faiss.Metric;

/**
 * What to build: a FAISS factory string and the parameters behind it. {@code nprobe} 0 means "tune at build
 * time" (a graph's efSearch is always tuned); {@code trainSize} 0 means the index needs no training;
 * {@code kFactor} above 0 adds a refine stage: the index's codes find k × kFactor candidates, re-ranked against
 * every vector stored in 8-bit scalar codes ({@link io.imgvec.published.RerankedSearch}).
 */
public record IndexPlan(String type, String factory, int nlist, int pqM, int nprobe, int trainSize, Metric metric,
    String reason, int kFactor) {

  public IndexPlan(String type, String factory, int nlist, int pqM, int nprobe, int trainSize, Metric metric,
      String reason) {
    this(type, factory, nlist, pqM, nprobe, trainSize, metric, reason, 0);
  }

  /** The factory, and its refine stage where it has one: what reports and progress lines call the index. */
  public String name() {
    return refines() ? factory + ",RSQ8x" + kFactor : factory;
  }

  public boolean refines() {
    return kFactor > 0;
  }

  /** The same index with a refine stage re-ranking k × {@code factor} candidates. */
  public IndexPlan withRefine(int factor) {
    return new IndexPlan(type, factory, nlist, pqM, nprobe, trainSize, metric, reason, factor);
  }

  public boolean isIvf() {
    return nlist > 0;
  }

  /** Whether the index is an HNSW graph over full vectors: searched by efSearch, never trained, added to only. */
  public boolean isGraph() {
    return type.equals("HNSW");
  }

  /** Whether a build tunes its search setting (nprobe, or a graph's efSearch) rather than taking a pinned one. */
  public boolean isTuned() {
    return isGraph() || isIvf() && nprobe == 0;
  }

  /** Whether the IVF coarse quantizer is an HNSW graph over the centroids (rather than a flat scan of them). */
  public boolean hasHnswQuantizer() {
    return factory.contains("_HNSW");
  }

  /** The same index with an HNSW graph (32 links per node) as its coarse quantizer. */
  public IndexPlan withHnswQuantizer() {
    return new IndexPlan(type, factory.replaceFirst("^IVF(\\d+),", "IVF$1_HNSW32,"), nlist, pqM, nprobe, trainSize,
        metric, reason, kFactor);
  }

  public IndexPlan withTrainSize(int size) {
    return new IndexPlan(type, factory, nlist, pqM, nprobe, size, metric, reason, kFactor);
  }

  public IndexPlan withReason(String why) {
    return new IndexPlan(type, factory, nlist, pqM, nprobe, trainSize, metric, why, kFactor);
  }
}

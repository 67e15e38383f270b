package io.imgvec.index;

import io.imgvec.faiss.Metric;

/**
 * What to build: a FAISS factory string and the parameters behind it. {@code nprobe} 0 means "tune at build
 * time"; {@code trainSize} 0 means the index needs no training.
 */
public record IndexPlan(String type, String factory, int nlist, int pqM, int nprobe, int trainSize, Metric metric,
    String reason) {

  public boolean isIvf() {
    return nlist > 0;
  }

  /** Whether the IVF coarse quantizer is an HNSW graph over the centroids (rather than a flat scan of them). */
  public boolean hasHnswQuantizer() {
    return factory.contains("_HNSW");
  }

  /** The same index with an HNSW graph (32 links per node) as its coarse quantizer. */
  public IndexPlan withHnswQuantizer() {
    return new IndexPlan(type, factory.replaceFirst("^IVF(\\d+),", "IVF$1_HNSW32,"), nlist, pqM, nprobe, trainSize,
        metric, reason);
  }

  public IndexPlan withTrainSize(int size) {
    return new IndexPlan(type, factory, nlist, pqM, nprobe, size, metric, reason);
  }

  public IndexPlan withReason(String why) {
    return new IndexPlan(type, factory, nlist, pqM, nprobe, trainSize, metric, why);
  }
}

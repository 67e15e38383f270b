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
}

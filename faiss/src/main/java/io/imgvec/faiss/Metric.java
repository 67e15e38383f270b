package io.imgvec.faiss;

/** FAISS metric types, with FAISS's own numeric codes. */
public enum Metric {
  INNER_PRODUCT(0), L2(1);

  final int code;

  Metric(int code) {
    this.code = code;
  }

  static Metric of(int code) {
    for (Metric m : values()) {
      if (m.code == code) {
        return m;
      }
    }
    throw new FaissException("unsupported FAISS metric type " + code);
  }
}

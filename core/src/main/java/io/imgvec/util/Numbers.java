package io.imgvec.util;

/** Rounding for reports and percentiles of measured samples. */
public final class Numbers {
  private Numbers() {}

  /** {@code value} rounded to {@code decimals} places (reports stay readable; the raw sample stays exact). */
  public static double round(double value, int decimals) {
    double scale = Math.pow(10, decimals);
    return Math.round(value * scale) / scale;
  }

  /** The median of {@code values} (the mean of the middle two for an even count). */
  public static double median(double... values) {
    if (values.length == 0) {
      throw new IllegalArgumentException("median of no samples");
    }
    double[] sorted = values.clone();
    java.util.Arrays.sort(sorted);
    int mid = sorted.length / 2;
    return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  }

  /** Nearest-rank percentile ({@code p} in [0, 1]) of an ascending array. */
  public static long percentile(long[] sorted, double p) {
    if (sorted.length == 0) {
      throw new IllegalArgumentException("percentile of no samples");
    }
    int rank = (int) Math.ceil(p * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank))];
  }
}

package io.imgvec.index;

import java.util.List;

/** Least-squares fits for {@link LatencyModel}'s costs. */
final class LeastSquares {
  private static final int MAX_SWEEPS = 100_000;

  private LeastSquares() {}

  /**
   * The coefficients c ≥ 0 minimising Σ ((rows·c − y) / y)²: relative errors, so that short searches weigh as much
   * as long ones, and no cost negative. Coordinate descent on the normal equations of the columns scaled to unit
   * size: the problem is convex, so it converges to the one optimum.
   */
  static double[] nonNegativeRelative(List<double[]> rows, List<Double> y) {
    int terms = rows.get(0).length;
    double[] scale = new double[terms];
    for (int r = 0; r < rows.size(); r++) {
      for (int t = 0; t < terms; t++) {
        scale[t] = Math.max(scale[t], Math.abs(rows.get(r)[t] / y.get(r)));
      }
    }
    double[][] a = new double[terms][terms];
    double[] b = new double[terms];
    for (int r = 0; r < rows.size(); r++) {
      double[] x = new double[terms];
      for (int t = 0; t < terms; t++) {
        x[t] = scale[t] == 0 ? 0 : rows.get(r)[t] / y.get(r) / scale[t];
      }
      for (int i = 0; i < terms; i++) {
        b[i] += x[i]; // the target of a relative fit is 1
        for (int j = 0; j < terms; j++) {
          a[i][j] += x[i] * x[j];
        }
      }
    }
    double[] c = new double[terms];
    for (int sweep = 0; sweep < MAX_SWEEPS; sweep++) {
      double moved = 0;
      for (int i = 0; i < terms; i++) {
        if (a[i][i] == 0) {
          continue;
        }
        double gradient = -b[i];
        for (int j = 0; j < terms; j++) {
          gradient += a[i][j] * c[j];
        }
        double next = Math.max(0, c[i] - gradient / a[i][i]);
        moved = Math.max(moved, Math.abs(next - c[i]));
        c[i] = next;
      }
      if (moved < 1e-12) {
        break;
      }
    }
    for (int t = 0; t < terms; t++) {
      c[t] = scale[t] == 0 ? 0 : c[t] / scale[t];
    }
    return c;
  }
}

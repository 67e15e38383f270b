package io.imgvec.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LeastSquaresTest {
  @Test
  void recoversNonNegativeCostsAndHoldsAnUnhelpfulTermAtZero() {
    Random random = new Random(3);
    List<double[]> rows = new ArrayList<>();
    List<Double> y = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      double[] x = {1, random.nextDouble() * 1000, random.nextDouble() * 100};
      rows.add(x);
      y.add(50 + 0.2 * x[1]); // the third term costs nothing
    }
    assertArrayEquals(new double[] {50, 0.2, 0}, LeastSquares.nonNegativeRelative(rows, y), 1e-6);

    List<Double> falling = new ArrayList<>();
    for (double[] x : rows) {
      falling.add(1000 + 0.2 * x[1] - 0.5 * x[2]); // a negative cost is not a cost: held at 0, the rest refitted
    }
    double[] c = LeastSquares.nonNegativeRelative(rows, falling);
    assertArrayEquals(new double[] {0}, new double[] {c[2]}, 0);
  }
}

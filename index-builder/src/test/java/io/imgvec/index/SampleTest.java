package io.imgvec.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SampleTest {
  private static final int D = 4;

  @Test
  void theSameRowsAreChosenWhateverOrderTheyArriveInAndQueriesStayOutOfTraining() {
    int n = 5000;
    float[] vectors = new float[n * D];
    for (int i = 0; i < vectors.length; i++) {
      vectors[i] = i;
    }
    Sample forward = new Sample(300, 50);
    Sample backward = new Sample(300, 50);
    for (int i = 0; i < n; i++) {
      forward.offer("img-" + i, i, vectors, i * D, D);
      int j = n - 1 - i;
      backward.offer("img-" + j, i, vectors, j * D, D);
    }
    forward.finish(D);
    backward.finish(D);
    assertArrayEquals(forward.train, backward.train, "training vectors, in hash order");
    assertEquals(Set.of(forward.queryImageIds), Set.of(backward.queryImageIds));
    assertEquals(50, forward.queryIds.length);
    long[] sorted = forward.queryIds.clone();
    Arrays.sort(sorted);
    assertArrayEquals(sorted, forward.queryIds, "queries in scan order");

    Set<Float> queryFirsts = new HashSet<>();
    for (int q = 0; q < 50; q++) {
      queryFirsts.add(forward.queries[q * D]);
    }
    for (int t = 0; t < 300; t++) {
      assertFalse(queryFirsts.contains(forward.train[t * D]), "a held-out query was trained on");
    }
  }
}

package io.imgvec.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
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

  /**
   * Partitions sampled apart and merged in any tree, as a distributed build's executors do, give the sample of one
   * scan: the same training vectors in the same order, the same queries and ids.
   */
  @Test
  void partitionsSampledApartAndMergedInAnyOrderGiveTheSampleOfOneScan() {
    int n = 6000;
    float[] vectors = new float[n * D];
    for (int i = 0; i < vectors.length; i++) {
      vectors[i] = i;
    }
    Sample whole = new Sample(300, 50);
    for (int i = 0; i < n; i++) {
      whole.offer("img-" + i, i, vectors, i * D, D);
    }
    whole.finish(D);
    Sample.Part merged = sampledApart(vectors, n, n);
    assertEquals(n, merged.rowsOffered(), "every row was offered once");
    assertTrue(merged.size() <= 300 + 2 * 50, "a part holds its sample, not its rows: " + merged.size());
    assertTrue(merged.complete(300, 50), "the partitions' hash bound cut no row the sample needs");
    Sample drawn = Sample.of(merged, 300, 50);
    assertArrayEquals(whole.train, drawn.train);
    assertArrayEquals(whole.queries, drawn.queries);
    assertArrayEquals(whole.queryIds, drawn.queryIds);
    assertArrayEquals(whole.queryImageIds, drawn.queryImageIds);
  }

  /**
   * A partition holds only rows hashing where the sample of all rows is expected: about its share of the sample. A
   * bound set for far more rows than there are cuts rows the sample needs, and the merged part says so.
   */
  @Test
  void aPartitionSendsAboutItsShareOfTheSample() {
    int n = 6000;
    float[] vectors = new float[n * D];
    Sample partition = new Sample(300, 50, n);
    for (int i = 0; i < 600; i++) { // a tenth of the rows
      partition.offer("img-" + i, i, vectors, i * D, D);
    }
    int held = partition.part(D).size();
    assertTrue(held > 20 && held < 80, "about a tenth of the 350 + 50 candidates: " + held);
    assertFalse(sampledApart(vectors, n, 100L * n).complete(300, 50), "a bound for 100 times the rows");
  }

  /** The rows sampled in random partitions, each with the hash bound for {@code boundRows}, merged in random pairs. */
  private static Sample.Part sampledApart(float[] vectors, int n, long boundRows) {
    Random random = new Random(7);
    List<Sample.Part> parts = new ArrayList<>();
    for (int first = 0; first < n; ) {
      int rows = random.nextInt(700); // empty partitions too
      Sample partition = new Sample(300, 50, boundRows);
      for (int i = first; i < Math.min(n, first + rows); i++) {
        partition.offer("img-" + i, i, vectors, i * D, D);
      }
      parts.add(partition.part(rows == 0 ? 0 : D));
      first += rows;
    }
    while (parts.size() > 1) { // merge random pairs
      Sample.Part a = parts.remove(random.nextInt(parts.size()));
      Sample.Part b = parts.remove(random.nextInt(parts.size()));
      parts.add(Sample.merge(a, b, 300, 50));
    }
    return parts.get(0);
  }

  @Test
  void aNanVectorIsRefusedWithItsImageId() {
    Sample sample = new Sample(10, 2);
    float[] vector = {1, Float.NaN, 0, 0};
    IndexBuildException e = assertThrows(IndexBuildException.class, () -> sample.offer("bad", 0, vector, 0, D));
    assertTrue(e.getMessage().contains("image_id 'bad' contains NaN"), e.getMessage());
  }
}

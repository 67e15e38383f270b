package io.imgvec.faiss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Sq8DistancesTest {
  private static final int D = 37; // 4 blocks of 8 dimensions and a tail of 5
  private static final int ROWS_PER_CHUNK = 5;
  private static final int ROWS = 12; // chunks of 5, 5 and 2 rows

  /** The native loops (AVX2 here, with their tail) give what the formulas give, in every chunk, for both metrics. */
  @Test
  void nativeDistancesAreTheFormulasOverEveryChunk() {
    Random random = new Random(5);
    byte[][] rows = new byte[ROWS][D];
    ByteBuffer[] chunks = new ByteBuffer[3];
    for (int c = 0; c < chunks.length; c++) {
      chunks[c] = ByteBuffer.allocateDirect(Math.min(ROWS_PER_CHUNK, ROWS - c * ROWS_PER_CHUNK) * D);
    }
    for (int id = 0; id < ROWS; id++) {
      random.nextBytes(rows[id]);
      chunks[id / ROWS_PER_CHUNK].put(rows[id]);
    }
    float[] query = new float[D];
    float[] step = new float[D];
    for (int j = 0; j < D; j++) {
      query[j] = (float) random.nextGaussian() * 3;
      step[j] = random.nextFloat() / 50;
    }
    long[] ids = {7, -1, 11, 0, 5, 4, 3};
    float[] distances = new float[ids.length - 1];
    for (boolean l2 : new boolean[] {true, false}) {
      Sq8Distances.compute(chunks, ROWS_PER_CHUNK, query, step, l2, ids, 1, ids.length - 1, distances);
      assertEquals(0, distances[0], "a negative id is skipped");
      for (int i = 1; i < distances.length; i++) {
        double expected = 0;
        for (int j = 0; j < D; j++) {
          int code = rows[(int) ids[i + 1]][j] & 0xff;
          expected += l2 ? Math.pow(query[j] - code * step[j], 2) : query[j] * code;
        }
        assertEquals(expected, distances[i], 1e-5 * Math.abs(expected), "id " + ids[i + 1] + ", l2 " + l2);
      }
    }
  }

  @Test
  void idsPastTheRowsAndHeapBuffersAreRefused() {
    ByteBuffer[] chunks = {ByteBuffer.allocateDirect(2 * D)};
    float[] query = new float[D];
    float[] out = new float[1];
    FaissException past = assertThrows(FaissException.class,
        () -> Sq8Distances.compute(chunks, 2, query, query, true, new long[] {2}, 0, 1, out));
    assertTrue(past.getMessage().contains("id 2 has no stored row"), past.getMessage());
    FaissException heap = assertThrows(FaissException.class, () -> Sq8Distances.compute(
        new ByteBuffer[] {ByteBuffer.allocate(2 * D)}, 2, query, query, true, new long[] {0}, 0, 1, out));
    assertTrue(heap.getMessage().contains("direct buffers"), heap.getMessage());
  }
}

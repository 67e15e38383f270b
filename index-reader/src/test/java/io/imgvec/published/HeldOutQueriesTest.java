package io.imgvec.published;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgvec.util.UserException;
import java.io.BufferedWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HeldOutQueriesTest {
  @TempDir
  Path tmp;

  @Test
  void readsBackWhatWasWrittenAndRefusesALineItCannotParse() throws Exception {
    HeldOutQueries written = new HeldOutQueries(new String[] {"a", "b"}, new long[] {7, 9},
        new long[][] {{1, 2, -1}, {}}, new float[] {0.5f, -1.25f, 3f, 1e-7f}, 2);
    Path file = tmp.resolve(HeldOutQueries.FILE);
    written.write(file);
    HeldOutQueries read = HeldOutQueries.read(file);
    assertArrayEquals(written.imageIds(), read.imageIds());
    assertArrayEquals(written.ids(), read.ids());
    assertArrayEquals(new long[] {1, 2}, read.exactIds()[0], "no neighbour (-1) is not written");
    assertArrayEquals(new long[0], read.exactIds()[1]);
    assertArrayEquals(written.vectors(), read.vectors());

    Path bad = tmp.resolve("bad.tsv.gz");
    try (BufferedWriter out = GzipTsv.writer(bad)) {
      out.write("image_id\tid\texact_neighbour_ids\tvector\na\t7\t1\t0.5,1\nb\tnot-a-number\t\t0.5,1\n");
    }
    UserException e = assertThrows(UserException.class, () -> HeldOutQueries.read(bad));
    assertTrue(e.getMessage().contains("line 3"), e.getMessage());
    Path short1 = tmp.resolve("short.tsv.gz");
    try (BufferedWriter out = GzipTsv.writer(short1)) {
      out.write("image_id\tid\texact_neighbour_ids\tvector\na\t7\n");
    }
    assertThrows(UserException.class, () -> HeldOutQueries.read(short1));
  }
}

package io.imgvec.published;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdMapTest {
  @TempDir Path tmp;

  @Test
  void idsAndUrisWithSeparatorsEscapesAndUnicodeRoundTrip() throws Exception {
    String[][] entries = {
        {"tab\there", "s3a://b/with\ttab.jpg"},
        {"line\nbreak\r\n", "file:/new\nline.png"},
        {"back\\slash\\t-not-a-tab\\", "s3a://b/\\n.jpg"},
        {"ünïcødé-商品-📷", "s3a://b/商品/📷.jpg"},
        {"", ""},
    };
    Path file = tmp.resolve(IdMap.FILE);
    try (IdMap.Writer w = new IdMap.Writer(file)) {
      for (int i = 0; i < entries.length; i++) {
        w.write(i, entries[i][0], entries[i][1]);
      }
    }
    IdMap read = IdMap.read(file, entries.length);
    for (int i = 0; i < entries.length; i++) {
      assertEquals(entries[i][0], read.imageId(i), "image_id " + i);
      assertEquals(entries[i][1], read.uri(i), "uri " + i);
    }
  }
}

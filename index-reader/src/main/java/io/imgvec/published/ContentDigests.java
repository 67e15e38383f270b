package io.imgvec.published;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * id → content_sha256 of the indexed image, beside the index as gzip'd lines {@code id TAB sha256 TAB image_id}
 * (image_id escaped as in {@link IdMap}): how update-index tells a changed image (a new digest under a known
 * image_id) from one sent again unchanged, also by a join in Spark. Serving never reads it.
 */
public final class ContentDigests {
  public static final String FILE = "digests.tsv.gz";

  private ContentDigests() {}

  public static Map<Long, String> read(Path file) throws IOException {
    Map<Long, String> digests = new HashMap<>();
    try (BufferedReader in = GzipTsv.reader(file)) {
      for (String line; (line = in.readLine()) != null; ) {
        String[] parts = line.split("\t", 3);
        if (parts.length != 3) {
          throw new IOException("bad digest line in " + file + ": " + line);
        }
        digests.put(Long.parseLong(parts[0]), parts[1]);
      }
    }
    return digests;
  }

  /** Streams id → digest lines; ids without a digest are left out. */
  public static final class Writer implements Closeable {
    private final BufferedWriter out;

    public Writer(Path file) throws IOException {
      out = GzipTsv.writer(file);
    }

    public void write(long id, String digest, String imageId) throws IOException {
      if (digest != null) {
        out.write(Long.toString(id));
        out.write('\t');
        out.write(digest);
        out.write('\t');
        out.write(IdMap.escape(imageId));
        out.write('\n');
      }
    }

    @Override
    public void close() throws IOException {
      out.close();
    }
  }
}

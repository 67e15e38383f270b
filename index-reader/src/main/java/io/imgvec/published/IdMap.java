package io.imgvec.published;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * id → (image_id, uri, metadata values), written beside the index as gzip'd lines
 * {@code id TAB image_id TAB uri [TAB value ...]} (one value per metadata column named in the manifest), so search
 * results never depend on the order rows were read in. Tabs, newlines and backslashes in values are escaped; a
 * missing value is {@code \N}.
 */
public final class IdMap {
  public static final String FILE = "ids.tsv.gz";

  private static final String NULL = "\\N";

  private final String[] imageIds;
  private final String[] uris;
  private final String[][] metadata;

  private IdMap(String[] imageIds, String[] uris, String[][] metadata) {
    this.imageIds = imageIds;
    this.uris = uris;
    this.metadata = metadata;
  }

  public String imageId(long id) {
    return id >= 0 && id < imageIds.length ? imageIds[(int) id] : null;
  }

  public String uri(long id) {
    return id >= 0 && id < uris.length ? uris[(int) id] : null;
  }

  /** One more than the largest id: ids removed by update-index leave gaps (null image_id). */
  /** image_id → id of every id still in the index (removed ids have no image_id). */
  public Map<String, Long> idsByImageId() {
    Map<String, Long> idOf = new HashMap<>(size() * 4 / 3 + 1);
    for (int id = 0; id < size(); id++) {
      if (imageId(id) != null) {
        idOf.put(imageId(id), (long) id);
      }
    }
    return idOf;
  }

  public int size() {
    return imageIds.length;
  }

  /** The value of metadata column number {@code column} for {@code id} (null if missing or the id is unused). */
  public String metadata(long id, int column) {
    String[] values = metadata[(int) id];
    return values == null ? null : values[column];
  }

  public static IdMap read(Path file, long count) throws IOException {
    return read(file, count, 0);
  }

  /** Reads a map of ids below {@code count} (the manifest's id_bound) whose lines carry {@code columns} values. */
  public static IdMap read(Path file, long count, int columns) throws IOException {
    if (count > Integer.MAX_VALUE - 8) {
      throw new IOException("id map of " + count + " entries is too large to load in one JVM array");
    }
    String[] imageIds = new String[(int) count];
    String[] uris = new String[(int) count];
    String[][] metadata = new String[(int) count][];
    try (BufferedReader in = GzipTsv.reader(file)) {
      for (String line; (line = in.readLine()) != null; ) {
        String[] parts = line.split("\t", -1);
        long id = Long.parseLong(parts[0]);
        if (parts.length != 3 + columns || id < 0 || id >= count) {
          throw new IOException("bad id map line in " + file + ": " + line);
        }
        imageIds[(int) id] = unescape(parts[1]);
        uris[(int) id] = unescape(parts[2]);
        metadata[(int) id] = new String[columns];
        for (int c = 0; c < columns; c++) {
          metadata[(int) id][c] = parts[3 + c].equals(NULL) ? null : unescape(parts[3 + c]);
        }
      }
    }
    return new IdMap(imageIds, uris, metadata);
  }

  /** Streams entries to a file while the index is built. */
  public static final class Writer implements Closeable {
    private final BufferedWriter out;

    public Writer(Path file) throws IOException {
      out = GzipTsv.writer(file);
    }

    public void write(long id, String imageId, String uri, String... metadata) throws IOException {
      out.write(Long.toString(id));
      out.write('\t');
      out.write(escape(imageId));
      out.write('\t');
      out.write(escape(uri));
      for (String value : metadata) {
        out.write('\t');
        out.write(value == null ? NULL : escape(value));
      }
      out.write('\n');
    }

    @Override
    public void close() throws IOException {
      out.close();
    }
  }

  /** A value as the map's lines hold it (also what update-index joins on). */
  public static String escape(String s) {
    if (s == null) {
      return "";
    }
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r");
  }

  private static String unescape(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 1 < s.length()) {
        char next = s.charAt(++i);
        sb.append(switch (next) {
          case 't' -> '\t';
          case 'n' -> '\n';
          case 'r' -> '\r';
          default -> next;
        });
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }
}

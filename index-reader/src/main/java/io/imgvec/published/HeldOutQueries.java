package io.imgvec.published;

import io.imgvec.util.UserException;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The held-out queries a build measured its index with, published beside it ({@value #FILE}) so that anyone can
 * measure the same file again with the same queries: each query's image_id, its id in the index (it was added after
 * measuring), the ids of its exact nearest neighbours among the other vectors, and its vector. A gzip'd TSV, one
 * query per line after a header; lists are comma-separated.
 */
public record HeldOutQueries(String[] imageIds, long[] ids, long[][] exactIds, float[] vectors, int dimension) {
  public static final String FILE = "heldout.tsv.gz";
  private static final String HEADER = "image_id\tid\texact_neighbour_ids\tvector";

  public int count() {
    return ids.length;
  }

  public void write(Path file) throws IOException {
    try (BufferedWriter out = GzipTsv.writer(file)) {
      out.write(HEADER);
      out.newLine();
      for (int q = 0; q < ids.length; q++) {
        StringBuilder line = new StringBuilder(imageIds[q]).append('\t').append(ids[q]).append('\t');
        line.append(String.join(",", Arrays.stream(exactIds[q]).filter(id -> id >= 0).mapToObj(Long::toString)
            .toList())).append('\t');
        for (int i = 0; i < dimension; i++) {
          line.append(i == 0 ? "" : ",").append(vectors[q * dimension + i]);
        }
        out.write(line.toString());
        out.newLine();
      }
    }
  }

  public static HeldOutQueries read(Path file) throws IOException {
    List<String[]> rows = new ArrayList<>();
    try (BufferedReader in = GzipTsv.reader(file)) {
      if (!HEADER.equals(in.readLine())) {
        throw new UserException(file + " is not a held-out query file (header " + HEADER + ")");
      }
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        rows.add(line.split("\t", -1));
      }
    }
    int d = rows.isEmpty() || rows.get(0).length != 4 ? 0 : rows.get(0)[3].split(",").length;
    HeldOutQueries queries = new HeldOutQueries(new String[rows.size()], new long[rows.size()],
        new long[rows.size()][], new float[rows.size() * d], d);
    for (int q = 0; q < rows.size(); q++) {
      try {
        queries.parse(q, rows.get(q));
      } catch (IllegalArgumentException e) { // NumberFormatException too
        throw new UserException(file + " line " + (q + 2) + ": expected image_id, id, neighbour ids and " + d
            + " numbers (" + e.getMessage() + "); publish the version again with build-index");
      }
    }
    return queries;
  }

  /** Fills query {@code q} from its line's fields. */
  private void parse(int q, String[] row) {
    if (row.length != 4) {
      throw new IllegalArgumentException(row.length + " fields");
    }
    String[] vector = row[3].split(",");
    if (vector.length != dimension) {
      throw new IllegalArgumentException(vector.length + " numbers");
    }
    imageIds[q] = row[0];
    ids[q] = Long.parseLong(row[1]);
    exactIds[q] = row[2].isEmpty() ? new long[0] : Arrays.stream(row[2].split(",")).mapToLong(Long::parseLong)
        .toArray();
    for (int i = 0; i < dimension; i++) {
      vectors[q * dimension + i] = Float.parseFloat(vector[i]);
    }
  }
}

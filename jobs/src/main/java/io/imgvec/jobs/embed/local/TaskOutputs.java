package io.imgvec.jobs.embed.local;

import io.imgvec.jobs.embed.EmbedOutput;
import io.imgvec.jobs.embed.EmbedRecords;
import io.imgvec.jobs.embed.local.ParquetRowWriter.Column;
import io.imgvec.jobs.embed.local.ParquetRowWriter.Kind;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * One task's part of the two datasets, staged: splits output rows into embeddings and errors, writes each with its
 * columns, and counts them into the run's totals.
 */
final class TaskOutputs implements AutoCloseable {
  private static final Map<String, Kind> OUTPUT_KINDS = Map.of("embedding", Kind.FLOAT_ARRAY, "width", Kind.INT,
      "height", Kind.INT);

  private final ParquetRowWriter embeddings;
  private final ParquetRowWriter errors;
  private final LongAdder embedded;
  private final Map<String, LongAdder> errorsByClass;
  private final LongAdder rowsDone;

  TaskOutputs(Path staging, String part, List<Column> carried, Configuration conf, LongAdder embedded,
      Map<String, LongAdder> errorsByClass, LongAdder rowsDone) throws IOException {
    this.embeddings = new ParquetRowWriter(new Path(staging, "embeddings/" + part),
        columns(EmbedOutput.EMBEDDING_COLUMNS, carried), conf);
    try {
      this.errors = new ParquetRowWriter(new Path(staging, "errors/" + part), columns(EmbedOutput.ERROR_COLUMNS,
          List.of()), conf);
    } catch (RuntimeException e) {
      embeddings.close();
      throw e;
    }
    this.embedded = embedded;
    this.errorsByClass = errorsByClass;
    this.rowsDone = rowsDone;
  }

  void write(Object[] values) {
    try {
      if (EmbedRecords.embedded(values)) {
        embeddings.write(project(values, EmbedOutput.EMBEDDING_COLUMNS, true));
        embedded.increment();
      } else {
        errors.write(project(values, EmbedOutput.ERROR_COLUMNS, false));
        errorsByClass.computeIfAbsent((String) values[EmbedOutput.FIXED_COLUMNS.indexOf("error_class")],
            c -> new LongAdder()).increment();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    rowsDone.increment();
  }

  /** The named fixed columns of an output row, then (with {@code carried}) the carried ones. */
  private static Object[] project(Object[] values, List<String> fixed, boolean carried) {
    int extra = carried ? values.length - EmbedOutput.FIXED : 0;
    Object[] out = new Object[fixed.size() + extra];
    for (int i = 0; i < fixed.size(); i++) {
      out[i] = values[EmbedOutput.FIXED_COLUMNS.indexOf(fixed.get(i))];
    }
    System.arraycopy(values, EmbedOutput.FIXED, out, fixed.size(), extra);
    return out;
  }

  private static List<Column> columns(List<String> fixed, List<Column> carried) {
    List<Column> columns = new ArrayList<>();
    fixed.forEach(name -> columns.add(new Column(name, OUTPUT_KINDS.getOrDefault(name, Kind.STRING))));
    columns.addAll(carried);
    return columns;
  }

  @Override
  public void close() throws IOException {
    try (ParquetRowWriter first = embeddings; ParquetRowWriter second = errors) {
      // both closed, the first failure thrown
    }
  }
}

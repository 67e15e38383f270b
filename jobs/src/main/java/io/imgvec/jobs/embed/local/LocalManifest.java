package io.imgvec.jobs.embed.local;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.univocity.parsers.csv.CsvParser;
import com.univocity.parsers.csv.CsvParserSettings;
import com.univocity.parsers.csv.UnescapedQuoteHandling;
import io.imgvec.jobs.embed.ManifestReader;
import io.imgvec.jobs.embed.ManifestRules;
import io.imgvec.jobs.embed.local.ParquetRowWriter.Column;
import io.imgvec.jobs.embed.local.ParquetRowWriter.Kind;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A manifest read without Spark for the local runner: one CSV or JSON-lines file, read into the columns, types and
 * row marks Spark's {@link ManifestReader} gives it; CSV lines go through univocity, the parser Spark's CSV reader
 * uses, with the settings that reader gives it, so quoted fields read alike. What only Spark reads faithfully
 * (Parquet, directories, nested or mixed-type JSON values) is {@link Unsupported}, and the job runs on Spark
 * instead.
 */
public final class LocalManifest {
  /** Why this manifest needs Spark's reader. */
  static final class Unsupported extends Exception {
    Unsupported(String reason) {
      super(reason);
    }
  }

  /** One manifest row: its id and URI as strings, its carried values, and its issue (null to embed). */
  record Row(String imageId, String uri, Object[] carried, String issue, String issueMessage) {}

  private static final String CORRUPT = "_corrupt_record";
  /** As Spark's JSON reader parses (its JSONOptions defaults). */
  private static final ObjectMapper JSON = JsonMapper.builder().enable(JsonReadFeature.ALLOW_SINGLE_QUOTES)
      .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

  final List<Column> carried;
  final List<Row> rows;

  private LocalManifest(List<Column> carried, List<Row> rows) {
    this.carried = carried;
    this.rows = rows;
  }

  static LocalManifest read(String uri, String format, long maxBytes, Configuration conf)
      throws IOException, Unsupported {
    String fmt = format.equals("auto") ? ManifestRules.formatOf(uri) : format;
    if (fmt.equals("parquet")) {
      throw new Unsupported("a Parquet manifest");
    }
    Path path = new Path(uri);
    FileSystem fs = path.getFileSystem(conf);
    FileStatus status = fs.getFileStatus(path);
    if (!status.isFile() || uri.matches(".*[*?\\[{].*")) {
      throw new Unsupported("a manifest of several files");
    }
    if (status.getLen() > maxBytes) {
      throw new Unsupported("a manifest over " + (maxBytes >> 20) + " MiB");
    }
    List<String> lines = new ArrayList<>();
    try (BufferedReader in = new BufferedReader(new InputStreamReader(fs.open(path), StandardCharsets.UTF_8))) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        lines.add(line);
      }
    }
    if (!lines.isEmpty() && lines.get(0).startsWith("\uFEFF")) {
      throw new Unsupported("a file starting with a byte-order mark");
    }
    return fmt.equals("csv") ? csv(uri, lines) : jsonLines(uri, lines);
  }

  /**
   * Spark's CSV reader with a header: every column a string, empty values null, short rows padded; each line parsed
   * on its own (Spark's default, multiLine=false).
   */
  private static LocalManifest csv(String uri, List<String> lines) throws Unsupported {
    CsvParser parser = new CsvParser(sparkCsvSettings());
    List<String> header = lines.isEmpty() ? List.of() : Arrays.asList(parser.parseLine(lines.get(0)));
    if (new HashSet<>(header).size() < header.size() || header.contains("") || header.contains(null)) {
      throw new Unsupported("a CSV header with empty or repeated column names");
    }
    ManifestRules.requireColumns(uri, header);
    Marker marker = new Marker("csv", header.indexOf(ManifestReader.IMAGE_ID), header.indexOf(ManifestReader.URI));
    List<Column> carried = new ArrayList<>();
    List<Integer> carriedAt = new ArrayList<>();
    for (int i = 0; i < header.size(); i++) {
      if (carriedName(header.get(i))) {
        carried.add(new Column(header.get(i), Kind.STRING));
        carriedAt.add(i);
      }
    }
    List<Row> rows = new ArrayList<>();
    for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
      if (line.isEmpty()) {
        continue;
      }
      String[] fields = parser.parseLine(line);
      Object[] values = new Object[header.size()];
      for (int i = 0; i < values.length && i < fields.length; i++) {
        values[i] = fields[i] == null || fields[i].isEmpty() ? null : fields[i];
      }
      rows.add(marker.row(null, values, carriedAt));
    }
    return new LocalManifest(carried, rows);
  }

  /** What Spark's CSVOptions.asParserSettings gives univocity when no CSV option is set. */
  private static CsvParserSettings sparkCsvSettings() {
    CsvParserSettings settings = new CsvParserSettings();
    settings.getFormat().setDelimiter(',');
    settings.getFormat().setQuote('"');
    settings.getFormat().setQuoteEscape('\\');
    settings.setCommentProcessingEnabled(false);
    settings.setIgnoreLeadingWhitespaces(false);
    settings.setIgnoreTrailingWhitespaces(false);
    settings.setReadInputOnSeparateThread(false);
    settings.setMaxColumns(20480);
    settings.setNullValue("");
    settings.setEmptyValue("");
    settings.setMaxCharsPerColumn(-1);
    settings.setUnescapedQuoteHandling(UnescapedQuoteHandling.STOP_AT_DELIMITER);
    settings.setLineSeparatorDetectionEnabled(false);
    return settings;
  }

  /**
   * Spark's JSON-lines reader: columns sorted by name, each of the type its values share (integers widen to
   * double beside decimals), lines that do not parse kept as malformed.
   */
  private static LocalManifest jsonLines(String uri, List<String> lines) throws Unsupported {
    List<JsonNode> objects = new ArrayList<>();
    List<String> corrupt = new ArrayList<>();
    Map<String, Kind> kinds = new TreeMap<>();
    for (String line : lines) {
      if (line.isBlank()) {
        continue;
      }
      JsonNode node;
      try {
        node = JSON.readTree(line);
      } catch (IOException e) {
        objects.add(null);
        corrupt.add(line);
        continue;
      }
      if (!node.isObject()) {
        throw new Unsupported("a JSON line that is not an object");
      }
      objects.add(node);
      corrupt.add(null);
      for (var field : node.properties()) {
        String name = field.getKey();
        kinds.put(name, merge(name, kinds.get(name), kindOf(name, field.getValue())));
      }
    }
    List<String> names = new ArrayList<>(kinds.keySet());
    if (corrupt.stream().anyMatch(c -> c != null)) {
      names.add(CORRUPT);
    }
    ManifestRules.requireColumns(uri, names);
    names.remove(CORRUPT);
    Marker marker = new Marker("jsonl", names.indexOf(ManifestReader.IMAGE_ID), names.indexOf(ManifestReader.URI));
    List<Column> carried = new ArrayList<>();
    List<Integer> carriedAt = new ArrayList<>();
    for (int i = 0; i < names.size(); i++) {
      if (carriedName(names.get(i))) {
        carried.add(new Column(names.get(i), kindOrString(kinds.get(names.get(i)))));
        carriedAt.add(i);
      }
    }
    List<Row> rows = new ArrayList<>();
    for (int r = 0; r < objects.size(); r++) {
      Object[] values = new Object[names.size()];
      for (int i = 0; objects.get(r) != null && i < values.length; i++) {
        values[i] = value(objects.get(r).get(names.get(i)), kindOrString(kinds.get(names.get(i))));
      }
      rows.add(marker.row(corrupt.get(r), values, carriedAt));
    }
    return new LocalManifest(carried, rows);
  }

  private static boolean carriedName(String column) {
    return !column.equals(ManifestReader.IMAGE_ID) && !column.equals(ManifestReader.URI)
        && !column.startsWith("_imgvec_");
  }

  /** A JSON value's column type; null for a JSON null (it takes the type of the column's other values). */
  private static Kind kindOf(String column, JsonNode value) throws Unsupported {
    if (value.isNull()) {
      return null;
    }
    if (value.isTextual()) {
      return Kind.STRING;
    }
    if (value.isBoolean()) {
      return Kind.BOOLEAN;
    }
    if (value.isIntegralNumber() && value.canConvertToLong()) {
      return Kind.LONG;
    }
    if (value.isFloatingPointNumber()) {
      return Kind.DOUBLE;
    }
    throw new Unsupported("JSON column " + column + " holding " + value.getNodeType().name().toLowerCase()
        + " values");
  }

  private static Kind merge(String column, Kind a, Kind b) throws Unsupported {
    if (a == null || a == b) {
      return b;
    }
    if (b == null) {
      return a;
    }
    if (Set.of(a, b).equals(Set.of(Kind.LONG, Kind.DOUBLE))) {
      return Kind.DOUBLE;
    }
    throw new Unsupported("JSON column " + column + " holding values of different types");
  }

  /** A column of only nulls is a string column, as Spark infers it. */
  private static Kind kindOrString(Kind kind) {
    return kind == null ? Kind.STRING : kind;
  }

  private static Object value(JsonNode node, Kind kind) {
    if (node == null || node.isNull()) {
      return null;
    }
    return switch (kind) {
      case LONG -> node.longValue();
      case DOUBLE -> node.doubleValue();
      case BOOLEAN -> node.booleanValue();
      default -> node.asText();
    };
  }

  /** Marks rows as {@link ManifestRules} says: image ids seen in earlier rows make duplicates. */
  private static final class Marker {
    private final String format;
    private final int idAt;
    private final int uriAt;
    private final Set<String> seen = new HashSet<>();

    Marker(String format, int idAt, int uriAt) {
      this.format = format;
      this.idAt = idAt;
      this.uriAt = uriAt;
    }

    Row row(String corruptRecord, Object[] values, List<Integer> carriedAt) {
      String id = values[idAt] == null ? null : String.valueOf(values[idAt]);
      String uri = values[uriAt] == null ? null : String.valueOf(values[uriAt]);
      boolean seenBefore = id != null && !seen.add(id);
      String[] issue = ManifestRules.of(format, corruptRecord, id, uri, seenBefore);
      Object[] carried = carriedAt.stream().map(i -> values[i]).toArray();
      return new Row(id, uri, carried, issue == null ? null : issue[0], issue == null ? null : issue[1]);
    }
  }
}

package io.imgvec.jobs.embed;

import io.imgvec.config.ConfigException;
import io.imgvec.pipeline.ImageFetcher;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.fs.Path;

/**
 * The rules both manifest readers apply (Spark's {@link ManifestReader} and the local runner's
 * {@link LocalManifest}): the format a manifest's name implies, and why a row cannot be embedded (checked in the
 * order of {@link #of}; the first that applies wins).
 */
public final class ManifestRules {
  static final String MALFORMED = "malformed_record";
  static final String MISSING_FIELD = "missing_field";
  static final String DUPLICATE_ID = "duplicate_image_id";
  static final String NO_IMAGE_ID = "manifest row has no image_id";
  static final String NO_URI = "manifest row has no uri";
  static final String REPEATED_ID = "image_id already appears earlier in the manifest";
  private static final List<String> FORMATS = List.of("csv", "jsonl", "parquet");
  /** Characters of a malformed record quoted in its message. */
  static final int QUOTED_CHARS = 200;

  private ManifestRules() {}

  public static void requireColumns(String uri, List<String> columns) {
    if (!columns.contains(ManifestReader.IMAGE_ID) || !columns.contains(ManifestReader.URI)) {
      throw new ConfigException("manifest " + uri + " must have columns image_id and uri; it has: " + columns);
    }
  }

  static String malformedPrefix(String format) {
    return "manifest record is not valid " + format + ": ";
  }

  /** A row's issue and message, or null for a row to embed; {@code corruptRecord} is non-null for a malformed one. */
  public static String[] of(String format, String corruptRecord, String imageId, String uri, boolean seenBefore) {
    if (corruptRecord != null) {
      return new String[] {MALFORMED, malformedPrefix(format)
          + corruptRecord.substring(0, Math.min(QUOTED_CHARS, corruptRecord.length()))};
    }
    if (blank(imageId)) {
      return new String[] {MISSING_FIELD, NO_IMAGE_ID};
    }
    if (blank(uri)) {
      return new String[] {MISSING_FIELD, NO_URI};
    }
    return seenBefore ? new String[] {DUPLICATE_ID, REPEATED_ID} : null;
  }

  /** Null or only spaces (Spark's {@code trim} removes spaces alone). */
  private static boolean blank(String value) {
    return value == null || value.chars().allMatch(c -> c == ' ');
  }

  /**
   * A manifest row's URI: as given when it has a scheme, else relative to the manifest's directory. A relative URI
   * whose {@code ..} would leave that directory stays unresolved, and the fetcher refuses it (uri_not_allowed).
   */
  public static String resolve(String manifestDir, String uri) {
    if (ImageFetcher.hasScheme(uri)) {
      return uri;
    }
    Path dir = new Path(manifestDir);
    String resolved = new Path(dir, uri).toString();
    boolean leavesDir = !uri.startsWith("/") && !resolved.startsWith(dir.toString().replaceAll("/+$", "") + "/");
    return leavesDir ? uri : resolved;
  }

  public static String formatOf(String uri) {
    String lower = uri.toLowerCase(Locale.ROOT).replaceAll("/+$", "");
    if (lower.endsWith(".csv")) {
      return "csv";
    }
    if (lower.endsWith(".jsonl") || lower.endsWith(".json") || lower.endsWith(".ndjson")) {
      return "jsonl";
    }
    if (lower.endsWith(".parquet")) {
      return "parquet";
    }
    throw new ConfigException("cannot tell the format of manifest " + uri + " from its extension; set"
        + " manifest.format to one of " + FORMATS);
  }
}

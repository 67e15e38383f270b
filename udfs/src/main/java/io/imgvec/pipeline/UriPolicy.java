package io.imgvec.pipeline;

import io.imgvec.config.ConfigException;
import io.imgvec.image.ImageError;
import java.io.Serializable;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.fs.Path;

/**
 * Which image URIs a job may open ({@code input.allowed-uri-prefixes}). A URI is compared in its normalised form
 * (scheme lower-cased, a bare path as {@code file://}, {@code .} and {@code ..} resolved), so {@code /a/../etc} cannot
 * pass as {@code /a/}. A prefix matches whole path segments: {@code s3a://photos} allows {@code s3a://photos/x.jpg},
 * not {@code s3a://photos-private/x.jpg}. Refused URIs are never opened.
 */
public final class UriPolicy implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Schemes a Hadoop file system reads (what the fetcher can open); http(s) is not among them. */
  private static final List<String> FETCHABLE = List.of("file", "s3a", "s3", "hdfs", "gs", "abfs", "abfss", "wasbs",
      "viewfs");
  /** Remote stores: what a stream may read by default (never the executor's own disk). */
  private static final List<String> REMOTE = List.of("s3a:", "s3:", "hdfs:", "gs:", "abfs:", "abfss:", "wasbs:",
      "viewfs:");
  private static final String AUTO = "auto";
  public static final String ANY = "*";

  private final List<String> prefixes;
  private final String setting;

  private UriPolicy(List<String> prefixes, String setting) {
    this.prefixes = List.copyOf(prefixes);
    this.setting = setting;
  }

  /**
   * The policy {@code input.allowed-uri-prefixes} sets: {@code *} allows every fetchable scheme; {@code auto} is the
   * command's default (a stream, fed by producers the operator does not control: remote stores only; a batch embed,
   * whose manifest the operator chose: every fetchable scheme); else comma-separated prefixes.
   */
  public static UriPolicy of(String setting, boolean stream) {
    String value = setting.strip();
    if (value.equals(ANY) || value.equals(AUTO) && !stream) {
      return new UriPolicy(FETCHABLE.stream().map(s -> s + ":").toList(), value);
    }
    List<String> raw = value.equals(AUTO) ? REMOTE : List.of(value.split(","));
    List<String> prefixes = new ArrayList<>();
    for (String p : raw) {
      if (!p.isBlank()) {
        prefixes.add(prefix(p.strip()));
      }
    }
    if (prefixes.isEmpty()) {
      throw new ConfigException("input.allowed-uri-prefixes is empty; give comma-separated URI prefixes (e.g."
          + " s3a://photos/,/data/images/), auto or *");
    }
    return new UriPolicy(prefixes, value);
  }

  private static String prefix(String p) {
    if (p.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:$")) { // a whole scheme, e.g. s3a:
      return scheme(p.substring(0, p.length() - 1), p) + ":";
    }
    try {
      return normalise(p);
    } catch (ImageError e) {
      throw new ConfigException("input.allowed-uri-prefixes: " + e.getMessage());
    }
  }

  /** Refuses {@code uri} with {@code unsupported_uri} or {@code uri_not_allowed}; returns it normalised. */
  public String check(String uri) throws ImageError {
    String normal = normalise(uri);
    for (String p : prefixes) {
      if (p.endsWith(":") || p.endsWith("/") ? normal.startsWith(p) : normal.equals(p) || normal.startsWith(p + "/")) {
        return normal;
      }
    }
    throw new ImageError("read", "uri_not_allowed", uri + " is outside input.allowed-uri-prefixes=" + setting);
  }

  /**
   * {@code uri} as {@code scheme://authority/path} with dot segments resolved. A URI with neither scheme nor leading
   * slash is a relative one that climbed out of its manifest's folder (see the manifest readers' resolve).
   */
  static String normalise(String uri) throws ImageError {
    if (!ImageFetcher.hasScheme(uri) && !uri.startsWith("/")) {
      throw new ImageError("read", "uri_not_allowed", "relative uri " + uri + " leaves the manifest's folder");
    }
    URI parsed;
    try {
      parsed = new Path(uri).toUri();
    } catch (IllegalArgumentException e) {
      throw new ImageError("read", "unsupported_uri", "cannot parse uri " + uri + ": " + e.getMessage());
    }
    String scheme = parsed.getScheme() == null ? "file" : parsed.getScheme().toLowerCase(Locale.ROOT);
    if (!FETCHABLE.contains(scheme)) {
      throw new ImageError("read", "unsupported_uri", "imgvec cannot fetch " + scheme + ": URIs (" + uri
          + "); schemes it reads: " + FETCHABLE);
    }
    String path = parsed.getPath() == null || parsed.getPath().isEmpty() ? "/" : parsed.getPath();
    try {
      path = new URI(null, null, path, null).normalize().getPath();
    } catch (URISyntaxException e) {
      throw new ImageError("read", "unsupported_uri", "cannot parse uri " + uri + ": " + e.getMessage());
    }
    if (path.startsWith("/..") || path.startsWith("..")) {
      throw new ImageError("read", "uri_not_allowed", uri + " climbs above its root");
    }
    String authority = parsed.getAuthority() == null ? "" : parsed.getAuthority();
    return scheme + "://" + authority + (path.startsWith("/") ? path : "/" + path);
  }

  private static String scheme(String scheme, String given) {
    String s = scheme.toLowerCase(Locale.ROOT);
    if (!FETCHABLE.contains(s)) {
      throw new ConfigException("input.allowed-uri-prefixes: " + given + " is not a scheme imgvec reads; schemes: "
          + FETCHABLE);
    }
    return s;
  }
}

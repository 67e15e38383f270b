package io.imgvec.index;

import io.imgvec.io.Digests;
import io.imgvec.io.Json;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFileSystem;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.RawLocalFileSystem;

/**
 * Publishes a built index to local or object storage as {@code <root>/versions/<version>/} (index, id map,
 * manifest with checksums) and only then points {@code <root>/LATEST} at it, so a reader always sees a whole
 * version. Older versions beyond the retention count are deleted afterwards.
 */
public final class IndexPublisher {
  public static final String LATEST = "LATEST";
  public static final String VERSIONS = "versions";
  public static final String MANIFEST = "manifest.json";
  private static final DateTimeFormatter VERSION_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmssSSS'Z'");
  /** Every version name publish makes; readers refuse others (a version name becomes a local directory name). */
  static final java.util.regex.Pattern VERSION_NAME = java.util.regex.Pattern.compile("v\\d{8}T\\d{9}Z-[0-9a-f]{8}");
  /** Every file name publish writes into a version. */
  static final java.util.regex.Pattern FILE_NAME = java.util.regex.Pattern.compile(
      "index(-\\d{5})?\\.faiss|" + java.util.regex.Pattern.quote(IdMap.FILE) + "|"
          + java.util.regex.Pattern.quote(ContentDigests.FILE));
  private static final int VERSION_TIME_LENGTH = "yyyyMMddTHHmmssSSSZ".length();

  private IndexPublisher() {}

  /** Uploads {@code built} and moves LATEST to it; returns the manifest as published. */
  public static Map<String, Object> publish(IndexBuilder.BuiltIndex built, String rootUri, int retention,
      Configuration conf) throws IOException {
    org.apache.hadoop.fs.Path root = new org.apache.hadoop.fs.Path(rootUri);
    FileSystem fs = withoutChecksumFiles(root.getFileSystem(conf));
    ZonedDateTime now = versionTime(versions(fs, root));
    String version = "v" + VERSION_TIME.format(now) + "-" + UUID.randomUUID().toString().substring(0, 8);
    org.apache.hadoop.fs.Path versionDir = new org.apache.hadoop.fs.Path(root, VERSIONS + "/" + version);

    Map<String, Object> files = new LinkedHashMap<>();
    List<String> names = new ArrayList<>(PublishedIndex.indexFiles(built.manifest()));
    names.addAll(List.of(IdMap.FILE, ContentDigests.FILE));
    for (String name : names) {
      Path local = built.dir().resolve(name);
      if (!Files.exists(local)) {
        continue; // digests: only where the embeddings carried content_sha256
      }
      files.put(name, Map.of("bytes", Files.size(local), "sha256", Digests.sha256(local)));
      fs.copyFromLocalFile(false, true, new org.apache.hadoop.fs.Path(local.toUri()),
          new org.apache.hadoop.fs.Path(versionDir, name));
    }
    Map<String, Object> manifest = new LinkedHashMap<>();
    manifest.put("format_version", 1);
    manifest.put("version", version);
    manifest.put("created_at", now.toString());
    manifest.putAll(built.manifest());
    manifest.put("files", files);
    byte[] manifestBytes = Json.PRETTY.writeValueAsBytes(manifest);
    Files.write(built.dir().resolve(MANIFEST), manifestBytes);
    writeAtomically(fs, conf, new org.apache.hadoop.fs.Path(versionDir, MANIFEST), manifestBytes);
    writeAtomically(fs, conf, new org.apache.hadoop.fs.Path(root, LATEST),
        (version + "\n").getBytes(StandardCharsets.UTF_8));
    deleteOldVersions(fs, root, version, retention);
    return manifest;
  }

  /**
   * Hadoop's local file system keeps a {@code .crc} file beside each file; renaming a file over another would pair
   * new content with the old checksum for a moment, so publishing and reading use plain files (the manifest's
   * checksums cover them).
   */
  static FileSystem withoutChecksumFiles(FileSystem fs) {
    return fs instanceof ChecksumFileSystem checksummed ? checksummed.getRawFileSystem() : fs;
  }

  /**
   * Object stores (s3a, gs, abfs) make a single object visible only when its upload completes; on file systems
   * the content is written beside the target and renamed over it (atomic on POSIX and HDFS).
   */
  public static void writeAtomically(FileSystem fs, Configuration conf, org.apache.hadoop.fs.Path target, byte[] content)
      throws IOException {
    String scheme = fs.getUri().getScheme();
    boolean objectStore = scheme != null && (scheme.startsWith("s3") || scheme.equals("gs") || scheme.startsWith("abfs")
        || scheme.startsWith("wasb"));
    org.apache.hadoop.fs.Path written = objectStore ? target
        : new org.apache.hadoop.fs.Path(target.getParent(), "." + target.getName() + "." + UUID.randomUUID() + ".tmp");
    try (OutputStream out = fs.create(written, true)) {
      out.write(content);
    }
    if (fs instanceof RawLocalFileSystem) {
      if (!fs.rename(written, target)) {
        throw new IOException("cannot rename " + written + " to " + target);
      }
    } else if (!objectStore) {
      FileContext.getFileContext(fs.getUri(), conf).rename(written, target, Options.Rename.OVERWRITE);
    }
  }

  /** Version names, oldest first: they start with a UTC timestamp, strictly increasing (see versionTime). */
  private static List<String> versions(FileSystem fs, org.apache.hadoop.fs.Path root) throws IOException {
    org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(root, VERSIONS);
    List<String> versions = new ArrayList<>();
    if (fs.exists(dir)) {
      for (FileStatus s : fs.listStatus(dir)) {
        versions.add(s.getPath().getName());
      }
    }
    versions.sort(null);
    return versions;
  }

  /** Now, or just after the newest existing version, so that name order is publication order. */
  private static ZonedDateTime versionTime(List<String> existing) {
    ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC);
    if (existing.isEmpty()) {
      return now;
    }
    String newest = existing.get(existing.size() - 1);
    try {
      ZonedDateTime last = java.time.LocalDateTime.parse(newest.substring(1, 1 + VERSION_TIME_LENGTH), VERSION_TIME)
          .atZone(ZoneOffset.UTC);
      return now.isAfter(last) ? now : last.plusNanos(1_000_000);
    } catch (RuntimeException notOurs) {
      return now;
    }
  }

  private static void deleteOldVersions(FileSystem fs, org.apache.hadoop.fs.Path root, String current, int retention)
      throws IOException {
    List<String> versions = versions(fs, root);
    for (int i = 0; i < versions.size() - retention; i++) {
      if (!versions.get(i).equals(current)) {
        fs.delete(new org.apache.hadoop.fs.Path(root, VERSIONS + "/" + versions.get(i)), true);
      }
    }
  }
}

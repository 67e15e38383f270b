package io.imgvec.index;

import io.imgvec.io.Commit;
import io.imgvec.io.Digests;
import io.imgvec.io.Json;
import io.imgvec.published.ContentDigests;
import io.imgvec.published.HeldOutQueries;
import io.imgvec.published.IdMap;
import io.imgvec.published.IndexLayout;
import io.imgvec.published.Sq8Vectors;
import java.io.IOException;
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
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;

/**
 * Publishes a built index to local or object storage by the {@link Commit} protocol: the version directory
 * {@code <root>/versions/<version>/} is the staging location (index, id map, digests), its manifest with their
 * checksums the staged record, {@code <root>/LATEST} the marker; so a reader always sees a whole version
 * ({@link IndexLayout}). Older versions beyond the retention count are deleted afterwards.
 */
public final class IndexPublisher {
  private static final DateTimeFormatter VERSION_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmssSSS'Z'");
  private static final int VERSION_TIME_LENGTH = "yyyyMMddTHHmmssSSSZ".length();

  private IndexPublisher() {}

  /** Uploads {@code built} and moves LATEST to it; returns the manifest as published. */
  public static Map<String, Object> publish(IndexBuilder.BuiltIndex built, String rootUri, int retention,
      Configuration conf) throws IOException {
    org.apache.hadoop.fs.Path root = new org.apache.hadoop.fs.Path(rootUri);
    FileSystem fs = Commit.withoutChecksumFiles(root.getFileSystem(conf));
    ZonedDateTime now = versionTime(versions(fs, root));
    String version = "v" + VERSION_TIME.format(now) + "-" + UUID.randomUUID().toString().substring(0, 8);
    Commit commit = new Commit(new org.apache.hadoop.fs.Path(root, IndexLayout.VERSIONS + "/" + version), conf);

    Map<String, Object> files = new LinkedHashMap<>();
    List<String> names = new ArrayList<>(IndexLayout.indexFiles(built.manifest()));
    names.addAll(List.of(IdMap.FILE, ContentDigests.FILE, HeldOutQueries.FILE, Sq8Vectors.FILE));
    for (String name : names) {
      Path local = built.dir().resolve(name);
      if (!Files.exists(local)) {
        continue; // digests: only where the embeddings carried content_sha256; queries: only where measured;
        // stored vectors: only where the index re-ranks
      }
      files.put(name, Map.of("bytes", Files.size(local), "sha256", Digests.sha256(local)));
      fs.copyFromLocalFile(false, true, new org.apache.hadoop.fs.Path(local.toUri()),
          new org.apache.hadoop.fs.Path(commit.staging(), name));
    }
    Map<String, Object> manifest = new LinkedHashMap<>();
    manifest.put("format_version", 1);
    manifest.put("version", version);
    manifest.put("created_at", now.toString());
    manifest.putAll(built.manifest());
    manifest.put("files", files);
    byte[] manifestBytes = Json.PRETTY.writeValueAsBytes(manifest);
    Files.write(built.dir().resolve(IndexLayout.MANIFEST), manifestBytes);
    commit.markStaged(IndexLayout.MANIFEST, manifestBytes); // the version's files with their checksums
    commit.publish(new org.apache.hadoop.fs.Path(root, IndexLayout.LATEST),
        (version + "\n").getBytes(StandardCharsets.UTF_8));
    deleteOldVersions(fs, root, version, retention);
    return manifest;
  }

  /** Version names, oldest first: they start with a UTC timestamp, strictly increasing (see versionTime). */
  private static List<String> versions(FileSystem fs, org.apache.hadoop.fs.Path root) throws IOException {
    org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(root, IndexLayout.VERSIONS);
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
        fs.delete(new org.apache.hadoop.fs.Path(root, IndexLayout.VERSIONS + "/" + versions.get(i)), true);
      }
    }
  }
}

package io.imgvec.published;

import com.fasterxml.jackson.core.type.TypeReference;
import io.imgvec.io.Commit;
import io.imgvec.io.Digests;
import io.imgvec.io.Json;
import io.imgvec.util.UserException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;

/**
 * Reads published versions from local or object storage: resolves {@code LATEST}, copies a version's files into a
 * local cache and verifies them against the manifest's checksums, refusing names publish does not write.
 */
public final class IndexFetcher {
  private IndexFetcher() {}

  /** Where one-off readers ({@code query}, {@code measure}) keep the versions they fetch. */
  public static Path temporaryCache() throws IOException {
    return Files.createDirectories(Path.of(System.getProperty("java.io.tmpdir"), "imgvec-index-cache"));
  }

  /** The version {@code LATEST} under publish root {@code uri} names, or null if there is none. */
  public static String latestVersion(String uri, Configuration conf) throws IOException {
    org.apache.hadoop.fs.Path latest = new org.apache.hadoop.fs.Path(uri, IndexLayout.LATEST);
    FileSystem fs = latest.getFileSystem(conf);
    String version;
    try (InputStream in = fs.open(latest)) {
      version = new String(in.readNBytes(256), StandardCharsets.UTF_8).trim();
    } catch (FileNotFoundException e) {
      return null;
    }
    return IndexLayout.requireVersionName(version, latest.toString());
  }

  /**
   * Copies the files of the version at {@code uri} (a publish root: the version LATEST names; or one version
   * directory) into {@code localCache/<version>/}, verifies their checksums, and returns its manifest. If the version
   * LATEST named is retired while it is being read (several newer versions were published meanwhile), LATEST is read
   * again.
   */
  public static Map<String, Object> fetch(String uri, Configuration conf, Path localCache) throws IOException {
    org.apache.hadoop.fs.Path root = new org.apache.hadoop.fs.Path(uri);
    FileSystem fs = Commit.withoutChecksumFiles(root.getFileSystem(conf));
    String version = latestVersion(uri, conf);
    if (version == null) {
      if (!fs.exists(new org.apache.hadoop.fs.Path(root, IndexLayout.MANIFEST))) {
        throw new UserException("no published index at " + uri + " (neither LATEST nor manifest.json found)",
            "pass the --output of build-index, or one of its versions/<version> directories");
      }
      return fetchVersion(fs, root, localCache);
    }
    for (int attempt = 1; ; attempt++) {
      try {
        return fetchVersion(fs, versionDir(root, version), localCache);
      } catch (FileNotFoundException e) {
        if (attempt == 3) {
          throw e;
        }
        version = latestVersion(uri, conf);
      }
    }
  }

  private static org.apache.hadoop.fs.Path versionDir(org.apache.hadoop.fs.Path root, String version) {
    return new org.apache.hadoop.fs.Path(root, IndexLayout.VERSIONS + "/" + version);
  }

  private static Map<String, Object> readManifest(FileSystem fs, org.apache.hadoop.fs.Path versionDir)
      throws IOException {
    try (InputStream in = fs.open(new org.apache.hadoop.fs.Path(versionDir, IndexLayout.MANIFEST))) {
      return Json.MAPPER.readValue(in, new TypeReference<Map<String, Object>>() {});
    }
  }

  private static Map<String, Object> fetchVersion(FileSystem fs, org.apache.hadoop.fs.Path versionDir,
      Path localCache) throws IOException {
    Map<String, Object> manifest = readManifest(fs, versionDir);
    Map<String, Map<String, Object>> files = IndexLayout.requireKnownFiles(manifest, versionDir.toString());
    Path local = Files.createDirectories(localCache.resolve(String.valueOf(manifest.get("version"))));
    for (Map.Entry<String, Map<String, Object>> f : files.entrySet()) {
      Path target = local.resolve(f.getKey());
      fs.copyToLocalFile(false, new org.apache.hadoop.fs.Path(versionDir, f.getKey()),
          new org.apache.hadoop.fs.Path(target.toUri()), true);
      String actual = Digests.sha256(target);
      if (!actual.equals(f.getValue().get("sha256"))) {
        throw new IOException("checksum mismatch for " + f.getKey() + " of version " + manifest.get("version")
            + ": manifest says " + f.getValue().get("sha256") + ", file has " + actual);
      }
    }
    return manifest;
  }
}

package io.imgvec.index;

import com.fasterxml.jackson.core.type.TypeReference;
import io.imgvec.faiss.FaissIndex;
import io.imgvec.faiss.SearchParams;
import io.imgvec.faiss.SearchResult;
import io.imgvec.io.Digests;
import io.imgvec.io.Json;
import io.imgvec.util.UserException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;

/**
 * A published index, loaded for serving: resolves {@code LATEST} (or takes a version directory), copies the files
 * locally, verifies their checksums against the manifest, and loads index and id map. Searches are thread-safe.
 */
public final class PublishedIndex implements AutoCloseable {

  /** One search hit. */
  public record Neighbor(long id, String imageId, String uri, float distance) {}

  private final Map<String, Object> manifest;
  private final SearchParams searchParams;
  private final FaissIndex index;
  private final IdMap ids;

  private PublishedIndex(Map<String, Object> manifest, FaissIndex index, IdMap ids) {
    this.manifest = manifest;
    this.searchParams = searchParams(manifest);
    this.index = index;
    this.ids = ids;
  }

  /**
   * Opens {@code uri}: a publish root (follows LATEST) or one version directory. If the version LATEST named is
   * retired while it is being read (several newer versions were published meanwhile), LATEST is read again.
   */
  public static PublishedIndex open(String uri, Configuration conf, Path localCache) throws IOException {
    org.apache.hadoop.fs.Path root = new org.apache.hadoop.fs.Path(uri);
    FileSystem fs = IndexPublisher.withoutChecksumFiles(root.getFileSystem(conf));
    org.apache.hadoop.fs.Path latest = new org.apache.hadoop.fs.Path(root, IndexPublisher.LATEST);
    if (!fs.exists(latest)) {
      if (!fs.exists(new org.apache.hadoop.fs.Path(root, IndexPublisher.MANIFEST))) {
        throw new UserException("no published index at " + uri + " (neither LATEST nor manifest.json found)",
            "pass the --output of build-index, or one of its versions/<version> directories");
      }
      return load(fs, root, localCache);
    }
    for (int attempt = 1; ; attempt++) {
      String version;
      try (InputStream in = fs.open(latest)) {
        version = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
      }
      try {
        return load(fs, new org.apache.hadoop.fs.Path(root, IndexPublisher.VERSIONS + "/" + version), localCache);
      } catch (FileNotFoundException e) {
        if (attempt == 3) {
          throw e;
        }
      }
    }
  }

  private static PublishedIndex load(FileSystem fs, org.apache.hadoop.fs.Path versionDir, Path localCache)
      throws IOException {
    Map<String, Object> manifest;
    try (InputStream in = fs.open(new org.apache.hadoop.fs.Path(versionDir, IndexPublisher.MANIFEST))) {
      manifest = Json.MAPPER.readValue(in, new TypeReference<Map<String, Object>>() {});
    }
    Path local = Files.createDirectories(localCache.resolve(String.valueOf(manifest.get("version"))));
    @SuppressWarnings("unchecked")
    Map<String, Map<String, Object>> files = (Map<String, Map<String, Object>>) manifest.get("files");
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
    long count = ((Number) manifest.get("count")).longValue();
    FaissIndex index = FaissIndex.read(local.resolve(IndexBuilder.INDEX_FILE));
    try {
      return new PublishedIndex(manifest, index, IdMap.read(local.resolve(IdMap.FILE), count));
    } catch (IOException | RuntimeException e) {
      index.close(); // the native index is not garbage-collected
      throw e;
    }
  }

  public Map<String, Object> manifest() {
    return manifest;
  }

  public String version() {
    return String.valueOf(manifest.get("version"));
  }

  public String modelId() {
    return String.valueOf(manifest.get("model_id"));
  }

  /** Vectors in the index. */
  public long size() {
    return index.ntotal();
  }

  public int dimension() {
    return index.dimension();
  }

  /** The search parameters the builder chose and measured (nprobe, codes cap; 0 for indexes without lists). */
  public SearchParams searchParams() {
    return searchParams;
  }

  /** The search parameters recorded in an index manifest. */
  public static SearchParams searchParams(Map<String, Object> manifest) {
    @SuppressWarnings("unchecked")
    Map<String, Object> info = (Map<String, Object>) manifest.get("index");
    return new SearchParams(((Number) info.get("nprobe")).intValue(), 0, ((Number) info.get("max_codes")).longValue());
  }

  /** The k nearest neighbours of {@code vector}, with the published search parameters. */
  public List<Neighbor> search(float[] vector, int k) {
    if (vector.length != index.dimension()) {
      throw new IllegalArgumentException("query vector has dimension " + vector.length + ", the index has "
          + index.dimension());
    }
    SearchResult r = index.search(vector, 1, k, searchParams);
    List<Neighbor> out = new ArrayList<>();
    for (int i = 0; i < k; i++) {
      long id = r.label(0, i);
      if (id >= 0) {
        out.add(new Neighbor(id, ids.imageId(id), ids.uri(id), r.distance(0, i)));
      }
    }
    return out;
  }

  @Override
  public void close() {
    index.close();
  }
}

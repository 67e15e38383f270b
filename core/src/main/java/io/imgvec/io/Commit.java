package io.imgvec.io;

import com.fasterxml.jackson.core.type.TypeReference;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFileSystem;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;

/**
 * The one commit protocol of every output a reader may find half-written (an index version, a stream's batch, the
 * local runner's datasets), on local, HDFS and object storage:
 * <ol>
 *   <li><b>stage</b>: write everything under a staging location no reader looks at ({@link #staging});
 *   <li><b>verify</b>: record what was staged (counts, checksums) in one file written atomically
 *       ({@link #markStaged}); staged files without that record are incomplete and are staged again;
 *   <li><b>publish</b>: move the staged files into place, one rename each ({@link #moveIntoPlace}), then write the
 *       marker readers honour, atomically ({@link #publish}): an index's {@code LATEST}, a batch's commit record,
 *       a dataset's {@code _SUCCESS}.
 * </ol>
 * A retry after a crash finds the marker (done), the staged record (finish publishing: moves already made are
 * skipped), or neither (stage again): nothing is seen half-written or twice.
 */
public final class Commit {
  /** The staged record of outputs that keep none of their own (an index version's is its manifest). */
  public static final String STAGED = "_STAGED.json";

  private final FileSystem fs;
  private final Configuration conf;
  private final Path staging;

  public Commit(Path staging, Configuration conf) throws IOException {
    this.fs = withoutChecksumFiles(staging.getFileSystem(conf));
    this.conf = conf;
    this.staging = staging;
  }

  public FileSystem fileSystem() {
    return fs;
  }

  /** Where the output is staged. */
  public Path staging() {
    return staging;
  }

  /** Removes what an earlier attempt left in the staging location. */
  public void restage() throws IOException {
    fs.delete(staging, true);
  }

  /** Records, atomically, that everything is staged: {@code name} in the staging location, holding {@code record}. */
  public void markStaged(String name, byte[] record) throws IOException {
    writeAtomically(fs, conf, new Path(staging, name), record);
  }

  /** {@link #markStaged} with a JSON record in {@value #STAGED}. */
  public void markStaged(Map<String, Object> record) throws IOException {
    markStaged(STAGED, Json.line(record).getBytes(StandardCharsets.UTF_8));
  }

  /** The record of a whole staged output ({@value #STAGED}), or null if there is none. */
  public Map<String, Object> staged() throws IOException {
    return readJson(fs, new Path(staging, STAGED));
  }

  /**
   * Moves a staged file or directory into place with one rename, replacing what is there when {@code replace}; a
   * staged path already moved (a retry) is skipped.
   */
  public void moveIntoPlace(Path staged, Path target, boolean replace) throws IOException {
    if (!fs.exists(staged)) {
      if (fs.exists(target)) {
        return;
      }
      throw new FileNotFoundException("nothing staged at " + staged + " nor published at " + target);
    }
    if (replace) {
      fs.delete(target, true);
    } else if (fs.exists(target)) {
      return; // published by an earlier attempt that died before deleting its staged copy
    }
    fs.mkdirs(target.getParent());
    if (!fs.rename(staged, target)) {
      throw new IOException("cannot move " + staged + " to " + target);
    }
  }

  /** Writes the marker readers honour, atomically: from here on the output is visible. */
  public void publish(Path marker, byte[] content) throws IOException {
    writeAtomically(fs, conf, marker, content);
  }

  /** Deletes the staging location once the output is published. */
  public void clean() throws IOException {
    fs.delete(staging, true);
  }

  /**
   * Object stores (s3a, gs, abfs) make a single object visible only when its upload completes; on file systems
   * the content is written beside the target and renamed over it (atomic on POSIX and HDFS).
   */
  public static void writeAtomically(FileSystem fs, Configuration conf, Path target, byte[] content)
      throws IOException {
    String scheme = fs.getUri().getScheme();
    boolean objectStore = scheme != null && (scheme.startsWith("s3") || scheme.equals("gs")
        || scheme.startsWith("abfs") || scheme.startsWith("wasb"));
    Path written = objectStore ? target
        : new Path(target.getParent(), "." + target.getName() + "." + UUID.randomUUID() + ".tmp");
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

  /**
   * Hadoop's local file system keeps a {@code .crc} file beside each file; renaming a file over another would pair
   * new content with the old checksum for a moment, so commits and their readers use plain files (checksums of
   * their own cover what needs them).
   */
  public static FileSystem withoutChecksumFiles(FileSystem fs) {
    return fs instanceof ChecksumFileSystem checksummed ? checksummed.getRawFileSystem() : fs;
  }

  /** A JSON object file, or null if there is none. */
  public static Map<String, Object> readJson(FileSystem fs, Path file) throws IOException {
    try (InputStream in = fs.open(file)) {
      return Json.MAPPER.readValue(in, new TypeReference<Map<String, Object>>() {});
    } catch (FileNotFoundException e) {
      return null;
    }
  }
}

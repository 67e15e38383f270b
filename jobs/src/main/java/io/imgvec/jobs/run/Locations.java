package io.imgvec.jobs.run;

import io.imgvec.util.Exceptions;
import io.imgvec.util.UserException;
import java.io.IOException;
import java.io.InputStream;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Checks on the locations a job is given, made before any Spark work so that a wrong path is one clear line, not
 * a failed stage.
 */
public final class Locations {
  private Locations() {}

  /** Fails unless {@code uri} exists and (for a file) can be opened. */
  public static void requireReadable(String what, String uri, Configuration conf) {
    try {
      Path path = new Path(uri);
      FileSystem fs = path.getFileSystem(conf);
      FileStatus status = fs.getFileStatus(path);
      if (status.isFile()) {
        try (InputStream in = fs.open(path)) {
          in.read();
        }
      }
    } catch (java.io.FileNotFoundException e) {
      throw new UserException(what + " not found: " + uri);
    } catch (IOException | IllegalArgumentException e) {
      throw new UserException("cannot read " + what + " " + uri + ": " + Exceptions.firstLine(e));
    }
  }

  /**
   * Fails unless a file can be created in directory {@code uri}; the probe, and the directory if it made it, are
   * removed again, so a job that fails later leaves nothing behind.
   */
  public static void requireWritable(String what, String uri, Configuration conf) {
    try {
      Path dir = new Path(uri);
      FileSystem fs = dir.getFileSystem(conf);
      boolean existed = fs.exists(dir);
      if (existed && fs.getFileStatus(dir).isFile()) {
        throw new UserException(what + " " + uri + " is a file, not a directory");
      }
      Path probe = new Path(dir, "_imgvec_write_check_" + UUID.randomUUID());
      fs.create(probe, false).close();
      fs.delete(existed ? probe : dir, true);
    } catch (IOException | IllegalArgumentException e) {
      throw new UserException("cannot write to " + what + " " + uri + ": " + Exceptions.firstLine(e),
          "choose a location this user can write to");
    }
  }

  /**
   * The embeddings dataset for {@code uri}: the embed job's output directory (its {@code embeddings/}) or the
   * dataset itself.
   */
  public static String embeddingsDataset(String uri, Configuration conf) {
    requireReadable("embeddings", uri, conf);
    try {
      Path dir = new Path(uri);
      FileSystem fs = dir.getFileSystem(conf);
      Path inner = new Path(dir, "embeddings");
      if (fs.isDirectory(inner) && !holdsParquet(fs, dir)) {
        return inner.toString();
      }
      if (!holdsParquet(fs, dir)) {
        throw new UserException(uri + " holds no Parquet files: not an imgvec embeddings dataset",
            "pass the embed job's --output directory or its embeddings/ directory");
      }
      return uri;
    } catch (IOException e) {
      throw new UserException("cannot read embeddings " + uri + ": " + Exceptions.firstLine(e));
    }
  }

  /** Whether {@code path} is a Parquet file or a directory holding one directly (not only in subdirectories). */
  private static boolean holdsParquet(FileSystem fs, Path path) throws IOException {
    if (fs.getFileStatus(path).isFile()) {
      return path.getName().endsWith(".parquet");
    }
    for (FileStatus f : fs.listStatus(path)) {
      if (f.isFile() && f.getPath().getName().endsWith(".parquet")) {
        return true;
      }
    }
    return false;
  }
}

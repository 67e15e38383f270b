package io.imgvec.pipeline;

import io.imgvec.image.ImageError;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.Serializable;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** Reads image bytes through the Hadoop FileSystem API (file:, s3a:, hdfs:), refusing files over a size limit. */
public final class ImageFetcher implements Serializable {
  private static final long serialVersionUID = 1L;

  private final Map<String, String> hadoopProperties;
  private final long maxBytes;
  private transient Configuration conf;

  public ImageFetcher(Map<String, String> hadoopProperties, long maxBytes) {
    this.hadoopProperties = Map.copyOf(hadoopProperties);
    this.maxBytes = maxBytes;
  }

  /** Whether {@code uri} names its scheme (file:, s3a:, ...); other URIs are paths relative to some base. */
  public static boolean hasScheme(String uri) {
    return uri.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:.*");
  }

  public synchronized Configuration hadoopConf() {
    if (conf == null) {
      conf = new Configuration();
      hadoopProperties.forEach(conf::set);
    }
    return conf;
  }

  public byte[] fetch(String uri) throws ImageError {
    try {
      Path path = new Path(uri);
      FileSystem fs = path.getFileSystem(hadoopConf());
      FileStatus status = fs.getFileStatus(path);
      if (status.isDirectory()) {
        throw new ImageError("read", "not_a_file", uri + " is a directory");
      }
      if (status.getLen() > maxBytes) {
        throw new ImageError("read", "file_too_large", uri + " is " + status.getLen()
            + " bytes, over read.max-bytes=" + maxBytes);
      }
      byte[] bytes = new byte[(int) status.getLen()];
      try (FSDataInputStream in = fs.open(path)) {
        in.readFully(0, bytes);
      }
      return bytes;
    } catch (FileNotFoundException e) {
      throw new ImageError("read", "not_found", "no such file: " + uri);
    } catch (IOException | IllegalArgumentException e) {
      throw new ImageError("read", "read_failed", "cannot read " + uri + ": " + e.getMessage(), e);
    }
  }
}

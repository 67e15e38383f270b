package io.imgvec.pipeline;

import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;
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

/**
 * Reads image bytes through the Hadoop FileSystem API (file:, s3a:, hdfs:), opening only URIs its {@link UriPolicy}
 * allows and refusing files over a size limit. Every failure is the image's {@link ImageError}, never the task's.
 */
public final class ImageFetcher implements Serializable {
  private static final long serialVersionUID = 1L;

  private final Map<String, String> hadoopProperties;
  private final long maxBytes;
  private final UriPolicy policy;
  private transient Configuration conf;

  public ImageFetcher(Map<String, String> hadoopProperties, long maxBytes, UriPolicy policy) {
    this.hadoopProperties = Map.copyOf(hadoopProperties);
    this.maxBytes = maxBytes;
    this.policy = policy;
  }

  /** The fetcher a job's settings describe; {@code stream} picks the stream's default URI policy. */
  public static ImageFetcher of(Map<String, String> hadoopProperties, ImgvecConfig config, boolean stream) {
    return new ImageFetcher(hadoopProperties, config.get(ConfigKeys.MAX_BYTES),
        UriPolicy.of(config.get(ConfigKeys.INPUT_ALLOWED_URI_PREFIXES), stream));
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
    policy.check(uri);
    try {
      Path path = new Path(uri);
      FileSystem fs = path.getFileSystem(hadoopConf());
      FileStatus status = fs.getFileStatus(path);
      if (status.isDirectory()) {
        throw new ImageError("read", "not_a_file", uri + " is a directory");
      }
      if (status.getLen() > maxBytes) {
        throw tooLarge(uri, status.getLen());
      }
      try (FSDataInputStream in = fs.open(path)) {
        return readBounded(uri, in, status.getLen());
      }
    } catch (FileNotFoundException e) {
      throw new ImageError("read", "not_found", "no such file: " + uri);
    } catch (IOException | RuntimeException e) {
      throw new ImageError("read", "read_failed", "cannot read " + uri + ": " + e.getMessage(), e);
    }
  }

  /** The file's bytes; a store that reports no length (-1) is read up to the limit, never trusted blindly. */
  private byte[] readBounded(String uri, FSDataInputStream in, long length) throws IOException, ImageError {
    if (length >= 0) {
      byte[] bytes = new byte[(int) length];
      in.readFully(0, bytes);
      return bytes;
    }
    byte[] bytes = in.readNBytes((int) maxBytes + 1);
    if (bytes.length > maxBytes) {
      throw tooLarge(uri, bytes.length);
    }
    return bytes;
  }

  private ImageError tooLarge(String uri, long length) {
    return new ImageError("read", "file_too_large", uri + " is " + (length > maxBytes + 1 ? length + " bytes"
        : "more than " + maxBytes + " bytes") + ", over read.max-bytes=" + maxBytes);
  }
}

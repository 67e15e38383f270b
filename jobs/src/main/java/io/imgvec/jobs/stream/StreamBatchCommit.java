package io.imgvec.jobs.stream;

import com.fasterxml.jackson.core.type.TypeReference;
import io.imgvec.index.IndexPublisher;
import io.imgvec.io.Json;
import io.imgvec.util.UserException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Exactly-once output of a stream's micro-batches, for every reader, including plain Parquet readers that glob
 * {@code <output>/embeddings/**}{@code /*.parquet} and know nothing of Spark's {@code _spark_metadata} log.
 *
 * <p>A batch is first written whole under {@code <output>/_imgvec_stream/staging/<batch>/} (outside the globbed
 * directories), one Parquet file per dataset, and marked staged with its counts. It is then published by moving
 * each file to {@code <output>/<dataset>/batch-<batch>.parquet}: one rename of one file, which appears whole (POSIX
 * and HDFS rename; on S3 a copy, whose object appears only when complete). Last comes the commit record
 * {@code _imgvec_stream/commits/<batch>.json}. Spark replays a batch whose end it did not record, with the same
 * offsets; a replay finds the commit record (nothing to do), or the staged batch (finish moving it), or neither
 * (compute it again: nothing of it is visible yet). So each record appears exactly once, whenever the driver dies.
 */
public final class StreamBatchCommit {
  public static final List<String> DATASETS = List.of("embeddings", "errors");
  private static final String STAGED = "_STAGED.json";

  private final Path output;
  private final Path root;
  private final FileSystem fs;
  private final Configuration conf;

  StreamBatchCommit(String outputUri, Configuration conf) throws IOException {
    this.output = new Path(outputUri);
    this.root = new Path(output, "_imgvec_stream");
    this.fs = output.getFileSystem(conf);
    this.conf = conf;
  }

  /**
   * A new checkpoint over an output that already holds committed batches would number its batches from 0 again
   * and take them for replays: refused.
   */
  void requireCheckpointOf(String checkpointUri) throws IOException {
    Path offsets = new Path(checkpointUri, "offsets");
    Path commits = new Path(root, "commits");
    if (!offsets.getFileSystem(conf).exists(offsets) && fs.exists(commits) && fs.listStatus(commits).length > 0) {
      throw new UserException("output " + output + " already holds batches of a stream whose checkpoint is not "
          + checkpointUri, "restart with that stream's --checkpoint, or give a new stream a new --output");
    }
  }

  /** Where a batch writes its datasets before it is published. */
  Path staging(long batch) {
    return new Path(root, "staging/" + batch);
  }

  /** Clears a batch's staging directory (what a driver that died while writing it left). */
  void startStaging(long batch) throws IOException {
    fs.delete(staging(batch), true);
  }

  void markStaged(long batch, Map<String, Object> counts) throws IOException {
    IndexPublisher.writeAtomically(fs, conf, new Path(staging(batch), STAGED), Json.line(counts).getBytes(
        StandardCharsets.UTF_8));
  }

  /** The counts of a committed batch, or null. */
  Map<String, Object> committed(long batch) throws IOException {
    return readJson(commitFile(batch));
  }

  /** The counts of a batch staged whole but not yet committed, or null. */
  Map<String, Object> staged(long batch) throws IOException {
    return readJson(new Path(staging(batch), STAGED));
  }

  /** Moves a staged batch's files into the datasets (those not moved yet), then records the commit and its time. */
  void publish(long batch, Map<String, Object> counts) throws IOException {
    for (String dataset : DATASETS) {
      Path target = new Path(output, dataset + "/" + fileName(batch));
      Path staged = stagedFile(new Path(staging(batch), dataset));
      if (staged != null && !fs.exists(target)) {
        fs.mkdirs(target.getParent());
        if (!fs.rename(staged, target)) {
          throw new IOException("cannot move " + staged + " to " + target);
        }
      }
    }
    Map<String, Object> record = new java.util.LinkedHashMap<>(counts);
    record.put("committed_at", java.time.Instant.now().toString());
    IndexPublisher.writeAtomically(fs, conf, commitFile(batch), Json.line(record).getBytes(StandardCharsets.UTF_8));
    fs.delete(staging(batch), true);
  }

  static String fileName(long batch) {
    return String.format("batch-%012d.parquet", batch);
  }

  private Path commitFile(long batch) {
    return new Path(root, "commits/" + batch + ".json");
  }

  /** The one Parquet file Spark wrote into {@code dir} (absent when the dataset had no rows, or already moved). */
  private Path stagedFile(Path dir) throws IOException {
    if (!fs.exists(dir)) {
      return null;
    }
    List<Path> parquet = new ArrayList<>();
    for (FileStatus s : fs.listStatus(dir)) {
      String name = s.getPath().getName();
      if (name.endsWith(".parquet") && !name.startsWith("_") && !name.startsWith(".")) {
        parquet.add(s.getPath());
      }
    }
    if (parquet.size() > 1) {
      throw new IOException("expected one staged Parquet file in " + dir + ", found " + parquet);
    }
    return parquet.isEmpty() ? null : parquet.get(0);
  }

  private Map<String, Object> readJson(Path file) throws IOException {
    try (InputStream in = fs.open(file)) {
      return Json.MAPPER.readValue(in, new TypeReference<Map<String, Object>>() {});
    } catch (FileNotFoundException e) {
      return null;
    }
  }
}

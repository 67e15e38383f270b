package io.imgvec.jobs.stream;

import io.imgvec.io.Commit;
import io.imgvec.io.Json;
import io.imgvec.util.UserException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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
 * <p>Each batch follows the {@link Commit} protocol. It is staged whole under
 * {@code <output>/_imgvec_stream/staging/<batch>/} (outside the globbed directories), one Parquet file per dataset,
 * with its counts as the staged record; its files are moved to {@code <output>/<dataset>/batch-<batch>.parquet},
 * one rename each (POSIX and HDFS rename; on S3 a copy, whose object appears only when complete); the marker is the
 * commit record {@code _imgvec_stream/commits/<batch>.json}. Spark replays a batch whose end it did not record,
 * with the same offsets; a replay finds the commit record (nothing to do), or the staged batch (finish moving it),
 * or neither (compute it again: nothing of it is visible yet). So each record appears exactly once, whenever the
 * driver dies.
 */
public final class StreamBatchCommit {
  public static final List<String> DATASETS = List.of("embeddings", "errors");

  private final Path output;
  private final Path root;
  private final FileSystem fs;
  private final Configuration conf;

  public StreamBatchCommit(String outputUri, Configuration conf) throws IOException {
    this.output = new Path(outputUri);
    this.root = new Path(output, "_imgvec_stream");
    this.fs = Commit.withoutChecksumFiles(output.getFileSystem(conf));
    this.conf = conf;
  }

  /**
   * A new checkpoint over an output that already holds committed batches would number its batches from 0 again
   * and take them for replays: refused.
   */
  public void requireCheckpointOf(String checkpointUri) throws IOException {
    Path offsets = new Path(checkpointUri, "offsets");
    Path commits = new Path(root, "commits");
    if (!offsets.getFileSystem(conf).exists(offsets) && fs.exists(commits) && fs.listStatus(commits).length > 0) {
      throw new UserException("output " + output + " already holds batches of a stream whose checkpoint is not "
          + checkpointUri, "restart with that stream's --checkpoint, or give a new stream a new --output");
    }
  }

  /** A batch's commit: where it stages its datasets before they are published. */
  public Commit batch(long batch) throws IOException {
    return new Commit(new Path(root, "staging/" + batch), conf);
  }

  /** The counts of a committed batch, or null. */
  public Map<String, Object> committed(long batch) throws IOException {
    return Commit.readJson(fs, commitFile(batch));
  }

  /** Moves a staged batch's files into the datasets (those not moved yet), then records the commit and its time. */
  public void publish(long batch, Map<String, Object> counts) throws IOException {
    Commit commit = batch(batch);
    for (String dataset : DATASETS) {
      Path staged = stagedFile(new Path(commit.staging(), dataset));
      if (staged != null) {
        commit.moveIntoPlace(staged, new Path(output, dataset + "/" + fileName(batch)), false);
      }
    }
    Map<String, Object> record = new LinkedHashMap<>(counts);
    record.put("committed_at", Instant.now().toString());
    commit.publish(commitFile(batch), Json.line(record).getBytes(StandardCharsets.UTF_8));
    commit.clean();
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
}

package io.imgvec.index;

import io.imgvec.faiss.FaissIndex;
import io.imgvec.published.ContentDigests;
import io.imgvec.published.IdMap;
import io.imgvec.published.ShardedIndex;
import io.imgvec.published.Sq8Vectors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A build's passes over its vectors on this machine: the first draws the sample (training vectors and held-out
 * queries), the second adds every other vector to the index and the exact-search ground truth and writes the id
 * map. Both check the input is what the count said, in the same order.
 */
final class SourceScans {
  private final VectorSource source;
  private final int batchSize;
  private final Consumer<String> progress;
  private long rowsRead;

  SourceScans(VectorSource source, int batchSize, Consumer<String> progress) {
    this.source = source;
    this.batchSize = batchSize;
    this.progress = progress;
  }

  Sample sample(long n, int d, int trainSize, int nq) throws IOException {
    Sample sample = new Sample(trainSize, nq);
    long[] position = {0};
    source.scan(batchSize, batch -> {
      checkBatch(batch, d);
      rowsRead += batch.size();
      for (int i = 0; i < batch.size(); i++, position[0]++) {
        sample.offer(batch.imageIds()[i], position[0], batch.vectors(), i * d, d);
      }
      progress(position[0], n, "sampled");
    });
    checkUnchanged(n, position[0]);
    sample.finish(d);
    return sample;
  }

  /** The sample merged from {@code part} (drawn where the vectors are), checked against the count. */
  static Sample sample(Sample.Part part, long n, int trainSize, int nq) {
    checkUnchanged(n, part.rowsOffered());
    return Sample.of(part, trainSize, nq);
  }

  /**
   * Streams every vector into copies of the trained index (held-out queries aside), one per shard of equal id
   * ranges, and into the exact-search ground truth; with a {@code codec}, every vector (queries too) into the
   * refine stage's store too, beside the id map.
   */
  ShardedIndex addAll(FaissIndex trained, Sample sample, ExactNeighbours truth, Path idFile, Sq8Vectors.Codec codec,
      long n, int d, int shards, Map<String, Object> timings) throws IOException {
    ShardedIndex index = ShardedIndex.copies(trained, shards, n);
    try (Sq8Vectors.Writer stored = codec == null ? null
        : Sq8Vectors.Writer.create(idFile.resolveSibling(Sq8Vectors.FILE), codec)) {
      addAll(index, sample, truth, idFile, stored, n, d, timings);
      return index;
    } catch (IOException | RuntimeException e) {
      index.close(); // native memory is not garbage-collected
      throw e;
    }
  }

  private void addAll(ShardedIndex index, Sample sample, ExactNeighbours truth, Path idFile, Sq8Vectors.Writer stored,
      long n, int d, Map<String, Object> timings) throws IOException {
    long[] position = {0};
    long[] addNanos = {0};
    long[] truthNanos = {0};
    int[] queriesSeen = {0};
    try (IdMap.Writer ids = new IdMap.Writer(idFile);
        ContentDigests.Writer digests = new ContentDigests.Writer(idFile.resolveSibling(ContentDigests.FILE))) {
      source.scan(batchSize, batch -> {
        rowsRead += batch.size();
        if (stored != null) {
          stored.append(batch.vectors(), batch.size());
        }
        float[] base = new float[batch.size() * d];
        long[] baseIds = new long[batch.size()];
        int m = 0;
        for (int i = 0; i < batch.size(); i++, position[0]++) {
          long id = position[0];
          ids.write(id, batch.imageIds()[i], batch.uris()[i], batch.metadata()[i]);
          digests.write(id, batch.digests() == null ? null : batch.digests()[i], batch.imageIds()[i]);
          if (sample.isQuery(id)) {
            if (!batch.imageIds()[i].equals(sample.queryImageIds[queriesSeen[0]++])) {
              throw new IndexBuildException("the input changed while building: row order differs between scans");
            }
            continue;
          }
          System.arraycopy(batch.vectors(), i * d, base, m * d, d);
          baseIds[m++] = id;
        }
        long t = System.nanoTime();
        if (m > 0) {
          index.add(base, baseIds, m);
        }
        addNanos[0] += System.nanoTime() - t;
        t = System.nanoTime();
        truth.addBase(base, baseIds, m);
        truthNanos[0] += System.nanoTime() - t;
        progress(position[0], n, "added");
      });
    }
    checkUnchanged(n, position[0]);
    timings.put("add_s", addNanos[0] / 1e9);
    timings.put("ground_truth_s", truthNanos[0] / 1e9);
  }

  /** Vectors these scans have read here. */
  long rowsRead() {
    return rowsRead;
  }

  private static void checkUnchanged(long counted, long read) {
    if (read != counted) {
      throw new IndexBuildException("the input changed while building: counted " + counted + " vectors, read " + read);
    }
  }

  private static void checkBatch(VectorSource.Batch batch, int d) {
    if (batch.dimension() != d) {
      throw new IndexBuildException("a batch has dimension " + batch.dimension() + ", expected " + d);
    }
  }

  private void progress(long done, long total, String what) {
    if (done == total || done % (batchSize * 16L) < batchSize) {
      progress.accept(String.format("%s %d/%d vectors (%.0f%%)", what, done, total, 100.0 * done / total));
    }
  }
}

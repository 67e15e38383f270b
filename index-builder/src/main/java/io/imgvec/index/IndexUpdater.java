package io.imgvec.index;

import io.imgvec.published.ContentDigests;
import io.imgvec.published.HeldOutQueries;
import io.imgvec.published.IdMap;
import io.imgvec.published.IndexLayout;
import io.imgvec.published.RerankedSearch;
import io.imgvec.published.ShardedIndex;
import io.imgvec.published.Sq8Vectors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Brings a published version up to date without retraining: on a copy of its index, adds the images it lacks,
 * replaces those whose content changed (the old id is removed, the new vector gets a new id) and removes deleted
 * ones; then measures recall and latency again at the version's search setting on held-out live vectors, and says
 * whether a full rebuild is due (see {@link #rebuildReasons}). In a sharded version each removal goes to the shard
 * holding the id and the added ids to the smallest shard ({@link ShardedIndex#addNewIdsToTheSmallestShard}).
 */
public final class IndexUpdater {
  /** Update settings: held-out queries, add batch size and the rebuild rule's share. */
  public record Options(int evalQueries, int batchSize, double rebuildShare) {}

  /** Held-out queries: live vectors (row after row) with their image_ids. */
  public record Queries(float[] vectors, String[] imageIds) {
    int size() {
      return imageIds.length;
    }
  }

  private final Path baseDir;
  private final Map<String, Object> base;
  private final Options options;
  private final Consumer<String> progress;
  /** Whether the version is an HNSW graph, which FAISS can add to but not remove from. */
  private final boolean graph;

  /** {@code baseDir} holds the fetched files of the version described by {@code baseManifest}. */
  public IndexUpdater(Path baseDir, Map<String, Object> baseManifest, Options options, Consumer<String> progress) {
    this.baseDir = baseDir;
    this.base = baseManifest;
    this.options = options;
    this.progress = progress;
    this.graph = IndexLayout.isGraph(baseManifest);
  }

  /**
   * Writes the updated index into {@code dir}. {@code upserts}: the newest live row of each image that may be new or
   * changed (rows whose digest matches the indexed one are skipped); {@code deleted}: image_ids whose newest record
   * is a deletion; {@code live}: every live vector, for the ground truth of {@code queries}.
   */
  public IndexBuilder.BuiltIndex update(VectorSource upserts, Set<String> deleted, Queries queries,
      VectorSource live, Path dir) throws IOException {
    long start = System.nanoTime();
    requireDigests(base);
    Path digestsFile = baseDir.resolve(ContentDigests.FILE);
    List<String> columns = metadataColumns();
    IdMap ids = IdMap.read(baseDir.resolve(IdMap.FILE), IndexLayout.idBound(base), columns.size());
    Map<Long, String> digests = ContentDigests.read(digestsFile);
    Map<String, Long> idOf = ids.idsByImageId();
    Files.createDirectories(dir);
    Map<String, Object> timings = new LinkedHashMap<>();
    try (ShardedIndex index = ShardedIndex.readVersion(base, baseDir, false)) {
      Changes changes = new Changes(ids.size());
      if (index.shardCount() > 1) {
        index.addNewIdsToTheSmallestShard(changes.nextId);
      }
      long t = System.nanoTime();
      try (IdMap.Writer newIds = new IdMap.Writer(dir.resolve("added-ids.tmp"));
          ContentDigests.Writer newDigests = new ContentDigests.Writer(dir.resolve("added-digests.tmp"));
          Sq8Vectors.Writer stored = storedVectors(index.dimension(), changes.nextId, dir)) {
        upserts.scan(options.batchSize(), batch -> changes.upsert(batch, index, idOf, digests, newIds, newDigests,
            stored));
      }
      for (String imageId : deleted) {
        Long id = idOf.remove(imageId);
        if (id != null) {
          changes.removed.add(id);
          changes.deletedCount++;
        }
      }
      if (graph && !changes.removed.isEmpty()) {
        throw new IndexBuildException("version " + base.get("version") + " is an HNSW graph, which FAISS cannot"
            + " remove from, and this update replaces " + changes.replaced + " changed and deletes "
            + changes.deletedCount + " images: rebuild it with build-index (update-index adds new images to a"
            + " graph)");
      }
      long[] removedIds = changes.removed.stream().mapToLong(Long::longValue).toArray();
      if (removedIds.length > 0) {
        index.removeIds(removedIds);
      }
      timings.put("add_remove_s", IndexBuilder.seconds(t));
      progress.accept("added " + changes.added + ", replaced " + changes.replaced + ", removed "
          + changes.deletedCount);
      t = System.nanoTime();
      IndexEvaluator.Metrics metrics = measure(index, queries, live, idOf, dir);
      timings.put("evaluate_s", IndexBuilder.seconds(t));
      t = System.nanoTime();
      long bytes = index.write(dir) + (IndexLayout.refines(base) ? Files.size(dir.resolve(Sq8Vectors.FILE)) : 0);
      writeMaps(dir, ids, digests, Set.copyOf(changes.removed), columns.size());
      timings.put("write_s", IndexBuilder.seconds(t));
      timings.put("total_s", IndexBuilder.seconds(start));
      return new IndexBuilder.BuiltIndex(dir, manifest(index, changes, metrics, queries.size(), timings, bytes));
    }
  }

  /**
   * Where the version re-ranks against stored vectors: a copy of its store, open for the added ids' rows (null
   * without a refine stage).
   */
  private Sq8Vectors.Writer storedVectors(int d, long nextId, Path dir) throws IOException {
    if (!IndexLayout.refines(base)) {
      return null;
    }
    Path copy = dir.resolve(Sq8Vectors.FILE);
    Files.copy(baseDir.resolve(Sq8Vectors.FILE), copy, StandardCopyOption.REPLACE_EXISTING);
    return Sq8Vectors.Writer.appendTo(copy, d, nextId);
  }

  /** Updates need the version's digests (versions built before update-index existed have none). */
  public static void requireDigests(Map<String, Object> manifest) {
    if (!(manifest.get("files") instanceof Map<?, ?> files) || !files.containsKey(ContentDigests.FILE)) {
      throw new IndexBuildException("version " + manifest.get("version") + " has no " + ContentDigests.FILE + " (it"
          + " was built before update-index existed, or from embeddings without content_sha256): run build-index"
          + " once");
    }
  }

  /** What the upserts and deletions did: counts, the ids to remove, and the next free id. */
  private static final class Changes {
    long nextId;
    long added;
    long replaced;
    long deletedCount;
    final List<Long> removed = new ArrayList<>();

    Changes(long idBound) {
      this.nextId = idBound;
    }

    void upsert(VectorSource.Batch batch, ShardedIndex index, Map<String, Long> idOf, Map<Long, String> digests,
        IdMap.Writer newIds, ContentDigests.Writer newDigests, Sq8Vectors.Writer stored) throws IOException {
      int d = batch.dimension();
      float[] vectors = new float[batch.size() * d];
      long[] newIdsOfBatch = new long[batch.size()];
      int m = 0;
      for (int i = 0; i < batch.size(); i++) {
        String imageId = batch.imageIds()[i];
        String digest = batch.digests() == null ? null : batch.digests()[i];
        Long old = idOf.get(imageId);
        if (old != null && digest != null && digest.equals(digests.get(old))) {
          continue; // sent again unchanged
        }
        if (old != null) {
          removed.add(old);
          replaced++;
        } else {
          added++;
        }
        long id = nextId++;
        idOf.put(imageId, id);
        newIds.write(id, imageId, batch.uris()[i], batch.metadata()[i]);
        newDigests.write(id, digest, imageId);
        System.arraycopy(batch.vectors(), i * d, vectors, m * d, d);
        newIdsOfBatch[m++] = id;
      }
      if (m > 0) {
        index.add(vectors, newIdsOfBatch, m);
      }
      if (stored != null) {
        stored.append(vectors, m); // the rows of ids nextId - m to nextId - 1
      }
    }
  }

  /**
   * Recall and latency at the version's search setting: the queries are taken out of the index while measured
   * (held out, as the builder does) and put back with their ids (a graph's stay in it, and out of their own
   * results); the ground truth is exact over every other live vector. The queries and their exact neighbours are published with the version ({@link HeldOutQueries}).
   */
  private IndexEvaluator.Metrics measure(ShardedIndex index, Queries queries, VectorSource live,
      Map<String, Long> idOf, Path dir) throws IOException {
    int nq = queries.size();
    if (nq == 0) {
      return null;
    }
    int d = index.dimension();
    long[] queryIds = Arrays.stream(queries.imageIds()).mapToLong(idOf::get).toArray();
    Set<String> queryImages = Set.of(queries.imageIds());
    ExactNeighbours truth = new ExactNeighbours(queries.vectors(), nq, d, IndexEvaluator.K, index.metric());
    live.scan(options.batchSize(), batch -> {
      float[] vectors = new float[batch.size() * d];
      long[] batchIds = new long[batch.size()];
      int m = 0;
      for (int i = 0; i < batch.size(); i++) {
        if (!queryImages.contains(batch.imageIds()[i])) {
          System.arraycopy(batch.vectors(), i * d, vectors, m * d, d);
          batchIds[m++] = idOf.get(batch.imageIds()[i]);
        }
      }
      truth.addBase(vectors, batchIds, m);
    });
    if (!graph) {
      index.removeIds(queryIds);
    }
    RerankedSearch refine = RerankedSearch.ofVersion(base, index, dir);
    IndexEvaluator evaluator = graph ? IndexEvaluator.holdingQueries(queries.vectors(), nq, d, truth, queryIds)
        : new IndexEvaluator(queries.vectors(), nq, d, truth);
    IndexEvaluator.Metrics metrics = evaluator.measure(refine != null ? refine : index,
        IndexLayout.searchParams(base));
    if (!graph) {
      index.add(queries.vectors(), queryIds, nq);
    }
    new HeldOutQueries(queries.imageIds(), queryIds, truth.allIds(), queries.vectors(), d).write(dir.resolve(
        HeldOutQueries.FILE));
    return metrics;
  }

  /** The base's id map and digests without the removed ids, then the added entries. */
  private static void writeMaps(Path dir, IdMap ids, Map<Long, String> digests, Set<Long> removed, int columns)
      throws IOException {
    try (IdMap.Writer out = new IdMap.Writer(dir.resolve(IdMap.FILE));
        ContentDigests.Writer outDigests = new ContentDigests.Writer(dir.resolve(ContentDigests.FILE))) {
      String[] values = new String[columns];
      for (long id = 0; id < ids.size(); id++) {
        if (ids.imageId(id) != null && !removed.contains(id)) {
          for (int c = 0; c < columns; c++) {
            values[c] = ids.metadata(id, c);
          }
          out.write(id, ids.imageId(id), ids.uri(id), values);
          outDigests.write(id, digests.get(id), ids.imageId(id));
        }
      }
    }
    appendGzip(dir.resolve("added-ids.tmp"), dir.resolve(IdMap.FILE));
    appendGzip(dir.resolve("added-digests.tmp"), dir.resolve(ContentDigests.FILE));
  }

  /** Concatenated gzip members read as one stream (RFC 1952), so the added entries are appended as they are. */
  private static void appendGzip(Path from, Path to) throws IOException {
    Files.write(to, Files.readAllBytes(from), java.nio.file.StandardOpenOption.APPEND);
    Files.delete(from);
  }

  private Map<String, Object> manifest(ShardedIndex index, Changes changes, IndexEvaluator.Metrics metrics, int nq,
      Map<String, Object> timings, long bytes) {
    Map<String, Object> m = new LinkedHashMap<>(base);
    m.remove("version");
    m.remove("created_at");
    m.remove("files");
    m.remove("outcome"); // the build's tuning outcome; this version keeps its search setting
    m.put("count", index.ntotal());
    m.put("id_bound", changes.nextId);
    if (index.shardCount() > 1) {
      m.put("id_ranges", IndexLayout.idRangesEntry(index.idRanges()));
    }
    m.put("metrics", BuildManifest.measured(metrics, nq, bytes, index.ntotal()));
    m.remove("latency_measurement");
    if (metrics != null) {
      m.put("latency_measurement", IndexEvaluator.method(nq, metrics));
    }
    Map<String, Object> lists = null;
    if (base.get("lists") != null) {
      lists = BuildManifest.listStats(index.listSizes(), 0, ((Number) listsInfo().get("max_list_factor")).doubleValue());
      m.put("lists", lists);
    }
    long addedSinceTraining = previousUpdate("added_since_training") + changes.added + changes.replaced;
    Map<String, Object> update = new LinkedHashMap<>();
    update.put("base_version", base.get("version"));
    update.put("added", changes.added);
    update.put("replaced", changes.replaced);
    update.put("removed", changes.deletedCount);
    update.put("added_since_training", addedSinceTraining);
    update.put("trained_recall_at_10", trainedRecall());
    List<String> reasons = rebuildReasons(addedSinceTraining, metrics, lists);
    update.put("rebuild_due", !reasons.isEmpty());
    update.put("rebuild_reasons", reasons);
    m.put("update", update);
    m.put("timings", timings);
    return m;
  }

  /**
   * The rule for a full rebuild: the quantizer was trained on {@code trained_count} vectors, and it no longer fits
   * the data once (1) the vectors added since (new and replaced) exceed {@code update.rebuild-share} of that count,
   * (2) recall at the published setting falls more than 0.01 below what it was when trained, or (3) the largest list
   * outgrows twice the bound training kept it under (max-list-factor × mean), which sets the tail latency.
   */
  List<String> rebuildReasons(long addedSinceTraining, IndexEvaluator.Metrics metrics, Map<String, Object> lists) {
    List<String> reasons = new ArrayList<>();
    long trained = ((Number) base.getOrDefault("trained_count", base.get("count"))).longValue();
    if (addedSinceTraining > options.rebuildShare() * trained) {
      reasons.add(addedSinceTraining + " vectors added since training, over update.rebuild-share="
          + options.rebuildShare() + " of the " + trained + " trained on");
    }
    Double trainedRecall = trainedRecall();
    if (metrics != null && trainedRecall != null && metrics.recallAt10() < trainedRecall - 0.01) {
      reasons.add("R@10 " + IndexEvaluator.round4(metrics.recallAt10()) + " fell below the " + trainedRecall
          + " measured when trained");
    }
    if (lists != null) {
      double bound = 2 * ((Number) lists.get("max_list_factor")).doubleValue() * ((Number) lists.get("mean_size"))
          .doubleValue();
      if (((Number) lists.get("max_size")).longValue() > bound) {
        reasons.add("the largest list holds " + lists.get("max_size") + " vectors, over twice max-list-factor x the"
            + " mean (" + Math.round(bound) + ")");
      }
    }
    return reasons;
  }

  /** R@10 when the index was trained: carried from update to update. */
  private Double trainedRecall() {
    @SuppressWarnings("unchecked")
    Map<String, Object> update = (Map<String, Object>) base.get("update");
    Object carried = update == null ? null : update.get("trained_recall_at_10");
    if (carried != null) {
      return ((Number) carried).doubleValue();
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> metrics = (Map<String, Object>) base.get("metrics");
    Object recall = metrics == null ? null : metrics.get("recall_at_10");
    return recall == null ? null : ((Number) recall).doubleValue();
  }

  private long previousUpdate(String key) {
    @SuppressWarnings("unchecked")
    Map<String, Object> update = (Map<String, Object>) base.get("update");
    return update == null ? 0 : ((Number) update.get(key)).longValue();
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> listsInfo() {
    return (Map<String, Object>) base.get("lists");
  }

  @SuppressWarnings("unchecked")
  private List<String> metadataColumns() {
    Object columns = base.get("metadata_columns");
    return columns == null ? List.of() : (List<String>) columns;
  }
}

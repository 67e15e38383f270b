package io.imgvec.bench;

import io.imgvec.io.Json;
import io.imgvec.io.LocalFiles;
import io.imgvec.util.Numbers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.lucene912.Lucene912Codec;
import org.apache.lucene.codecs.lucene99.Lucene99HnswVectorsFormat;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;

/**
 * The Lucene HNSW peer of bench/ann-peers.sh, in this JVM: lucene-core 9.12.3's vector format (HNSW, by default M 16
 * and beam width 100, full float vectors), one segment, Euclidean; swept over the candidate count (Lucene's k, as
 * ann-benchmarks' Lucene runner sweeps it), the top 10 kept. Scored as ann_peers.py scores FAISS's peers: R@10
 * against peers-truth.i64 on the first 1,000 queries, p50/p99 of one query per search on one thread (each query's
 * median over 3 passes), queries/s on 2 threads, bytes per vector on disk, build time. Each document keeps its row
 * number (doc values, read into an array before searching): Lucene's doc ids need not follow the order of adding.
 *
 * <p>Usage: LuceneHnswPeer <data dir> <out json> [M] [beam width]
 */
public final class LuceneHnswPeer {
  private static final int QUERIES = 1000;
  private static final int K = 10;
  private static final int PASSES = 3;
  private static final String FIELD = "v";
  private static final String ROW = "row";

  public static void main(String[] args) throws Exception {
    Path data = Path.of(args[0]);
    int d = Integer.parseInt(Files.readString(data.resolve("dimension")).trim());
    int n = (int) VectorFiles.rows(data.resolve("base.f32"), d);
    int nq = (int) Math.min(QUERIES, VectorFiles.rows(data.resolve("queries.f32"), d));
    float[] queries = VectorFiles.read(data.resolve("queries.f32"), d, 0, nq);
    long[] truth = readTruth(data.resolve("peers-truth.i64"), nq);
    int maxConn = args.length > 2 ? Integer.parseInt(args[2]) : Lucene99HnswVectorsFormat.DEFAULT_MAX_CONN;
    int beamWidth = args.length > 3 ? Integer.parseInt(args[3]) : Lucene99HnswVectorsFormat.DEFAULT_BEAM_WIDTH;
    Path dir = data.resolve("lucene-hnsw");
    LocalFiles.deleteRecursively(dir);
    long start = System.nanoTime();
    try (Directory directory = FSDirectory.open(dir)) {
      build(directory, data.resolve("base.f32"), n, d, new Lucene99HnswVectorsFormat(maxConn, beamWidth));
      double buildSeconds = (System.nanoTime() - start) / 1e9;
      List<Map<String, Object>> rows = new ArrayList<>();
      try (DirectoryReader reader = DirectoryReader.open(directory)) {
        IndexSearcher searcher = new IndexSearcher(reader);
        long[] rowOfDoc = rows(reader);
        for (int candidates : new int[] {10, 20, 40, 80, 160, 320, 640}) {
          rows.add(measure(searcher, queries, nq, d, truth, rowOfDoc, candidates));
        }
      }
      Map<String, Object> engine = new LinkedHashMap<>();
      engine.put("engine", "Lucene 9.12.3 HNSW (same JVM)");
      engine.put("factory", "HNSW M" + maxConn + " beam " + beamWidth + ", float32");
      engine.put("build_s", Numbers.round(buildSeconds, 1));
      engine.put("bytes_per_vector", Numbers.round(directoryBytes(dir) / (double) n, 1));
      engine.put("settings", rows);
      Files.writeString(Path.of(args[1]), Json.PRETTY.writeValueAsString(Map.of("engines", List.of(engine))));
    } finally {
      LocalFiles.deleteRecursively(dir);
    }
  }

  private static void build(Directory directory, Path base, int n, int d, KnnVectorsFormat format)
      throws IOException {
    IndexWriterConfig config = new IndexWriterConfig().setRAMBufferSizeMB(4096) // one flushed segment
        .setCodec(new Lucene912Codec() {
          @Override
          public KnnVectorsFormat getKnnVectorsFormatForField(String field) {
            return format;
          }
        });
    try (IndexWriter writer = new IndexWriter(directory, config)) {
      int batch = 10_000;
      for (int from = 0; from < n; from += batch) {
        int count = Math.min(batch, n - from);
        float[] vectors = VectorFiles.read(base, d, from, count);
        for (int i = 0; i < count; i++) {
          Document doc = new Document();
          doc.add(new KnnFloatVectorField(FIELD, Arrays.copyOfRange(vectors, i * d, (i + 1) * d),
              VectorSimilarityFunction.EUCLIDEAN));
          doc.add(new NumericDocValuesField(ROW, from + i));
          writer.addDocument(doc);
        }
      }
      writer.forceMerge(1);
    }
  }

  /** Each document's row number, by global doc id. */
  private static long[] rows(DirectoryReader reader) throws IOException {
    long[] rowOfDoc = new long[reader.maxDoc()];
    for (LeafReaderContext leaf : reader.leaves()) {
      NumericDocValues rows = leaf.reader().getNumericDocValues(ROW);
      for (int doc = rows.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = rows.nextDoc()) {
        rowOfDoc[leaf.docBase + doc] = rows.longValue();
      }
    }
    return rowOfDoc;
  }

  private static Map<String, Object> measure(IndexSearcher searcher, float[] queries, int nq, int d, long[] truth,
      long[] rowOfDoc, int candidates) throws IOException, InterruptedException {
    long[][] nanos = new long[PASSES][nq];
    int hits = 0;
    for (int pass = -1; pass < PASSES; pass++) { // pass -1 warms up
      for (int q = 0; q < nq; q++) {
        float[] query = Arrays.copyOfRange(queries, q * d, (q + 1) * d);
        long t = System.nanoTime();
        TopDocs top = searcher.search(new KnnFloatVectorQuery(FIELD, query, candidates), candidates);
        long took = System.nanoTime() - t;
        if (pass >= 0) {
          nanos[pass][q] = took;
        }
        if (pass == 0) {
          hits += contains(top.scoreDocs, rowOfDoc, truth[q * K]) ? 1 : 0;
        }
      }
    }
    long[] perQuery = new long[nq];
    for (int q = 0; q < nq; q++) {
      long[] times = {nanos[0][q], nanos[1][q], nanos[2][q]};
      Arrays.sort(times);
      perQuery[q] = times[1];
    }
    Arrays.sort(perQuery);
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("candidates", candidates);
    row.put("recall_at_10", Numbers.round(hits / (double) nq, 4));
    row.put("p50_ms", Numbers.round(Numbers.percentile(perQuery, 0.5) / 1e6, 4));
    row.put("p99_ms", Numbers.round(Numbers.percentile(perQuery, 0.99) / 1e6, 4));
    row.put("qps_2_threads", Numbers.round(qpsTwoThreads(searcher, queries, nq, d, candidates), 1));
    System.err.println("[peers] lucene " + row);
    return row;
  }

  private static boolean contains(ScoreDoc[] docs, long[] rowOfDoc, long row) {
    for (int i = 0; i < Math.min(K, docs.length); i++) {
      if (rowOfDoc[docs[i].doc] == row) {
        return true;
      }
    }
    return false;
  }

  private static double qpsTwoThreads(IndexSearcher searcher, float[] queries, int nq, int d, int candidates)
      throws InterruptedException {
    return TwoThreadThroughput.measure(() -> { }, q -> searcher.search(new KnnFloatVectorQuery(FIELD,
        Arrays.copyOfRange(queries, (q % nq) * d, (q % nq + 1) * d), candidates), candidates));
  }

  private static long[] readTruth(Path file, int nq) throws IOException {
    ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    long[] ids = new long[nq * K];
    bytes.asLongBuffer().get(ids);
    return ids;
  }

  private static long directoryBytes(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.mapToLong(f -> f.toFile().length()).sum();
    }
  }
}

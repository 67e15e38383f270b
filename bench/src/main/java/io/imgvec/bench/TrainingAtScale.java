package io.imgvec.bench;

import io.imgvec.faiss.FaissIndex;
import io.imgvec.faiss.GaussianClusters;
import io.imgvec.faiss.Metric;
import io.imgvec.faiss.SearchParams;
import io.imgvec.io.Json;
import io.imgvec.util.Numbers;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.LongStream;

/**
 * The 1B x 512 build's costs, timed at its real size: the driver's training ({@code 39 x nlist} sample vectors of
 * 4,000 Zipf-sized anisotropic clusters trained into the index such a build makes, as build-index trains it: balanced
 * lists, two-level k-means), then what an executor core spends per vector: adding to that trained index on one
 * thread, and the exact neighbours of the held-out queries (brute force over a block of base vectors, as each task
 * finds them in its partition). What bench/projection_1b.py projects the build from. Prints one JSON object.
 *
 * <p>Usage: TrainingAtScale <factory> <dimension> <nlist> <max list factor>
 */
public final class TrainingAtScale {
  private static final int POINTS_PER_CENTROID = 39; // index.train-points-per-centroid's default
  private static final int TIMED_ADDS = 20_000;
  private static final int QUERIES = 1000; // index.eval-queries' default
  private static final int TRUTH_BASE = 100_000;

  public static void main(String[] args) throws Exception {
    String factory = args[0];
    int d = Integer.parseInt(args[1]);
    int nlist = Integer.parseInt(args[2]);
    double maxListFactor = Double.parseDouble(args[3]);
    int n = POINTS_PER_CENTROID * nlist;
    GaussianClusters clusters = new GaussianClusters(d, 4000, 16, 29, 1.1);
    float[] sample = clusters.next(n);
    System.err.println("[bench] training " + factory + " on " + n + " x " + d + " vectors");
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("factory", factory);
    report.put("train_points", n);
    report.put("dimension", d);
    report.put("cores", Runtime.getRuntime().availableProcessors());
    try (FaissIndex index = FaissIndex.create(d, factory, Metric.L2)) {
      long start = System.nanoTime();
      report.put("lists_split", index.trainWithBalancedLists(sample, n, maxListFactor));
      report.put("train_s", Numbers.round(seconds(start), 2));
      sample = null; // the training sample's 5 GB go before the timed add
      FaissIndex.setThreads(1); // an executor task adds and finds its truth on one core
      float[] added = clusters.next(TIMED_ADDS);
      start = System.nanoTime();
      index.add(added, LongStream.range(0, TIMED_ADDS).toArray(), TIMED_ADDS);
      report.put("add_us_per_vector_one_thread", Numbers.round(seconds(start) / TIMED_ADDS * 1e6, 2));
    }
    try (FaissIndex base = FaissIndex.create(d, "IDMap,Flat", Metric.L2)) {
      base.add(clusters.next(TRUTH_BASE), LongStream.range(0, TRUTH_BASE).toArray(), TRUTH_BASE);
      long start = System.nanoTime();
      base.search(clusters.next(QUERIES), QUERIES, 10, SearchParams.DEFAULT);
      report.put("truth_us_per_base_vector_for_" + QUERIES + "_queries_one_thread",
          Numbers.round(seconds(start) / TRUTH_BASE * 1e6, 3));
    }
    System.out.println(Json.PRETTY.writeValueAsString(report));
  }

  private static double seconds(long start) {
    return (System.nanoTime() - start) / 1e9;
  }
}

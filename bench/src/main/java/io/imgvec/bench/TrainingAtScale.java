package io.imgvec.bench;

import io.imgvec.faiss.FaissIndex;
import io.imgvec.faiss.GaussianClusters;
import io.imgvec.faiss.Metric;
import io.imgvec.io.Json;
import io.imgvec.util.Numbers;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The driver's training for a 1B x 512 build, timed at its real size: {@code 39 x nlist} sample vectors (4,000
 * Zipf-sized anisotropic clusters) trained into the index such a build makes, as build-index trains it (balanced
 * lists, two-level k-means). What bench/projection_1b.py takes as the driver's training time. Prints one JSON object.
 *
 * <p>Usage: TrainingAtScale <factory> <dimension> <nlist> <max list factor>
 */
public final class TrainingAtScale {
  private static final int POINTS_PER_CENTROID = 39; // index.train-points-per-centroid's default

  public static void main(String[] args) throws Exception {
    String factory = args[0];
    int d = Integer.parseInt(args[1]);
    int nlist = Integer.parseInt(args[2]);
    double maxListFactor = Double.parseDouble(args[3]);
    int n = POINTS_PER_CENTROID * nlist;
    float[] sample = new GaussianClusters(d, 4000, 16, 29, 1.1).next(n);
    System.err.println("[bench] training " + factory + " on " + n + " x " + d + " vectors");
    try (FaissIndex index = FaissIndex.create(d, factory, Metric.L2)) {
      long start = System.nanoTime();
      int split = index.trainWithBalancedLists(sample, n, maxListFactor);
      double seconds = (System.nanoTime() - start) / 1e9;
      Map<String, Object> report = new LinkedHashMap<>();
      report.put("factory", factory);
      report.put("train_points", n);
      report.put("dimension", d);
      report.put("train_s", Numbers.round(seconds, 2));
      report.put("cores", Runtime.getRuntime().availableProcessors());
      report.put("lists_split", split);
      System.out.println(Json.PRETTY.writeValueAsString(report));
    }
  }
}

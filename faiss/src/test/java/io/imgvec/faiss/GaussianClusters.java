package io.imgvec.faiss;

import java.util.Random;

/**
 * Synthetic vectors for tests and benchmarks: {@code clusters} Gaussian clusters in {@code d} dimensions. Centres
 * ~ N(0, I), so centres lie about sqrt(2d) apart (32 at d=512). Each cluster's covariance is A·Aᵀ + σ²·I with A a
 * random d×{@code rank} matrix of N(0, 2/rank) entries: its RMS radius is sqrt(2d), the same as the distance between
 * centres, and like real embeddings the points concentrate near a low-dimensional subspace. σ = 0.1. On such data
 * FAISS's k-means leaves hub lists (clusters that got no centroid crowd into a few lists). Cluster sizes are equal
 * in expectation, or follow a Zipf law (cluster k drawn with probability ∝ (k+1)^-s): with 2,000 clusters and
 * s = 1.1 the largest holds about 17% of the vectors, like a catalogue where a few categories dominate.
 */
public final class GaussianClusters {
  private final int d;
  private final int rank;
  private final float[][] centres;
  private final float[][] bases;
  private final Random random;
  private final double[] cumulativeShare; // null: clusters equally likely

  public GaussianClusters(int d, int clusters, int rank, long seed) {
    this(d, clusters, rank, seed, 0);
  }

  public GaussianClusters(int d, int clusters, int rank, long seed, double zipfExponent) {
    this.d = d;
    this.rank = rank;
    this.random = new Random(seed);
    this.centres = new float[clusters][d];
    this.bases = new float[clusters][d * rank];
    double scale = Math.sqrt(2.0 / rank);
    for (int k = 0; k < clusters; k++) {
      for (int i = 0; i < d; i++) {
        centres[k][i] = (float) random.nextGaussian();
      }
      for (int i = 0; i < d * rank; i++) {
        bases[k][i] = (float) (random.nextGaussian() * scale);
      }
    }
    cumulativeShare = zipfExponent > 0 ? zipfCumulative(clusters, zipfExponent) : null;
  }

  private static double[] zipfCumulative(int clusters, double exponent) {
    double[] c = new double[clusters];
    double sum = 0;
    for (int k = 0; k < clusters; k++) {
      sum += Math.pow(k + 1, -exponent);
      c[k] = sum;
    }
    for (int k = 0; k < clusters; k++) {
      c[k] /= sum;
    }
    return c;
  }

  private int nextCluster() {
    if (cumulativeShare == null) {
      return random.nextInt(centres.length);
    }
    int k = java.util.Arrays.binarySearch(cumulativeShare, random.nextDouble());
    return Math.min(centres.length - 1, k >= 0 ? k : -k - 1);
  }

  /** Draws from here on follow {@code seed}; the clusters stay (how parallel writers draw different vectors). */
  public void reseed(long seed) {
    random.setSeed(seed);
  }

  /** Writes the next vector into {@code out} (d floats). */
  public void next(float[] out) {
    int k = nextCluster();
    float[] z = new float[rank];
    for (int j = 0; j < rank; j++) {
      z[j] = (float) random.nextGaussian();
    }
    float[] a = bases[k];
    for (int i = 0; i < d; i++) {
      float v = centres[k][i] + 0.1f * (float) random.nextGaussian();
      for (int j = 0; j < rank; j++) {
        v += a[i * rank + j] * z[j];
      }
      out[i] = v;
    }
  }

  /** The next {@code n} vectors, row after row. */
  public float[] next(int n) {
    float[] vectors = new float[n * d];
    float[] one = new float[d];
    for (int p = 0; p < n; p++) {
      next(one);
      System.arraycopy(one, 0, vectors, p * d, d);
    }
    return vectors;
  }
}

package io.imgvec.index;

import java.util.HashSet;
import java.util.Set;

/** Vectors held in an array, for tests: clustered Gaussian data or given values. */
final class ArrayVectorSource implements VectorSource {
  final float[][] vectors;
  final String[] modelIds;
  /** Image ids (null: "img-" + position) and content digests (null: none). */
  private final String[] imageIds;
  private final String[] digests;

  ArrayVectorSource(float[][] vectors, String[] modelIds) {
    this(vectors, modelIds, null, null);
  }

  ArrayVectorSource(float[][] vectors, String[] modelIds, String[] imageIds, String[] digests) {
    this.vectors = vectors;
    this.modelIds = modelIds;
    this.imageIds = imageIds;
    this.digests = digests;
  }

  static ArrayVectorSource clustered(int n, int d, int clusters, long seed) {
    java.util.Random r = new java.util.Random(seed);
    float[][] centers = new float[clusters][d];
    for (float[] c : centers) {
      for (int i = 0; i < d; i++) {
        c[i] = (float) r.nextGaussian() * 3;
      }
    }
    float[][] v = new float[n][d];
    for (int j = 0; j < n; j++) {
      float[] c = centers[r.nextInt(clusters)];
      for (int i = 0; i < d; i++) {
        v[j][i] = c[i] + (float) r.nextGaussian();
      }
    }
    String[] models = new String[n];
    java.util.Arrays.fill(models, "test-model@sha256:00");
    return new ArrayVectorSource(v, models);
  }

  @Override
  public Stats stats() {
    Set<Integer> dims = new HashSet<>();
    for (float[] v : vectors) {
      dims.add(v.length);
    }
    return new Stats(vectors.length, dims, new HashSet<>(java.util.Arrays.asList(modelIds)));
  }

  /** Metadata: "group" = "g" + i % 100 (few ids each), "parity" = even or odd (half of the ids each). */
  @Override
  public java.util.List<String> metadataColumns() {
    return java.util.List.of("group", "parity");
  }

  static String groupOf(int i) {
    return "g" + i % 100;
  }

  @Override
  public void scan(int batchSize, BatchConsumer consumer) throws java.io.IOException {
    int d = vectors.length == 0 ? 0 : vectors[0].length;
    for (int start = 0; start < vectors.length; start += batchSize) {
      int n = Math.min(batchSize, vectors.length - start);
      float[] flat = new float[n * d];
      String[] ids = new String[n];
      String[] uris = new String[n];
      String[][] metadata = new String[n][];
      String[] batchDigests = digests == null ? null : java.util.Arrays.copyOfRange(digests, start, start + n);
      for (int i = 0; i < n; i++) {
        System.arraycopy(vectors[start + i], 0, flat, i * d, d);
        ids[i] = imageIds == null ? "img-" + (start + i) : imageIds[start + i];
        uris[i] = "file:/images/" + (start + i) + ".jpg";
        metadata[i] = new String[] {groupOf(start + i), (start + i) % 2 == 0 ? "even" : "odd"};
      }
      consumer.accept(new Batch(flat, ids, uris, metadata, batchDigests, n, d));
    }
  }
}

package io.imgvec.index;

import io.imgvec.faiss.FaissIndex;
import io.imgvec.faiss.Metric;
import io.imgvec.faiss.SearchParams;
import io.imgvec.faiss.SearchWork;
import io.imgvec.faiss.VectorSearch;
import io.imgvec.io.Json;
import io.imgvec.io.LocalFiles;
import io.imgvec.published.RerankedSearch;
import io.imgvec.published.Sq8Vectors;
import io.imgvec.util.Numbers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

/**
 * A query's latency predicted from the work FAISS counts for it ({@link FaissIndex#searchWork}: codes scanned,
 * lists probed, coarse distances) at per-unit costs calibrated once per machine. Choosing an index and its nprobe
 * from counts rather than from timings means a busy moment of the machine cannot flip the choice: the same data
 * gives the same index on the driver, distributed, or in a second fresh build.
 *
 * <p>Calibration times single-query searches of reference indexes of random vectors, with their lists grown past
 * the caches (as a full index's are), and fits the costs by least squares, none negative; the predicted p99 is
 * scaled by how far measured p99s sat above predicted ones there. It is timed on a steady machine
 * ({@link MachineSpeed#onSteadyMachine}): costs fitted in a slow stretch would overprice every choice. It takes about
 * a minute and a half and is kept in a file per machine and metric ({@code index.latency-model-file}); delete the
 * file to calibrate again.
 */
public final class LatencyModel {
  /**
   * The cost terms: per query, per dimension of a centroid scanned by a flat quantizer and of one an HNSW quantizer
   * visits (at random: costlier), per list and code, per code byte, per dimension of a full vector scanned, of a
   * stored vector re-ranked, and of a vector an HNSW graph index compares (at random, beside the graph walk's
   * visited-set and heap work: about four times a scanned one's).
   */
  static final List<String> TERMS = List.of("query", "centroid_dimension", "graph_centroid_dimension", "list",
      "list_code_byte", "code", "code_byte", "full_vector_dimension", "reranked_dimension", "graph_vector_dimension");
  private static final int D = 256;
  private static final int BASE = 20_000;
  /** The graph reference's vectors: 80 MB of them and 20 MB of links, past the caches as a full graph's are. */
  private static final int GRAPH_VECTORS = 80_000;
  private static final int QUERIES = 200;
  private static final int PASSES = 3;

  /**
   * A reference index: factory, count its lists are grown to (a Flat or graph one: its vectors), settings timed
   * (nprobe, or a graph's efSearch). Flat indexes of a few thousand vectors time the exhaustive scan a flat coarse
   * quantizer of that many centroids does; PQ
   * indexes with short lists (40 codes) and long ones (4,000-8,000) tell the cost of a list (its lookup tables)
   * from the cost of its codes. One re-ranks 100 candidates a result ({@code kFactor}) against stored vectors. The
   * HNSW quantizer of 4,096 centroids (5 MB with its links, visited at random, as a full build's 2,048 x 384 are)
   * has lists of 5 codes, so its graph's cost is told apart from the lists'; one of 2,048 with lists of 150 codes
   * is shaped as the full builds that pick an HNSW quantizer are. An HNSW graph index of 80,000 vectors (100 MB with
   * its links, past the caches as a full graph's are; 20,000 of them fit a 32 MB cache and priced a compared vector
   * a fifth lower) is timed at efSearch 16, 64 and 256.
   */
  private record Reference(String factory, int pqM, long grownTo, int[] settings, int kFactor) {
    Reference(String factory, int pqM, long grownTo, int[] settings) {
      this(factory, pqM, grownTo, settings, 0);
    }

    boolean graph() {
      return factory.startsWith("IDMap,HNSW");
    }

    /** Setting {@code s}: a graph's efSearch, else nprobe (an HNSW quantizer's efSearch keeping up with it). */
    SearchParams params(int s) {
      return graph() ? new SearchParams(0, s, 0) : IndexEvaluator.params(s, 0, factory.contains("HNSW"));
    }
  }

  /** One timed setting of a reference: its counted work and its measured p50 and p99. */
  private record Timed(Reference ref, int setting, SearchWork work, double measuredP50Ms, double measuredP99Ms) {}

  private static final List<Reference> REFERENCES = List.of(
      new Reference("Flat", 0, 4096, new int[] {1}),
      new Reference("Flat", 0, 16_384, new int[] {1}),
      new Reference("IVF512,Flat", 0, 100_000, new int[] {1, 4, 16, 64}),
      new Reference("IVF256,PQ16np", 16, 2_000_000, new int[] {1, 4, 16}),
      new Reference("IVF256,PQ64np", 64, 1_000_000, new int[] {1, 4, 16}),
      new Reference("IVF512,PQ16np", 16, BASE, new int[] {1, 16, 64}),
      new Reference("IVF512,PQ64np", 64, BASE, new int[] {1, 16, 64}),
      new Reference("IVF512,PQ16np", 16, BASE, new int[] {1, 16}, 100),
      new Reference("IVF512_HNSW32,PQ32np", 32, 1_000_000, new int[] {1, 4, 16, 64}),
      new Reference("IVF4096_HNSW32,PQ16np", 16, BASE, new int[] {8, 32, 64, 128}),
      new Reference("IVF2048_HNSW32,PQ32np", 32, 300_000, new int[] {16, 64}),
      new Reference("IDMap,HNSW32", 0, GRAPH_VECTORS, new int[] {16, 64, 256}));

  private final double[] nanos;
  private final double p99Factor;
  private final Map<String, Object> calibration;

  private LatencyModel(double[] nanos, double p99Factor, Map<String, Object> calibration) {
    this.nanos = nanos;
    this.p99Factor = p99Factor;
    this.calibration = calibration;
  }

  /**
   * The model for this machine and metric: read from {@code file} (empty: {@code ~/.cache/imgvec/latency-model.json})
   * when it was calibrated here, else calibrated now and saved there.
   */
  public static LatencyModel forThisMachine(Metric metric, String file, Consumer<String> progress) {
    Path path = file.isEmpty() ? Path.of(System.getProperty("user.home"), ".cache", "imgvec", "latency-model.json")
        : Path.of(file);
    String machine = machineKey(metric);
    Map<String, Object> saved = readSaved(path);
    if (saved.get(machine) instanceof Map<?, ?> entry) {
      try {
        return fromMap(entry);
      } catch (RuntimeException e) { // an entry edited or cut short: calibrated again and rewritten
        progress.accept("the latency model in " + path + " is unusable (" + e + ")");
      }
    }
    progress.accept("calibrating the latency model for this machine (once; saved in " + path + ")");
    MachineSpeed.Steady<LatencyModel> calibrated = MachineSpeed.onSteadyMachine(() -> calibrate(metric));
    LatencyModel model = calibrated.result();
    model.calibration.put("machine_speed", calibrated.state().asMap());
    saved.put(machine, model.asMap());
    try {
      LocalFiles.writeAtomically(path, Json.PRETTY.writeValueAsBytes(saved));
    } catch (IOException e) {
      progress.accept("could not save the latency model in " + path + " (" + e.getMessage() + "); it is used once");
    }
    return model;
  }

  /**
   * The work's features for one query of an index of dimension {@code d} with {@code pqM}-byte codes (0: full
   * vectors), its codes scaled by {@code scale} (a sample's index standing for the full count).
   */
  static double[] features(SearchWork work, int q, double scale, int d, int pqM) {
    double codes = work.codes(q) * scale;
    boolean graph = work.lists(q) == 0; // codes outside any list: the vectors a graph index compared
    return new double[] {1, (double) d * work.flatCentroids(q), (double) d * work.graphDistances(q),
        work.lists(q), (double) work.lists(q) * pqM, graph ? 0 : codes, graph ? 0 : codes * pqM,
        pqM == 0 && !graph ? codes * d : 0, (double) work.reranked(q) * d, graph ? codes * d : 0};
  }

  /** Predicted p99 latency (ms) of the queries' work, as a single-query search on one thread measures it. */
  public double p99Ms(SearchWork work, double scale, int d, int pqM) {
    return p99Factor * percentileMs(work, scale, d, pqM, 0.99);
  }

  /** Predicted median latency (ms). */
  public double p50Ms(SearchWork work, double scale, int d, int pqM) {
    return percentileMs(work, scale, d, pqM, 0.50);
  }

  private double percentileMs(SearchWork work, double scale, int d, int pqM, double p) {
    long[] predicted = new long[work.queries()];
    for (int q = 0; q < predicted.length; q++) {
      predicted[q] = Math.round(predictNs(features(work, q, scale, d, pqM)));
    }
    Arrays.sort(predicted);
    return Numbers.percentile(predicted, p) / 1e6;
  }

  private double predictNs(double[] features) {
    double ns = 0;
    for (int t = 0; t < nanos.length; t++) {
      ns += nanos[t] * features[t];
    }
    return ns;
  }

  /** The calibrated costs, for the manifest. */
  public Map<String, Object> asMap() {
    Map<String, Object> costs = new LinkedHashMap<>();
    for (int t = 0; t < TERMS.size(); t++) {
      costs.put(TERMS.get(t), Numbers.round(nanos[t], 5));
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("nanoseconds_per_unit", costs);
    out.put("p99_factor", Numbers.round(p99Factor, 4));
    out.putAll(calibration);
    return out;
  }

  @SuppressWarnings("unchecked")
  private static LatencyModel fromMap(Map<?, ?> entry) {
    Map<String, Object> costs = (Map<String, Object>) entry.get("nanoseconds_per_unit");
    double[] nanos = TERMS.stream().mapToDouble(t -> ((Number) costs.get(t)).doubleValue()).toArray();
    Map<String, Object> calibration = new LinkedHashMap<>((Map<String, Object>) entry);
    calibration.remove("nanoseconds_per_unit");
    calibration.remove("p99_factor");
    return new LatencyModel(nanos, ((Number) entry.get("p99_factor")).doubleValue(), calibration);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> readSaved(Path path) {
    try {
      return Files.exists(path) ? Json.MAPPER.readValue(path.toFile(), LinkedHashMap.class) : new LinkedHashMap<>();
    } catch (IOException e) {
      return new LinkedHashMap<>(); // unreadable: calibrated again and rewritten
    }
  }

  /**
   * What the costs hold for: this host, its processor and cores, the metric, how latency is timed and which distance
   * loops run (costs fitted to another statistic, to Java re-ranking 7x slower or to FAISS's plain loops 4x slower,
   * are calibrated again).
   */
  static String machineKey(Metric metric) {
    return MachineSpeed.machine() + " | " + metric + " | per-query medians | native re-ranking | shim distance loops"
        + " | graph index past the caches";
  }

  /** Times the reference searches and fits the costs. */
  static LatencyModel calibrate(Metric metric) {
    long start = System.nanoTime();
    Random random = new Random(42);
    float[] base = gaussian(random, BASE);
    float[] queries = gaussian(random, QUERIES);
    List<double[]> rows = new ArrayList<>();
    List<Double> times = new ArrayList<>();
    List<Timed> timed = new ArrayList<>();
    for (Reference ref : REFERENCES) {
      try (FaissIndex codes = reference(ref, base, metric)) {
        VectorSearch index = ref.kFactor() == 0 ? codes : new RerankedSearch(codes,
            Sq8Vectors.inMemory(Sq8Vectors.Codec.train(base, BASE, D), base, BASE), metric, ref.kFactor());
        for (int setting : ref.settings()) {
          SearchParams params = ref.params(setting);
          SearchWork work = index.searchWork(queries, QUERIES, IndexEvaluator.K, params);
          double[] perQuery = new double[QUERIES];
          double[] measured = timeQueries(index, queries, params, perQuery);
          for (int q = 0; q < QUERIES; q++) {
            rows.add(features(work, q, 1, D, ref.pqM()));
            times.add(perQuery[q]);
          }
          timed.add(new Timed(ref, setting, work, measured[0], measured[1]));
        }
      }
    }
    double[] nanos = LeastSquares.nonNegativeRelative(rows, times);
    LatencyModel unscaled = new LatencyModel(nanos, 1, Map.of());
    double[] ratios = timed.stream().mapToDouble(t -> t.measuredP99Ms() / unscaled.p99Ms(t.work(), 1, D,
        t.ref().pqM()))
        .toArray();
    double p99Factor = Numbers.median(ratios);
    List<Map<String, Object>> fit = new ArrayList<>();
    for (Timed t : timed) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("factory", t.ref().factory());
      row.put(t.ref().graph() ? "ef_search" : "nprobe", t.setting());
      row.put("measured_p50_ms", Numbers.round(t.measuredP50Ms(), 4));
      row.put("predicted_p50_ms", Numbers.round(unscaled.p50Ms(t.work(), 1, D, t.ref().pqM()), 4));
      row.put("measured_p99_ms", Numbers.round(t.measuredP99Ms(), 4));
      row.put("predicted_p99_ms", Numbers.round(p99Factor * unscaled.p99Ms(t.work(), 1, D, t.ref().pqM()), 4));
      fit.add(row);
    }
    Map<String, Object> calibration = new LinkedHashMap<>();
    calibration.put("calibrated", Instant.now().toString());
    calibration.put("queries_timed", rows.size());
    calibration.put("calibration_s", IndexBuilder.seconds(start));
    calibration.put("fit", fit);
    return new LatencyModel(nanos, p99Factor, calibration);
  }

  /**
   * A reference index: Flat over the first vectors of {@code base}, or IVF with quick one-round k-means (its
   * centroids only spread the lists), lists grown.
   */
  private static FaissIndex reference(Reference ref, float[] base, Metric metric) {
    FaissIndex index = FaissIndex.create(D, ref.factory(), metric);
    if (ref.factory().equals("Flat")) {
      index.add(base, (int) ref.grownTo());
      return index;
    }
    if (ref.graph()) { // vectors of its own: a graph cannot be grown as lists are
      index.add(gaussian(new Random(7), GRAPH_VECTORS), CandidateSelector.sequentialIds(GRAPH_VECTORS),
          GRAPH_VECTORS);
      return index;
    }
    int nlist = Integer.parseInt(ref.factory().replaceAll("^IVF(\\d+).*", "$1"));
    try (FaissIndex centroids = FaissIndex.create(D, "IVF" + nlist + ",Flat", metric)) {
      centroids.trainWithBalancedLists(base, BASE, 0, 1);
      index.trainFrom(centroids, base, Math.min(BASE, CandidateSelector.QUICK_TRAIN_VECTORS), true);
      index.add(base, CandidateSelector.sequentialIds(BASE), BASE);
      index.growLists(ref.grownTo());
      return index;
    } catch (RuntimeException e) {
      index.close();
      throw e;
    }
  }

  /**
   * Times each query alone on one thread in {@value #PASSES} passes after a warm-up: each query's median time (ns)
   * into {@code perQuery}; returns their p50 and p99 in ms, as {@link IndexEvaluator#measure} reports them.
   */
  private static double[] timeQueries(VectorSearch index, float[] queries, SearchParams params, double[] perQuery) {
    long[] medians = IndexEvaluator.timeEachQuery(index, queries, QUERIES, D, params, PASSES);
    for (int q = 0; q < QUERIES; q++) {
      perQuery[q] = medians[q];
    }
    return IndexEvaluator.percentilesMs(medians);
  }

  private static float[] gaussian(Random random, int n) {
    float[] v = new float[n * D];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) random.nextGaussian();
    }
    return v;
  }
}

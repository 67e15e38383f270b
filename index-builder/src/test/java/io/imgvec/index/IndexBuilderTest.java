package io.imgvec.index;

import static io.imgvec.faiss.FaissIndex.onOneThread;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgvec.config.ImgvecConfig;
import io.imgvec.faiss.Metric;
import io.imgvec.published.HeldOutQueries;
import io.imgvec.published.PublishedIndex;
import io.imgvec.published.SearchLimitException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IndexBuilderTest {
  @TempDir
  Path tmp;

  static IndexBuilder.Options options(Map<String, String> settings) {
    return IndexBuilder.Options.from(ImgvecConfig.of(settings));
  }

  @Test
  void plannerFollowsItsDocumentedRules() {
    IndexPlan tiny = IndexPlanner.plan("auto", 500, 64, 1L << 30, 0, 0, 0, 64, Metric.L2);
    assertEquals("IDMap,Flat", tiny.factory());
    IndexPlan roomy = IndexPlanner.plan("auto", 100_000, 128, 1L << 30, 0, 0, 0, 64, Metric.L2);
    assertEquals("IVF1024,Flat", roomy.factory());
    assertEquals(64 * 1024, roomy.trainSize()); // 64 points per list, as passed
    IndexPlan tight = IndexPlanner.plan("auto", 1_000_000, 512, 100L << 20, 0, 0, 0, 64, Metric.L2);
    assertEquals("IVF1024,PQ64np", tight.factory()); // 4·√(1M·64/512) = 1414 → 1024
    IndexPlan fashion = IndexPlanner.plan("IVF-PQ", 60_000, 784, 1L << 30, 0, 0, 0, 64, Metric.L2);
    assertEquals(0, 784 % fashion.pqM());
    assertThrows(IndexBuildException.class,
        () -> IndexPlanner.plan("IVF-Flat", 1000, 64, 1L << 30, 1024, 0, 0, 64, Metric.L2));
    IndexBuildException pq = assertThrows(IndexBuildException.class,
        () -> IndexPlanner.plan("IVF-PQ", 100_000, 100, 1L << 30, 0, 7, 0, 64, Metric.L2));
    assertTrue(pq.getMessage().contains("must divide the dimension"), pq.getMessage());
    assertThrows(IndexBuildException.class,
        () -> IndexPlanner.plan("auto", 10_000_000, 512, 10L << 20, 0, 0, 0, 64, Metric.L2));
  }

  @Test
  void candidatesCoverNlistsAndCodeSizesWithinTheBudget() {
    List<String> tight = IndexPlanner.candidates(1_000_000, 512, 100L << 20, 64, Metric.L2).stream()
        .map(IndexPlan::factory).toList();
    assertEquals(List.of("IVF4096,PQ64np", "IVF4096,PQ32np", "IVF2048,PQ64np", "IVF2048,PQ32np", "IVF1024,PQ64np",
        "IVF1024,PQ32np"), tight);
    List<IndexPlan> roomy = IndexPlanner.candidates(100_000, 128, 1L << 30, 64, Metric.L2);
    assertEquals(List.of("IVF1024,Flat", "IVF1024,PQ32np", "IVF1024,PQ16np", "IVF1024,PQ8np,RSQ8x8", "IVF512,Flat",
        "IVF512,PQ32np", "IVF512,PQ16np", "IVF512,PQ8np,RSQ8x8", "IVF256,Flat", "IVF256,PQ32np", "IVF256,PQ16np",
        "IVF256,PQ8np,RSQ8x8", "IDMap,HNSW32"), roomy.stream().map(IndexPlan::name).toList()); // PQ: at least 4
    // dimensions per byte; the graph (4 x 128 + 8 + 272 bytes a vector) where it fits
    assertEquals(100_000L * (4 * 128 + 8 + 272), IndexPlanner.estimatedBytes(roomy.get(roomy.size() - 1), 100_000,
        128));
    assertTrue(IndexPlanner.candidates(100_000, 128, 70L << 20, 64, Metric.L2).stream().noneMatch(IndexPlan::isGraph),
        "no graph where its 78 MB exceed the budget");
    assertEquals(List.of(), IndexPlanner.candidates(100_000, 128, 10L << 20, 64, Metric.L2).stream()
        .filter(IndexPlan::refines).toList(), "a refine stage only where its 128 bytes a vector fit");
    roomy.forEach(p -> assertEquals(p.isGraph() ? 0 : 64 * Math.max(256, p.nlist()), p.trainSize(),
        "as a single build trains: " + p));
    assertEquals("IVF1024_HNSW32,Flat", roomy.get(0).withHnswQuantizer().factory());
  }

  @Test
  @SuppressWarnings("unchecked")
  void autoBuildsTheBestMeasuredCandidateAndAFreshBuildChoosesTheSame() throws Exception {
    ArrayVectorSource source = ArrayVectorSource.clustered(40_000, 64, 200, 11);
    // the default latency target: the choice rests on counted work, not on timings a busy machine could move
    IndexBuilder.Options auto = options(Map.of("index.eval-queries", "300"));
    IndexBuilder.BuiltIndex built = new IndexBuilder(source, auto, m -> { }).build(tmp.resolve("s1"));
    Map<String, Object> first = built.manifest();
    Map<String, Object> second = new IndexBuilder(source, auto, m -> { }).build(tmp.resolve("s2")).manifest();

    Map<String, Object> selection = (Map<String, Object>) first.get("selection");
    List<Map<String, Object>> candidates = (List<Map<String, Object>>) selection.get("candidates");
    List<Long> sizes = candidates.stream().filter(c -> !((String) c.get("factory")).matches(".*(_HNSW|RSQ8).*"))
        .map(c -> ((Number) c.get("bytes")).longValue()).toList();
    assertEquals(sizes.stream().sorted().toList(), sizes, "measured smallest first (twins right after theirs)");
    assertTrue(candidates.stream().anyMatch(c -> ((String) c.get("factory")).endsWith(",RSQ8x8")),
        "PQ codes that miss the target are measured with a refine stage too: " + candidates);
    String score = "recall_at_10_at_latency_limit";
    for (Map<String, Object> earlier : candidates.subList(0, candidates.size() - 1)) {
      assertTrue(!(boolean) earlier.get("within_latency_limit") || (double) earlier.get(score) < 0.99,
          "measuring stops at the first candidate that reaches the recall target: " + earlier);
    }
    Map<String, Object> index = (Map<String, Object>) first.get("index");
    String winnerName = (String) selection.get("winner");
    assertTrue(winnerName.startsWith((String) index.get("factory")), winnerName + " built as " + index);
    assertEquals(((String) index.get("factory")).contains(",PQ"), index.containsKey("refine"),
        "a PQ winner is built refined: re-ranked, or keeping vectors for filters (the source has metadata columns)");
    if (index.containsKey("refine")) {
      Map<String, Object> searched = (Map<String, Object>) ((Map<String, Object>) first.get("latency_measurement"))
          .get("search_parameters");
      assertEquals(index.get("k_factor"), searched.get("k_factor"), "the tuned k_factor is the published one");
    }
    Map<String, Object> timings = (Map<String, Object>) first.get("timings");
    assertTrue((double) timings.get("train_s") > 0, "the winner's full training is timed: " + timings);
    Map<String, Object> winner = candidates.stream().filter(c -> c.get("factory").equals(selection.get("winner")))
        .findFirst().orElseThrow();
    double best = candidates.stream().filter(c -> (boolean) c.get("within_latency_limit"))
        .mapToDouble(c -> (double) c.get(score)).max().orElseThrow();
    assertTrue((double) winner.get(score) >= best - CandidateChoice.RECALL_TIE, "a better one lost");
    for (Map<String, Object> skipped : (List<Map<String, Object>>) selection.get("skipped")) {
      assertTrue((double) skipped.get("recall_at_10_at_most") <= best, "skipped below the best so far: " + skipped);
    }
    for (Map<String, Object> c : candidates) {
      if ((boolean) c.get("within_latency_limit")) {
        assertTrue((double) c.get("predicted_p99_ms") <= (double) selection.get("latency_limit_ms"), c.toString());
      }
      if ((boolean) c.get("within_latency_limit") && (double) c.get(score) >= best - CandidateChoice.RECALL_TIE) {
        assertTrue((long) c.get("bytes") >= (long) winner.get("bytes"), "a tie goes to the smaller index: " + c);
      }
    }
    assertEquals(withoutTimes(candidates), withoutTimes((List<Map<String, Object>>) ((Map<String, Object>) second
        .get("selection")).get("candidates")), "a second fresh build measures every candidate alike");
    Map<String, Object> again = (Map<String, Object>) second.get("index");
    assertEquals(index.get("factory"), again.get("factory"), "and chooses the same index");
    assertEquals(index.get("nprobe"), again.get("nprobe"), "and the same nprobe");

    Map<String, Object> method = (Map<String, Object>) first.get("latency_measurement");
    assertEquals(300, method.get("queries"));
    assertEquals(index.get("max_codes"), ((Map<String, Object>) method.get("search_parameters")).get("max_codes"));
    Map<String, Object> speed = (Map<String, Object>) method.get("machine_speed");
    double slowdown = (double) speed.get("slowdown");
    assertTrue(slowdown >= 1 && (double) speed.get("reference_ms_fastest_recorded") > 0, "the machine's speed beside"
        + " the latency, against the fastest it ran: " + speed);
    assertEquals(slowdown <= MachineSpeed.STEADY_SLOWDOWN, speed.get("steady"), speed.toString());
    int timing = (int) speed.get("timing_kept");
    assertTrue(timing >= 1 && timing <= MachineSpeed.TIMINGS, "a slow machine's timing is repeated: " + speed);
    HeldOutQueries heldOut = HeldOutQueries.read(built.dir().resolve(HeldOutQueries.FILE));
    assertEquals(300, heldOut.count(), "the held-out queries are published with their exact neighbours");
    assertEquals(IndexEvaluator.K, heldOut.exactIds()[0].length);
  }

  /** Candidates' reports without the seconds they took to measure (the rest is counted, not timed). */
  private static List<Map<String, Object>> withoutTimes(List<Map<String, Object>> candidates) {
    return candidates.stream().map(c -> {
      Map<String, Object> counted = new java.util.HashMap<>(c);
      counted.keySet().removeIf(key -> key.endsWith("_s"));
      return counted;
    }).toList();
  }

  @Test
  void theBestMeasuredWinsAndTiesGoToTheSmallest() {
    CandidateChoice.Measured best = measured("IVF1024,PQ64np", 0.960, 24_000_000);
    CandidateChoice.Measured close = measured("IVF512,PQ64np", 0.957, 23_000_000);
    CandidateChoice.Measured small = measured("IVF512,PQ32np", 0.946, 13_000_000);
    CandidateChoice.Measured tooSlow = new CandidateChoice.Measured(new IndexPlan("IVF-PQ", "IVF64,PQ8np", 64, 8, 0,
        0, Metric.L2, ""), false, 0, 2.0, 1, 1.0, Map.of());
    List<CandidateChoice.Measured> all = List.of(best, close, small, tooSlow);
    assertEquals(best, CandidateChoice.choose(all, 0.99), "the best measured recall");
    CandidateChoice.Measured hair = measured("IVF256,PQ64np", 0.9585, 22_000_000);
    assertEquals(hair, CandidateChoice.choose(List.of(best, hair), 0.99), "within 0.002: the smaller");
    assertEquals(tooSlow, CandidateChoice.choose(List.of(tooSlow), 0.99), "none in the limit: the fastest");
    assertEquals(small, CandidateChoice.choose(all, 0.945), "all reach the target: the smallest");
    assertEquals(best, CandidateChoice.choose(all, 0.96), "only those that reach it count");
    IndexPlan graphPlan = IndexPlanner.plan("HNSW", 1_000_000, 64, 1L << 32, 0, 0, 0, 39, Metric.L2);
    CandidateChoice.Measured slightlyBetterGraph = new CandidateChoice.Measured(graphPlan, true, 0.966, 0.7,
        300_000_000, 0.2, Map.of());
    assertEquals(best, CandidateChoice.choose(List.of(best, slightlyBetterGraph), 0.99),
        "a graph's score counts 0.005 lower (it moves between builds): 0.006 better is a tie");
    CandidateChoice.Measured betterGraph = new CandidateChoice.Measured(graphPlan, true, 0.968, 0.7, 300_000_000,
        0.2, Map.of());
    assertEquals(betterGraph, CandidateChoice.choose(List.of(best, betterGraph), 0.99), "0.008 better wins");
  }

  private static CandidateChoice.Measured measured(String factory, double recall, long bytes) {
    IndexPlan plan = new IndexPlan("IVF-PQ", factory, 512, 64, 0, 0, Metric.L2, "");
    return new CandidateChoice.Measured(plan, true, recall, 0.7, bytes, 0.2, Map.of());
  }

  @Test
  void shardsAnswerLikeOneIndexAndAnIndexOverItsShardLimitIsRefused() throws Exception {
    ArrayVectorSource source = ArrayVectorSource.clustered(20_000, 32, 50, 9);
    Map<String, String> pinned = Map.of("index.type", "IVF-Flat", "index.nlist", "64", "index.nprobe", "4",
        "index.eval-queries", "200");
    Map<String, String> sharded = new java.util.HashMap<>(pinned);
    sharded.put("index.shards", "3");
    IndexBuilder.BuiltIndex one = new IndexBuilder(source, options(pinned), m -> { }).build(tmp.resolve("one"));
    IndexBuilder.BuiltIndex three = new IndexBuilder(source, options(sharded), m -> { }).build(tmp.resolve("three"));
    assertEquals(3, ((List<?>) three.manifest().get("shards")).size());
    IndexPublisher.publish(one, tmp.resolve("pub1").toUri().toString(), 2, new Configuration());
    IndexPublisher.publish(three, tmp.resolve("pub3").toUri().toString(), 2, new Configuration());
    try (PublishedIndex a = PublishedIndex.open(tmp.resolve("pub1").toString(), new Configuration(),
        tmp.resolve("c1")); PublishedIndex b = PublishedIndex.open(tmp.resolve("pub3").toString(),
        new Configuration(), tmp.resolve("c3"))) {
      assertEquals(20_000, b.size());
      float[][] queries = java.util.Arrays.copyOf(source.vectors, 100);
      assertEquals(a.search(queries, 10, 0, Map.of(), Long.MAX_VALUE), b.search(queries, 10, 0, Map.of(), Long.MAX_VALUE), "fan-out = one index");
    }

    Map<String, String> tooSmall = new java.util.HashMap<>(pinned);
    tooSmall.put("index.max-shard-bytes", "1m"); // 20,000 x (128 + 8) bytes = 2.6 MB
    assertMessage(source, options(tooSmall), "build with --distributed and index.shards=3");
    // auto drops the candidates that do not fit (IVF-Flat) and measures those that do (IVF-PQ, 16 bytes a vector)
    Map<String, Object> auto = new IndexBuilder(source, options(Map.of("index.max-shard-bytes", "1m",
        "index.eval-queries", "200")), m -> { }).build(tmp.resolve("fits")).manifest();
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> measured = (List<Map<String, Object>>) ((Map<String, Object>) auto.get("selection"))
        .get("candidates");
    assertFalse(measured.isEmpty(), "the candidates that fit were measured");
    assertTrue(measured.stream().allMatch(c -> String.valueOf(c.get("factory")).contains("PQ")), measured.toString());
  }

  @Test
  @SuppressWarnings("unchecked")
  void ivfIndexIsTrainedMeasuredAndHoldsEveryVectorWithItsId() throws Exception {
    ArrayVectorSource source = ArrayVectorSource.clustered(20_000, 32, 50, 1);
    List<String> log = new ArrayList<>();
    IndexBuilder.BuiltIndex built = new IndexBuilder(source, options(Map.of("index.type", "IVF-Flat",
        "index.eval-queries", "200", "index.add-batch-size", "3000")), log::add).build(tmp.resolve("b"));
    Map<String, Object> m = built.manifest();
    assertEquals(20_000L, m.get("count"));
    assertEquals(32, m.get("dimension"));
    @SuppressWarnings("unchecked")
    Map<String, Object> metrics = (Map<String, Object>) m.get("metrics");
    Map<String, Object> outcome = (Map<String, Object>) m.get("outcome");
    Object reaching = outcome.get("nprobe_for_recall_target"); // null: the sweep met its latency cap first
    boolean tunedReaches = reaching != null && (int) metrics.get("nprobe") >= (int) reaching;
    assertEquals(tunedReaches, (double) metrics.get("recall_at_10") >= 0.99, "the recall at the tuned nprobe, whatever"
        + " the clock allowed: " + outcome + " " + metrics);
    assertTrue((double) metrics.get("latency_p99_ms") >= (double) metrics.get("latency_p50_ms"), metrics.toString());
    assertTrue(log.stream().anyMatch(l -> l.startsWith("added 20000/20000")), log.toString());
    Object trainSize = ((Map<String, Object>) m.get("index")).get("train_size");
    assertTrue(log.stream().anyMatch(l -> l.contains("the driver's heap holds the sample of " + trainSize
        + " + 200 vectors")), "the plan states the driver heap its sample takes: " + log);
    @SuppressWarnings("unchecked")
    Map<String, Object> lists = (Map<String, Object>) m.get("lists");
    double mean = (double) lists.get("mean_size");
    assertTrue((long) lists.get("max_size") <= 4 * mean, "hub lists must be split in training: " + lists);

    Map<String, Object> published = IndexPublisher.publish(built, tmp.resolve("pub").toUri().toString(), 2,
        new Configuration());
    try (PublishedIndex index = PublishedIndex.open(tmp.resolve("pub").toString(), new Configuration(),
        tmp.resolve("cache"))) {
      assertEquals(published.get("version"), index.version());
      for (int probe : new int[] {0, 777, 19_999}) {
        PublishedIndex.Neighbor top = index.search(source.vectors[probe], 1).get(0);
        assertEquals("img-" + probe, top.imageId());
        assertEquals("file:/images/" + probe + ".jpg", top.uri());
      }
    }
  }

  @Test
  void badInputIsRejectedWithTheReason() {
    IndexBuilder.Options auto = options(Map.of());
    assertMessage(new ArrayVectorSource(new float[0][], new String[0]), auto, "empty");
    assertMessage(new ArrayVectorSource(new float[][] {{1, 2}, {1, 2, 3}}, new String[] {"m", "m"}), auto,
        "mixed dimensions");
    assertMessage(new ArrayVectorSource(new float[][] {{1, 2}, {3, 4}}, new String[] {"m1", "m2"}), auto,
        "several models");
    ArrayVectorSource nan = ArrayVectorSource.clustered(100, 8, 2, 3);
    nan.vectors[42][3] = Float.NaN;
    assertMessage(nan, auto, "image_id 'img-42' contains NaN");
    assertMessage(ArrayVectorSource.clustered(500, 8, 2, 3), options(Map.of("index.type", "IVF-PQ", "index.nlist", "64")),
        "needs at least");
    assertMessage(ArrayVectorSource.clustered(20_000, 8, 2, 3), options(Map.of("index.type", "IVF-Flat",
        "index.refine", "sq8")), "index.refine=sq8 re-ranks PQ codes, and this build is IVF-Flat");
  }

  private void assertMessage(VectorSource source, IndexBuilder.Options options, String expected) {
    IndexBuildException e = assertThrows(IndexBuildException.class,
        () -> new IndexBuilder(source, options, s -> {}).build(tmp.resolve("x")));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  @Test
  void aMissedTargetIsReportedAndCanFailTheBuild() throws Exception {
    ArrayVectorSource source = ArrayVectorSource.clustered(20_000, 32, 50, 3);
    Map<String, String> unreachable = Map.of("index.type", "IVF-Flat", "index.eval-queries", "200",
        "index.target-latency-ms", "0.01"); // no search of 20k vectors answers in 10 microseconds at p99
    IndexBuilder.BuiltIndex built = new IndexBuilder(source, options(unreachable), m -> { }).build(tmp.resolve("m"));
    @SuppressWarnings("unchecked")
    Map<String, Object> outcome = (Map<String, Object>) built.manifest().get("outcome");
    assertEquals(false, outcome.get("target_met"), outcome.toString());
    @SuppressWarnings("unchecked")
    int chosen = (int) ((Map<String, Object>) built.manifest().get("metrics")).get("nprobe");
    Object reaching = outcome.get("nprobe_for_recall_target"); // null: the sweep met its latency cap first
    assertTrue((double) outcome.get("recall_at_10") < 0.99 && (reaching == null || (int) reaching > chosen),
        "the recall target takes more lists than the latency target allows: " + outcome);
    Map<String, String> required = new java.util.HashMap<>(unreachable);
    required.put("index.require-target", "true");
    IndexBuildException e = assertThrows(IndexBuildException.class,
        () -> new IndexBuilder(source, options(required), m -> { }).build(tmp.resolve("r")));
    assertTrue(e.getMessage().contains("target was missed"), e.getMessage());
  }

  @Test
  void filtersSearchOnlyMatchingIdsExactlyWhenFewMatchAndThroughTheIvfSelectorOtherwise() throws Exception {
    ArrayVectorSource source = ArrayVectorSource.clustered(20_000, 32, 50, 5);
    IndexBuilder.BuiltIndex built = new IndexBuilder(source, options(Map.of("index.type", "IVF-Flat",
        "index.eval-queries", "200")), m -> { }).build(tmp.resolve("f"));
    IndexPublisher.publish(built, tmp.resolve("fpub").toUri().toString(), 2, new Configuration());
    try (PublishedIndex index = PublishedIndex.open(tmp.resolve("fpub").toString(), new Configuration(),
        tmp.resolve("fcache"), new PublishedIndex.LoadOptions(false, true))) {
      assertEquals(List.of("group", "parity"), index.metadataColumns());
      float[][] queries = {source.vectors[7], source.vectors[1234]};
      // 200 ids in group g7: searched exactly, so vector 7 (in g7) is its own nearest and all hits are in g7
      List<PublishedIndex.Neighbor> few = index.search(queries, 5, 0, Map.of("group", "g7"), Long.MAX_VALUE).get(0);
      assertEquals(7, few.get(0).id());
      few.forEach(n -> assertEquals(7, n.id() % 100, n.toString()));
      // 10,000 even ids (> the exact limit): FAISS's ID selector inside the IVF search, nprobe widened
      List<List<PublishedIndex.Neighbor>> many = index.search(queries, 10, 0, Map.of("parity", "even"), Long.MAX_VALUE);
      for (int q = 0; q < queries.length; q++) {
        assertEquals(10, many.get(q).size());
        many.get(q).forEach(n -> assertEquals(0, n.id() % 2, n.toString()));
      }
      assertEquals(1234, many.get(1).get(0).id(), "an even vector finds itself among the even ids");
      List<PublishedIndex.Neighbor> both = index.search(queries, 5, 0, Map.of("group", "g7", "parity", "odd"),
          Long.MAX_VALUE).get(0);
      assertEquals(5, both.size(), "g7's 200 ids are all odd");
      both.forEach(n -> assertTrue(n.id() % 100 == 7 && n.id() % 2 == 1, n.toString()));
    }
  }

  /**
   * Indexes without lists (Flat, which auto picks below 10,000 vectors, PQ and an HNSW graph) take filters matching any number of
   * ids, with the neighbours their own unfiltered search ranks first; a request over its scan cap is refused.
   */
  @Test
  void flatAndPqIndexesFilterOnEveryMatchingIdAndRefuseWorkOverTheCap() throws Exception {
    ArrayVectorSource source = ArrayVectorSource.clustered(20_000, 32, 50, 5);
    for (String type : List.of("Flat", "PQ", "HNSW")) {
      IndexBuilder.BuiltIndex built = new IndexBuilder(source, options(Map.of("index.type", type,
          "index.eval-queries", "100")), m -> { }).build(tmp.resolve(type));
      IndexPublisher.publish(built, tmp.resolve(type + "pub").toUri().toString(), 2, new Configuration());
      try (PublishedIndex index = PublishedIndex.open(tmp.resolve(type + "pub").toString(), new Configuration(),
          tmp.resolve(type + "cache"), new PublishedIndex.LoadOptions(false, true))) {
        float[][] queries = {source.vectors[8], source.vectors[4320]};
        List<List<PublishedIndex.Neighbor>> unfiltered = index.search(queries, 10, 0, Map.of(), Long.MAX_VALUE);
        List<List<PublishedIndex.Neighbor>> even = index.search(queries, 10, 0, Map.of("parity", "even"),
            Long.MAX_VALUE); // 10,000 ids: more than the exact limit, which an IVF index would hand to FAISS
        for (int q = 0; q < queries.length; q++) {
          List<Long> expected = index.search(new float[][] {queries[q]}, 200, 0, Map.of(), Long.MAX_VALUE).get(0)
              .stream().map(PublishedIndex.Neighbor::id).filter(id -> id % 2 == 0).limit(10).toList();
          assertEquals(expected, even.get(q).stream().map(PublishedIndex.Neighbor::id).toList(), type);
          assertEquals(unfiltered.get(q).get(0).id(), even.get(q).get(0).id(), type + ": the query finds itself");
        }
        SearchLimitException refused = assertThrows(SearchLimitException.class,
            () -> index.search(queries, 10, 0, Map.of("parity", "even"), 19_999));
        assertTrue(refused.getMessage().contains("about 20000 vectors, over the limit of 19999"), refused.getMessage());
      }
    }
  }

  /**
   * A pinned graph: built without training, its efSearch tuned and published (manifest and file), searched at it;
   * a request's nprobe is refused with the reason, and a distributed build is refused before anything is read.
   */
  @Test
  @SuppressWarnings("unchecked")
  void aGraphIsTunedOverEfSearchAndPublishedWithIt() throws Exception {
    ArrayVectorSource source = ArrayVectorSource.clustered(20_000, 32, 50, 1);
    List<String> log = new ArrayList<>();
    IndexBuilder.BuiltIndex built = onOneThread(() -> new IndexBuilder(source, options(Map.of("index.type", "HNSW",
        "index.eval-queries", "200")), log::add).build(tmp.resolve("g")));
    Map<String, Object> index = (Map<String, Object>) built.manifest().get("index");
    assertEquals(List.of("HNSW", "IDMap,HNSW32", 0, 0), List.of(index.get("type"), index.get("factory"),
        index.get("nprobe"), index.get("train_size")));
    int efSearch = (int) index.get("ef_search");
    assertTrue(log.stream().anyMatch(l -> l.startsWith("tuned ef_search=" + efSearch)), log.toString());
    Map<String, Object> measured = (Map<String, Object>) ((Map<String, Object>) built.manifest()
        .get("latency_measurement")).get("search_parameters");
    assertEquals(efSearch, measured.get("ef_search"), "the latency published is the tuned setting's");
    Map<String, Object> outcome = (Map<String, Object>) built.manifest().get("outcome");
    assertTrue(outcome.containsKey("ef_search_for_recall_target"), outcome.toString());
    Map<String, Object> metrics = (Map<String, Object>) built.manifest().get("metrics");
    assertTrue((double) metrics.get("recall_at_10") >= 0.99, metrics.toString());

    IndexPublisher.publish(built, tmp.resolve("gpub").toUri().toString(), 2, new Configuration());
    try (PublishedIndex published = PublishedIndex.open(tmp.resolve("gpub").toString(), new Configuration(),
        tmp.resolve("gcache"))) {
      assertEquals(efSearch, published.searchParams().efSearch());
      for (int probe : new int[] {0, 777, 19_999}) {
        assertEquals("img-" + probe, published.search(source.vectors[probe], 1).get(0).imageId());
      }
      IllegalArgumentException nprobe = assertThrows(IllegalArgumentException.class,
          () -> published.search(new float[][] {source.vectors[0]}, 5, 8, Map.of(), Long.MAX_VALUE));
      assertTrue(nprobe.getMessage().contains("this version is an HNSW graph"), nprobe.getMessage());
    }
    IndexBuilder.DistributedAdd executors = new IndexBuilder.DistributedAdd() { // refused before any is called
      public io.imgvec.published.ShardedIndex addAll(io.imgvec.faiss.FaissIndex trained, long[] heldOutIds,
          ExactNeighbours truth, int shards, boolean mapShards, Path dir, Map<String, Object> timings) {
        throw new AssertionError("added");
      }

      public void prepare(int shards) {
        throw new AssertionError("prepared");
      }

      public int parallelism() {
        throw new AssertionError("asked");
      }

      public long largestPartitionRows() {
        throw new AssertionError("asked");
      }

      public Sample.Part sample(int trainSize, int nq) {
        throw new AssertionError("sampled");
      }
    };
    IndexBuildException distributed = assertThrows(IndexBuildException.class, () -> new IndexBuilder(source,
        options(Map.of("index.type", "HNSW", "index.distributed", "true")), m -> { }, executors)
        .build(tmp.resolve("d")));
    assertTrue(distributed.getMessage().contains("FAISS cannot merge HNSW graphs"), distributed.getMessage());
  }

  /**
   * {@code auto} measures a graph, the largest candidate, once no IVF candidate reaches the recall target (here
   * 2-byte PQ codes of 32 dimensions cannot), swept over efSearch; the graph that reaches it wins, untrained.
   */
  @Test
  @SuppressWarnings("unchecked")
  void aGraphIsMeasuredOverEfSearchWhereNoIvfCandidateReachesTheTarget() throws Exception {
    int n = 20_000;
    int d = 32;
    ArrayVectorSource source = ArrayVectorSource.clustered(n, d, 50, 3);
    int sampleSize = 16_000;
    int nq = 200;
    float[] sample = new float[sampleSize * d];
    float[] queries = new float[nq * d];
    for (int i = 0; i < sampleSize + nq; i++) {
      System.arraycopy(source.vectors[i], 0, i < sampleSize ? sample : queries, (i % sampleSize) * d, d);
    }
    IndexPlan coarse = IndexPlanner.plan("IVF-PQ", n, d, 1L << 30, 64, 2, 0, 39, Metric.L2);
    IndexPlan graph = IndexPlanner.plan("HNSW", n, d, 1L << 30, 0, 0, 0, 39, Metric.L2);
    IndexBuilder.Options options = options(Map.of());
    LatencyModel model = LatencyModel.forThisMachine(Metric.L2, options.latencyModelFile(), m -> { });
    CandidateSelector.Selection selection = onOneThread(() -> new CandidateSelector(options, m -> { }, n, d, sample,
        sampleSize, queries, nq, model, false).select(List.of(graph, coarse)));
    try (io.imgvec.faiss.FaissIndex trained = selection.trained()) {
      assertEquals(graph, selection.plan());
      assertEquals(0, trained.ntotal(), "built as vectors are added");
    }
    List<Map<String, Object>> candidates = (List<Map<String, Object>>) selection.report().get("candidates");
    assertEquals(List.of("IVF64,PQ2np", "IDMap,HNSW32"), candidates.stream().map(c -> c.get("factory")).toList(),
        "smallest first");
    assertTrue((double) candidates.get(0).get("recall_at_10_at_latency_limit") < 0.99, candidates.toString());
    Map<String, Object> measured = candidates.get(1);
    assertTrue((double) measured.get("recall_at_10_at_latency_limit") >= 0.99, measured.toString());
    List<Map<String, Object>> sweep = (List<Map<String, Object>>) measured.get("sweep");
    assertEquals(16, sweep.get(0).get("ef_search"), "swept from efSearch 16: " + sweep);
    assertEquals(measured.get("ef_search"), sweep.get(sweep.size() - 1).get("ef_search"),
        "the sweep stops at the first setting that reaches the target: " + sweep);
  }
}

package io.imgvec.index;

import io.imgvec.faiss.SearchParams;
import io.imgvec.faiss.SearchWork;
import io.imgvec.faiss.VectorSearch;
import java.util.List;

/**
 * A candidate's predicted p99 at the full count over its settings ({@link IndexEvaluator#settings}: nprobe 1, 2, 3,
 * 4, 6, 8, ... at most nlist, or a graph's efSearch): the work of each held-out query counted on the candidate's
 * index of the sample, priced by the machine's {@link LatencyModel}. An IVF index's codes are scaled to the full count
 * (lists grow in proportion); the vectors a graph compares by ln(count) / ln(base), as HNSW's search cost grows with
 * the graph's depth at a fixed recall. Counts rather than timings: the same sample gives the same sweep, however busy the
 * machine.
 */
final class LatencySweep {
  private final IndexPlan plan;
  private final VectorSearch index;
  private final int d;
  private final double scale;
  private final IndexEvaluator evaluator;
  private final LatencyModel model;
  final List<SearchParams> settings;
  private final SearchWork[] work;

  /** The sweep of {@code index}, a candidate's index of {@code base} sample vectors of dimension {@code d}. */
  LatencySweep(IndexPlan plan, VectorSearch index, long base, int d, long count, IndexEvaluator evaluator,
      long codesPerProbe, LatencyModel model) {
    this.plan = plan;
    this.index = index;
    this.d = d;
    this.scale = plan.isGraph() ? Math.log(count) / Math.log(base) : (double) count / base;
    this.evaluator = evaluator;
    this.model = model;
    this.settings = IndexEvaluator.settings(plan, codesPerProbe);
    this.work = new SearchWork[settings.size()];
  }

  private SearchWork work(int i) {
    if (work[i] == null) {
      work[i] = evaluator.work(index, settings.get(i));
    }
    return work[i];
  }

  /** Predicted p99 (ms) at the full count with the sweep's setting {@code i}. */
  double p99(int i) {
    return model.p99Ms(work(i), scale, d, plan.pqM());
  }

  /** Predicted median (ms) at the full count with the sweep's setting {@code i}. */
  double p50(int i) {
    return model.p50Ms(work(i), scale, d, plan.pqM());
  }

  /** The last setting up to {@code last} whose predicted p99 is within {@code limitMs} (-1 if none). */
  int operatingPoint(int last, double limitMs) {
    int within = -1;
    while (within < last && p99(within + 1) <= limitMs) {
      within++;
    }
    return within;
  }

  /**
   * R@10 at a p99 limit: interpolated by predicted p99 between the two swept settings around the limit, so that a
   * candidate's score moves smoothly with the limit rather than a whole nprobe step; the last setting with a
   * recall beyond it (where a build stops: the recall target, or every list).
   */
  double recallAt(double limitMs, List<IndexEvaluator.Metrics> recalls) {
    int below = operatingPoint(recalls.size() - 1, limitMs);
    if (below < 0) {
      return 0;
    }
    double recall = recalls.get(below).recallAt10();
    if (below + 1 == recalls.size()) {
      return recall;
    }
    double share = (limitMs - p99(below)) / (p99(below + 1) - p99(below));
    return recall + share * (recalls.get(below + 1).recallAt10() - recall);
  }
}

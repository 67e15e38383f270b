package io.imgvec.index;

import io.imgvec.faiss.FaissIndex;
import java.util.ArrayList;
import java.util.List;

/**
 * A candidate's p99 at the full count over nprobe 1, 2, 3, 4, 6, 8, ... (at most nlist), timed on its grown index
 * where the search for the latency edge needs it.
 */
final class LatencySweep {
  /** The sweep's index of nprobe 16: with one probe, the two points of the first line. */
  private static final int ANCHOR = 7;
  private final IndexPlan plan;
  private final FaissIndex grownIndex;
  /** The count the lists were grown to. */
  final long grown;
  private final long count;
  private final IndexEvaluator timingEvaluator;
  private final long codesPerProbe;
  private final double limitP99Ms;
  final List<Integer> nprobes = new ArrayList<>();
  private final IndexEvaluator.Metrics[] timed;

  LatencySweep(IndexPlan plan, FaissIndex grownIndex, long grown, long count, IndexEvaluator timingEvaluator,
      long codesPerProbe, double limitP99Ms) {
    this.plan = plan;
    this.grownIndex = grownIndex;
    this.grown = grown;
    this.count = count;
    this.timingEvaluator = timingEvaluator;
    this.codesPerProbe = codesPerProbe;
    this.limitP99Ms = limitP99Ms;
    for (int step = 0; IndexEvaluator.nprobeStep(step) <= plan.nlist(); step++) {
      nprobes.add(IndexEvaluator.nprobeStep(step));
    }
    this.timed = new IndexEvaluator.Metrics[nprobes.size()];
  }

  IndexEvaluator.Metrics timed(int i) {
    if (timed[i] == null) {
      timed[i] = timingEvaluator.measure(grownIndex, IndexEvaluator.params(nprobes.get(i), codesPerProbe,
          plan.hasHnswQuantizer()));
    }
    return timed[i];
  }

  /** Timed p99, its growth beyond one probe scaled to the full count when the lists could not grow that far. */
  double p99(int i) {
    double oneProbe = timed(0).p99Ms();
    return oneProbe + (timed(i).p99Ms() - oneProbe) * count / grown;
  }

  /** The last setting the line through one probe and nprobe 16 puts within the latency limit. */
  int guess() {
    timed(0);
    timed(Math.min(ANCHOR, nprobes.size() - 1));
    return settingAtOrBelow(edgeNprobe(limitP99Ms));
  }

  /**
   * The last setting up to {@code last} within the latency limit (-1 if none), the next one timed too. A query's
   * cost grows about linearly with nprobe: each round times the setting where the line through every timing so
   * far crosses the limit, and the one after it, so the edge is usually found with four settings timed, none far
   * beyond the limit.
   */
  int operatingPoint(int last) {
    if (p99(0) > limitP99Ms) {
      return -1;
    }
    int within = 0;
    int beyond = last + 1; // past the last setting: nothing there to time
    while (beyond - within > 1) {
      int edge = Math.max(within + 1, Math.min(beyond - 1, settingAtOrBelow(edgeNprobe(limitP99Ms))));
      for (int i = edge; i < Math.min(edge + 2, beyond); i++) {
        if (p99(i) <= limitP99Ms) {
          within = i;
        } else {
          beyond = i;
        }
      }
    }
    return within;
  }

  private int settingAtOrBelow(double nprobe) {
    int i = 0;
    while (i + 1 < nprobes.size() && nprobes.get(i + 1) <= nprobe) {
      i++;
    }
    return i;
  }

  /**
   * Where the least-squares line through every timed setting (p99 against nprobe) crosses {@code limitMs}: from
   * all timings rather than the two around it, so one timing's noise moves it less.
   */
  double edgeNprobe(double limitMs) {
    double n = 0;
    double sx = 0;
    double sy = 0;
    double sxx = 0;
    double sxy = 0;
    for (int i = 0; i < timed.length; i++) {
      if (timed[i] != null) {
        double x = nprobes.get(i);
        double y = p99(i);
        n++;
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
      }
    }
    double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    return slope > 0 ? (limitMs - (sy - slope * sx) / n) / slope : Double.POSITIVE_INFINITY;
  }

  boolean isTimed(int i) {
    return timed[i] != null;
  }

  /**
   * R@10 at a p99 limit: interpolated between the two swept settings around the nprobe where the timed line crosses
   * it ({@link #edgeNprobe}), so that a little noise in a timing moves a score a little, never a whole
   * nprobe step; the last swept setting's recall beyond it (where a build stops: the recall target, or every list).
   */
  double recallAt(double limitMs, List<IndexEvaluator.Metrics> recalls) {
    double edge = edgeNprobe(limitMs);
    int below = 0;
    while (below + 1 < recalls.size() && nprobes.get(below + 1) <= edge) {
      below++;
    }
    double recall = recalls.get(below).recallAt10();
    if (below + 1 == recalls.size()) {
      return recall;
    }
    int from = nprobes.get(below);
    int to = nprobes.get(below + 1);
    double share = Math.max(0, (edge - from) / (to - from));
    return recall + share * (recalls.get(below + 1).recallAt10() - recall);
  }
}

package io.imgvec.index;

import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * How {@link CandidateSelector} picks the winner among measured candidates, and what ties: rules apart from the
 * measuring, so they can be read and tested on their own.
 */
final class CandidateChoice {
  /** Scores this close tie: the smaller index is kept rather than a difference within the measurement's noise. */
  static final double RECALL_TIE = 0.002;
  /**
   * How far a candidate's timed p99 moves between two builds of the same data: one setting timed 0.83-0.91 ms over
   * four builds here (±5% about its mean; it differs between builds more than between the passes of one, so more
   * timing within a build would not average it out). A rebuild keeps its choice within it.
   */
  static final double LATENCY_NOISE = 0.05;

  /** A candidate at its operating point: the nprobe the build would choose, judged at the full count. */
  record Measured(IndexPlan plan, boolean feasible, double recall, double recallLow, double recallHigh,
      double p99Ms, long bytes, double oneProbeP50Ms, Map<String, Object> report) {}

  private CandidateChoice() {}

  /** Whether {@code m} reaches the recall target within the latency limit (at its band's top: within the noise). */
  static boolean meetsTarget(Measured m, double targetRecall) {
    return m.feasible() && m.recallHigh() >= targetRecall;
  }

  /**
   * The winner. Candidates that reach the recall target within the latency limit are equals (recall beyond the
   * target is not worth more bytes). Otherwise the best score wins, or the smallest within {@link #RECALL_TIE} of it
   * (then the fastest). A rebuild keeps its previous choice while that still ties the best within the timings' noise
   * (its band, see {@link CandidateSelector}, reaching the best's): noise then cannot flip a rebuild between equals, while a
   * fresh choice still needs the measured recall, not the noise band, to prefer a smaller index (a sample flatters
   * coarse codes a little). If none is within the limit, the fastest.
   */
  static Measured choose(List<Measured> all, String previousChoice, double targetRecall) {
    List<Measured> feasible = all.stream().filter(Measured::feasible).toList();
    if (feasible.isEmpty()) {
      return all.stream().min(Comparator.comparingDouble(Measured::p99Ms)).orElseThrow();
    }
    Measured best = feasible.stream().max(Comparator.comparingDouble(Measured::recall)).orElseThrow();
    List<Measured> meeting = feasible.stream().filter(m -> meetsTarget(m, targetRecall)).toList();
    List<Measured> kept = (meeting.isEmpty() ? feasible : meeting).stream()
        .filter(m -> m.plan().factory().equals(previousChoice))
        .filter(m -> !meeting.isEmpty() || m.recallHigh() + RECALL_TIE >= best.recallLow()).toList();
    if (!kept.isEmpty()) {
      return kept.get(0);
    }
    List<Measured> tied = !meeting.isEmpty() ? meeting
        : feasible.stream().filter(m -> m.recall() >= best.recall() - RECALL_TIE).toList();
    return tied.stream().min(Comparator.comparingLong(Measured::bytes).thenComparingDouble(Measured::p99Ms))
        .orElseThrow();
  }
}

package io.imgvec.index;

import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * How {@link CandidateSelector} picks the winner among measured candidates, and what ties: rules apart from the
 * measuring, so they can be read and tested on their own. Every input is a count or a recall, never a timing, so
 * the same sample always gives the same winner.
 */
final class CandidateChoice {
  /** Scores this close tie: the smaller index is kept rather than a difference a larger sample could reverse. */
  static final double RECALL_TIE = 0.002;

  /**
   * A graph candidate's graph is built on several threads (on one its build would take twice as long), so its score
   * moves a little between fresh builds: it is compared this much lower, so that such a move does not swap winners.
   */
  static final double GRAPH_SCORE_SPREAD = 0.005;

  /** A candidate at its operating point: the nprobe the build would choose, judged at the full count. */
  record Measured(IndexPlan plan, boolean feasible, double recall, double p99Ms, long bytes, double oneProbeP50Ms,
      Map<String, Object> report) {}

  private CandidateChoice() {}

  /** Whether {@code m} reaches the recall target within the latency limit. */
  static boolean meetsTarget(Measured m, double targetRecall) {
    return m.feasible() && m.recall() >= targetRecall;
  }

  private static double comparedRecall(Measured m) {
    return m.recall() - (m.plan().isGraph() ? GRAPH_SCORE_SPREAD : 0);
  }

  /**
   * The winner. Candidates that reach the recall target within the latency limit are equals (recall beyond the
   * target is not worth more bytes). Otherwise the best score wins, or the smallest within {@link #RECALL_TIE} of it
   * (then the fastest), a graph's score less {@link #GRAPH_SCORE_SPREAD}. If none is within the limit, the fastest.
   */
  static Measured choose(List<Measured> all, double targetRecall) {
    List<Measured> feasible = all.stream().filter(Measured::feasible).toList();
    if (feasible.isEmpty()) {
      return all.stream().min(Comparator.comparingDouble(Measured::p99Ms)).orElseThrow();
    }
    double best = feasible.stream().mapToDouble(CandidateChoice::comparedRecall).max().orElseThrow();
    List<Measured> meeting = feasible.stream().filter(m -> meetsTarget(m, targetRecall)).toList();
    List<Measured> tied = !meeting.isEmpty() ? meeting
        : feasible.stream().filter(m -> comparedRecall(m) >= best - RECALL_TIE).toList();
    return tied.stream().min(Comparator.comparingLong(Measured::bytes).thenComparingDouble(Measured::p99Ms))
        .orElseThrow();
  }
}

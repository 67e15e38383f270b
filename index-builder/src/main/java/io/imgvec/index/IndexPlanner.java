package io.imgvec.index;

import io.imgvec.faiss.Metric;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Chooses index type and parameters, autofaiss-style, from vector count, dimension and a memory budget:
 * <ol>
 *   <li>fewer than {@value #FLAT_BELOW} vectors: {@code Flat} (exact search is already fast);
 *   <li>{@code IVF-Flat} when full vectors fit the budget (4·d + 8 bytes per vector plus centroids);
 *   <li>else {@code IVF-PQ} with the largest code size {@code m} ≤ 256 (bytes per vector, dividing d) whose codes,
 *       ids (8 bytes per vector), centroids and codebooks fit.
 * </ol>
 * {@code HNSW} (pinned, or measured by {@code auto}) is an HNSW graph of {@value #GRAPH_LINKS} links over full
 * vectors: no training, efSearch tuned after building, added to by update-index but never removed from.
 * {@code nlist} balances the two halves of a query, scanning nlist centroids (d floats each) and the vectors of the
 * probed lists: the power of two nearest 4·√(count·c), with c = 1 for IVF-Flat and c = m/d for IVF-PQ (a PQ code
 * costs about m/d of a full vector to scan), and at most count/39 (FAISS needs ≥ 39 training points per list).
 * Training splits k-means hub lists ({@code index.max-list-factor}); at search time the codes scanned per query are
 * capped too ({@code index.max-codes-factor}).
 * Training uses {@code pointsPerCentroid} × nlist vectors (FAISS recommends 39–256), at least 256, at most the
 * count. nprobe is tuned after building against the recall and latency targets unless given.
 */
public final class IndexPlanner {
  static final long FLAT_BELOW = 10_000;
  /**
   * Candidates re-ranked against stored vectors search their codes for k × this many: a true neighbour the codes
   * rank within the first 80 of 10 still comes back, and re-ranking 80 stored vectors costs less than a probe.
   */
  public static final int REFINE_K_FACTOR = 8;
  /**
   * A re-ranked index whose tuning misses the recall target is tuned again re-ranking twice as many, up to k × this
   * many: coarse codes can rank a true neighbour their lists hold below the first 80 (on Zipf 300k × 384, PQ24 codes
   * re-ranked at nprobe 24 find 0.984 of them at 8, 0.990 at 16, 0.993 at 32; the lists hold 0.993). The sample the
   * candidates are measured on cannot tell (its lists hold fewer true neighbours), so the built index is tuned.
   */
  static final int MAX_REFINE_K_FACTOR = 32;
  /** Links per node of a graph index (FAISS's HNSW32, as its benchmarks use; twice as many on the bottom layer). */
  static final int GRAPH_LINKS = 32;
  /**
   * Bytes per vector of a graph's structure beside its vector and id: 2 × {@value #GRAPH_LINKS} bottom-layer links
   * of 4 bytes, the upper layers' share (one node in 32 has one), and each node's level and offsets.
   */
  private static final long GRAPH_BYTES_PER_VECTOR = 2L * GRAPH_LINKS * 4 + 4 + 12;
  private static final int MAX_PQ_M = 256;

  private IndexPlanner() {}

  public static IndexPlan plan(String type, long count, int d, long memoryBudget, int nlistOverride, int pqMOverride,
      int nprobe, int pointsPerCentroid, Metric metric) {
    String chosen = type;
    String reason = "requested";
    if (type.equals("auto")) {
      long flatBytes = count * (4L * d + 8);
      if (count < FLAT_BELOW) {
        chosen = "Flat";
        reason = count + " vectors < " + FLAT_BELOW + ": exact search";
      } else if (flatBytes + centroidBytes(nlistFor(count, 1), d) <= memoryBudget) {
        chosen = "IVF-Flat";
        reason = "full vectors (" + flatBytes + " bytes) fit the memory budget " + memoryBudget;
      } else {
        chosen = "IVF-PQ";
        reason = "full vectors (" + flatBytes + " bytes) exceed the memory budget " + memoryBudget;
      }
    }
    boolean ivf = chosen.startsWith("IVF");
    boolean pq = chosen.endsWith("PQ");
    int m = pq ? (pqMOverride > 0 ? pqMOverride : pqMFor(count, d, ivf ? nlistFor(count, 1) : 0, memoryBudget)) : 0;
    int nlist = !ivf ? 0 : nlistOverride > 0 ? nlistOverride : nlistFor(count, pq ? (double) m / d : 1);
    if (m > 0 && d % m != 0) {
      throw new IndexBuildException("index.pq-m=" + m + " must divide the dimension " + d);
    }
    if (nlist > 0 && count < 39L * nlist) {
      throw new IndexBuildException(chosen + " with " + nlist + " lists needs at least " + 39L * nlist
          + " vectors to train, got " + count + "; use index.type=auto or Flat, or a smaller index.nlist");
    }
    if (m > 0 && count < 256) {
      throw new IndexBuildException(chosen + " needs at least 256 vectors to train its 8-bit codebooks, got " + count
          + "; use index.type=auto or Flat");
    }
    String factory = switch (chosen) {
      case "Flat" -> "IDMap,Flat";
      case "HNSW" -> "IDMap,HNSW" + GRAPH_LINKS;
      case "IVF-Flat" -> "IVF" + nlist + ",Flat";
      case "PQ" -> "IDMap,PQ" + m + "np";
      default -> "IVF" + nlist + ",PQ" + m + "np";
    };
    int trainSize = chosen.equals("Flat") || chosen.equals("HNSW") ? 0
        : (int) Math.min(count, Math.max(256, (long) pointsPerCentroid * Math.max(nlist, 256)));
    return new IndexPlan(chosen, factory, nlist, m, nprobe, trainSize, metric, reason);
  }

  /**
   * What {@code index.type=auto} measures above {@value #FLAT_BELOW} vectors ({@link CandidateSelector}): IVF at
   * the nlist planned for full vectors, half and a quarter of it, each with full vectors when they fit the budget,
   * and with PQ codes: the largest code size that fits, and half of it (fewer bytes a probe: where the latency
   * target binds, more probes of coarser codes can beat fewer of fine ones), and where a refine stage fits the
   * budget, a quarter of it re-ranked (the cheapest probes, their precision restored by the stored vectors); and an
   * HNSW graph over full vectors where it fits (measured last, being the largest: only when no IVF candidate reaches
   * the recall target within the latency limit). Codes
   * keep at least 4 dimensions per byte: PQ training time grows with the code size, and finer codes would only
   * approach full vectors. Each trains on as many vectors as it would alone (one sample holds enough for the largest
   * nlist).
   */
  public static List<IndexPlan> candidates(long count, int d, long memoryBudget, int pointsPerCentroid,
      Metric metric) {
    int top = nlistFor(count, 1);
    List<IndexPlan> plans = new ArrayList<>();
    for (int nlist = top; nlist >= Math.max(1, top / 4); nlist /= 2) {
      boolean flatFits = count * (4L * d + 8) + centroidBytes(nlist, d) <= memoryBudget;
      if (flatFits) {
        plans.add(plan("IVF-Flat", count, d, memoryBudget, nlist, 0, 0, pointsPerCentroid, metric));
      }
      int m = largestDivisorAtMost(d, Math.min(pqMFor(count, d, nlist, memoryBudget), Math.max(1, d / 4)));
      plans.add(plan("IVF-PQ", count, d, memoryBudget, nlist, m, 0, pointsPerCentroid, metric));
      int half = largestDivisorAtMost(d, m / 2);
      if (half > 0) {
        plans.add(plan("IVF-PQ", count, d, memoryBudget, nlist, half, 0, pointsPerCentroid, metric));
      }
      int quarter = largestDivisorAtMost(d, m / 4);
      if (quarter > 0) {
        refined(plan("IVF-PQ", count, d, memoryBudget, nlist, quarter, 0, pointsPerCentroid, metric), count, d,
            memoryBudget).ifPresent(plans::add);
      }
    }
    IndexPlan graph = plan("HNSW", count, d, memoryBudget, 0, 0, 0, pointsPerCentroid, metric);
    if (estimatedBytes(graph, count, d) <= memoryBudget) {
      plans.add(graph);
    }
    return plans.stream().map(p -> p.withReason("measured among candidates")).toList();
  }

  private static int largestDivisorAtMost(int d, int most) {
    for (int m = most; m >= 1; m--) {
      if (d % m == 0) {
        return m;
      }
    }
    return 0;
  }

  /** Bytes of the planned index with {@code count} vectors (what it takes in memory when served, ids map aside). */
  public static long estimatedBytes(IndexPlan plan, long count, int d) {
    long codebooks = plan.pqM() > 0 ? 256L * d * 4 : 0;
    long hnswLinks = plan.hasHnswQuantizer() ? plan.nlist() * 2L * 32 * 4 : 0; // 2 x 32 links per centroid
    long perVector = (plan.pqM() > 0 ? plan.pqM() + 8L : 4L * d + 8) + (plan.isGraph() ? GRAPH_BYTES_PER_VECTOR : 0);
    long refine = plan.refines() ? count * d + 8L * d : 0; // a byte a dimension, and the codec's ranges
    return count * perVector + centroidBytes(plan.nlist(), d) + codebooks + hnswLinks + refine;
  }

  /**
   * {@code plan} (IVF-PQ) with a refine stage, where its stored vectors still fit the budget: what
   * {@link CandidateSelector} measures beside each IVF-PQ candidate, on the same codes.
   */
  static Optional<IndexPlan> refined(IndexPlan plan, long count, int d, long memoryBudget) {
    IndexPlan refined = plan.withRefine(REFINE_K_FACTOR);
    return plan.isIvf() && plan.pqM() > 0 && !plan.refines() && estimatedBytes(refined, count, d) <= memoryBudget
        ? Optional.of(refined) : Optional.empty();
  }

  /** Power of two nearest 4·√(count·scanCost), at most count/39. */
  static int nlistFor(long count, double scanCost) {
    double ideal = 4 * Math.sqrt(count * scanCost);
    int nlist = Integer.highestOneBit((int) Math.max(1, Math.min(1 << 30, Math.round(ideal))));
    if (ideal >= 1.5 * nlist) {
      nlist *= 2;
    }
    while (nlist > 1 && 39L * nlist > count) {
      nlist /= 2;
    }
    return Math.max(1, nlist);
  }

  private static int pqMFor(long count, int d, int nlist, long budget) {
    for (int m = Math.min(d, MAX_PQ_M); m >= 1; m--) {
      if (d % m == 0 && count * (m + 8L) + centroidBytes(nlist, d) + 256L * d * 4 <= budget) {
        return m;
      }
    }
    throw new IndexBuildException("index.memory-budget=" + budget + " is too small for " + count + " vectors: even"
        + " 1-byte PQ codes need about " + (count * 9 + centroidBytes(nlist, d)) + " bytes");
  }

  private static long centroidBytes(int nlist, int d) {
    return 4L * nlist * d;
  }
}

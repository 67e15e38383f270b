"""Merges bench/ann-peers.sh's per-engine results for one data set and reports each engine at matched recall, as
Qdrant's and ann-benchmarks' reports do: of each engine's settings, the Pareto frontier (no other setting has both
higher R@10 and lower p99), and on it the p99 and queries/s where R@10 first reaches 0.90, 0.95 and 0.99,
interpolated linearly between the two frontier settings around the target (null: no setting reaches it).

Usage: ann_frontier.py <data set name> <out json> <engines json>...
"""
import json
import sys

TARGETS = (0.90, 0.95, 0.99)


def frontier(settings):
    ordered = sorted(settings, key=lambda s: (s["p99_ms"], -s["recall_at_10"]))
    kept, best = [], -1.0
    for s in ordered:
        if s["recall_at_10"] > best:
            kept.append(s)
            best = s["recall_at_10"]
    return kept


def at_recall(points, target):
    for lower, upper in zip([None] + points, points):
        if upper["recall_at_10"] >= target:
            if lower is None or upper["recall_at_10"] == lower["recall_at_10"]:
                return {"p99_ms": upper["p99_ms"], "qps_2_threads": upper["qps_2_threads"]}
            f = (target - lower["recall_at_10"]) / (upper["recall_at_10"] - lower["recall_at_10"])
            return {key: round(lower[key] + f * (upper[key] - lower[key]), 4) for key in ("p99_ms", "qps_2_threads")}
    return None


def main(name, out, files):
    engines = [e for f in files for e in json.load(open(f))["engines"]]
    for e in engines:
        points = frontier(e["settings"])
        e["frontier"] = points
        e["at_recall"] = {f"{t:.2f}": at_recall(points, t) for t in TARGETS}
        e["best_recall_at_10"] = max(s["recall_at_10"] for s in e["settings"])
    json.dump({"data": name, "engines": engines}, open(out, "w"), indent=1)
    for e in engines:
        print(f"[peers] {name}: {e['engine']}: {e['bytes_per_vector']} B/vector, build {e['build_s']} s, "
              f"best R@10 {e['best_recall_at_10']}, at R@10 0.90/0.95/0.99: "
              + ", ".join(str(v and v["p99_ms"]) for v in e["at_recall"].values()), file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])

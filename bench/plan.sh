#!/usr/bin/env bash
# How honest `bin/imgvec plan` is about this machine, for both runners: its estimate for the local runner and for
# the Spark runner (seconds_by_runner) beside the wall time of fresh `bin/imgvec embed` processes on the same
# manifests (the 16 photos of 0.3-1.4 MP repeated), run with --embed.runner=local and --embed.runner=spark.
# Target: within +-25%.
# Usage: bench/plan.sh [sizes...] (default 640 2560)                          -> bench/results/plan.json
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZES=("${@:-640 2560}")
read -r -a SIZES <<< "${SIZES[*]}"
(cd "$ROOT" && mvn -q -B -DskipTests install)
WORK="$ROOT/bench/results/tmp/plan"
rm -rf "$WORK" && mkdir -p "$WORK"
RUNS="$WORK/runs.jsonl"
"$ROOT/bin/imgvec" config > /dev/null 2>&1  # a build, if one is due, is not timed
for n in "${SIZES[@]}"; do
  python3 - "$ROOT/testdata/images/photos" "$n" > "$WORK/manifest-$n.csv" <<'PY'
import pathlib, sys
photos = sorted(p for p in pathlib.Path(sys.argv[1]).iterdir() if p.suffix == ".jpg")
print("image_id,uri")
for i in range(int(sys.argv[2])):
    print(f"img{i},{photos[i % len(photos)].as_uri()}")
PY
  for runner in local spark; do  # the first run of each records the command's CDS archive: not timed
    "$ROOT/bin/imgvec" embed --manifest "$WORK/manifest-$n.csv" --output "$WORK/warm" --embed.runner=$runner \
      > /dev/null 2>&1
  done
  "$ROOT/bin/imgvec" plan --manifest "$WORK/manifest-$n.csv" 2>/dev/null | tail -1 > "$WORK/plan-$n.json"
  for r in 1 2; do
    for runner in local spark; do
      t0=$(date +%s.%N)
      "$ROOT/bin/imgvec" embed --manifest "$WORK/manifest-$n.csv" --output "$WORK/out" --embed.runner=$runner \
        > /dev/null 2>&1
      t1=$(date +%s.%N)
      python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print(json.dumps({"images":int(sys.argv[2]),
        "runner":sys.argv[3],"estimate_s":p["seconds_by_runner"][sys.argv[3]],
        "actual_s":round(float(sys.argv[5])-float(sys.argv[4]),2)}))' \
        "$WORK/plan-$n.json" "$n" "$runner" "$t0" "$t1" >> "$RUNS"
      tail -1 "$RUNS"
    done
  done
done
python3 - "$RUNS" "$WORK" > "$ROOT/bench/results/plan.json" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
out = {"runs": runs, "sizes": []}
for n in sorted({r["images"] for r in runs}):
    plan = json.load(open(f"{sys.argv[2]}/plan-{n}.json"))
    for runner in ("local", "spark"):
        rs = [r for r in runs if r["images"] == n and r["runner"] == runner]
        actual = statistics.median(r["actual_s"] for r in rs)
        est = rs[0]["estimate_s"]
        out["sizes"].append({"images": n, "runner": runner, "default_runner": plan["runner"] == runner,
                             "estimate_s": est, "actual_median_s": actual,
                             "estimate_error": round(est / actual - 1, 3),
                             "within_25_percent": abs(est / actual - 1) <= 0.25,
                             "measured_here": plan["measured_here"]})
print(json.dumps(out, indent=2))
PY
python3 "$ROOT/bench/provenance.py" "$ROOT/bench/results/plan.json" "bench/plan.sh ${SIZES[*]}" \
  "defaults (spark.master=local[*]); embed timed as fresh processes with their CDS archive"
cat "$ROOT/bench/results/plan.json"

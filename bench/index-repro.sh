#!/usr/bin/env bash
# Whether index choices reproduce: fresh auto builds of the Zipf 300k x 384 set (bench/index.sh's) into new outputs,
# on the driver and distributed on a standalone cluster (2 workers of 1 core), at each memory budget; every version
# timed again by `bin/imgvec measure` beside its manifest's p99, and measured by stock FAISS (python3-faiss,
# bench/faiss_measure.py) for its recall.
# Target: held-out R@10 spread <= 0.01 per budget; reported vs re-measured p99 within 20%.
# Usage: bench/index-repro.sh [driver builds] [distributed builds] [budgets]   -> bench/results/index-repro.json
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DRIVER="${1:-5}" DISTRIBUTED="${2:-3}" BUDGETS="${3:-30m,default}"
"$ROOT/bin/setup-system" --bench
(cd "$ROOT" && mvn -q -B -Papp-jar -DskipTests install)
source "$ROOT/bench/java-opts.sh"
data="$ROOT/bench/results/tmp/zipf"
if [[ ! -f "$data/embeddings/_SUCCESS" ]]; then
  java "${BENCH_JAVA_OPTS[@]}" -cp "$BENCH_CP" io.imgvec.bench.IndexBenchData zipf "$data" 300000
fi
work="$ROOT/bench/results/tmp/index-repro" && rm -rf "$work" && mkdir -p "$work"
(cd "$ROOT" && IMGVEC_BUILD=never java "${BENCH_JAVA_OPTS[@]}" -cp "$BENCH_CP" io.imgvec.bench.IndexReproBench \
  "$work" "$data/embeddings" "$DRIVER" "$DISTRIBUTED" "$BUDGETS") > "$ROOT/bench/results/index-repro.json"
python3 "$ROOT/bench/provenance.py" "$ROOT/bench/results/index-repro.json" \
  "bench/index-repro.sh $DRIVER $DISTRIBUTED $BUDGETS" \
  "auto builds with defaults (and --memory-budget where given); the latency model calibrated once on this machine"
cat "$ROOT/bench/results/index-repro.json"

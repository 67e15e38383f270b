#!/usr/bin/env bash
# The distributed index build on a standalone cluster (2 workers of 1 core, pinned): count x 128 synthetic vectors
# in Zipf-sized clusters, built on the driver alone, then over 1 and 2 executors (bin/imgvec submit).
# Then times the 1B x 512 build's training at full size, and the add and exact truth per vector into the index it
# trains (TrainingAtScale), and projects that build from the measured costs (bench/projection_1b.py).
# Usage: bench/index-cluster.sh [count] [nlist] [runs]   -> bench/results/index-cluster.json, projection-1b.json
#   runs: some of driver,distributed_1,distributed_2 (all of them by default; the speed-ups need all three)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COUNT="${1:-10000000}" NLIST="${2:-4096}" RUNS="${3:-driver,distributed_1,distributed_2}"
"$ROOT/bin/setup-system" --bench
(cd "$ROOT" && mvn -q -B -Papp-jar -DskipTests install)
source "$ROOT/bench/java-opts.sh"
work="$ROOT/bench/results/tmp/index-cluster-$COUNT"
mkdir -p "$work"
(cd "$ROOT" && IMGVEC_BUILD=never java "${BENCH_JAVA_OPTS[@]}" -cp "$BENCH_CP" io.imgvec.bench.IndexClusterBench \
  "$work" "$COUNT" "$NLIST" "$RUNS") > "$ROOT/bench/results/index-cluster.json"
python3 "$ROOT/bench/provenance.py" "$ROOT/bench/results/index-cluster.json" \
  "bench/index-cluster.sh $COUNT $NLIST $RUNS" "standalone cluster, 2 workers of 1 core, pinned; index.nlist=$NLIST"
cat "$ROOT/bench/results/index-cluster.json"
java "${BENCH_JAVA_OPTS[@]}" -Xmx8g -cp "$BENCH_CP" io.imgvec.bench.TrainingAtScale "IVF65536_HNSW32,PQ64np" 512 65536 \
  2 > "$work/at-scale-1b.json"
python3 "$ROOT/bench/projection_1b.py" "$ROOT/bench/results/index-cluster.json" "$ROOT/conf/instances.json" \
  "$work/at-scale-1b.json" "$ROOT/bench/results/projection-1b.json"
python3 "$ROOT/bench/provenance.py" "$ROOT/bench/results/projection-1b.json" \
  "bench/index-cluster.sh $COUNT $NLIST $RUNS" \
  "projected from index-cluster.json's per-vector costs, the training timed at full size and conf/instances.json"

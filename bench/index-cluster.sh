#!/usr/bin/env bash
# The distributed index build on a standalone cluster (2 workers of 1 core, pinned): count x 128 synthetic vectors
# in Zipf-sized clusters, built on the driver alone, then over 1 and 2 executors (bin/imgvec submit).
# Then projects a 1B x 512 build from the measured per-vector costs (bench/projection_1b.py).
# Usage: bench/index-cluster.sh [count] [nlist]      -> bench/results/index-cluster.json, projection-1b.json
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COUNT="${1:-10000000}" NLIST="${2:-4096}"
"$ROOT/bin/setup-system" --bench
(cd "$ROOT" && mvn -q -B -Papp-jar -DskipTests install)
source "$ROOT/bench/java-opts.sh"
work="$ROOT/bench/results/tmp/index-cluster-$COUNT"
mkdir -p "$work"
(cd "$ROOT" && IMGVEC_BUILD=never java "${BENCH_JAVA_OPTS[@]}" -cp "$BENCH_CP" io.imgvec.bench.IndexClusterBench \
  "$work" "$COUNT" "$NLIST") > "$ROOT/bench/results/index-cluster.json"
python3 "$ROOT/bench/provenance.py" "$ROOT/bench/results/index-cluster.json" "bench/index-cluster.sh $COUNT $NLIST" \
  "standalone cluster, 2 workers of 1 core, pinned; index.nlist=$NLIST"
cat "$ROOT/bench/results/index-cluster.json"
(cd /tmp && /usr/bin/python3 "$ROOT/bench/projection_1b.py" "$ROOT/bench/results/index-cluster.json" \
  "$ROOT/conf/instances.json" "$ROOT/bench/results/projection-1b.json")
python3 "$ROOT/bench/provenance.py" "$ROOT/bench/results/projection-1b.json" "bench/index-cluster.sh $COUNT $NLIST" \
  "projected from index-cluster.json's per-vector costs and conf/instances.json"

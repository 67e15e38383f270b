#!/usr/bin/env bash
# Serving the 10M x 128 index of bench/index-cluster.sh (run it first): 1, 2 and 4 shards searched in parallel
# (p50/p99 and searches/s on 1 and 2 threads), and memory-mapped lists against loaded ones (resident memory; p99 with
# the index file evicted from the page cache, and warm).
# Usage: bench/index-scale.sh [count] [seconds per load]                  -> bench/results/index-scale.json
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COUNT="${1:-10000000}" SECONDS_EACH="${2:-20}"
"$ROOT/bin/setup-system" --bench
(cd "$ROOT" && mvn -q -B -Papp-jar -DskipTests install)
source "$ROOT/bench/java-opts.sh"
# the heap committed and touched up front, so resident anonymous memory grows by FAISS's native memory alone
(cd "$ROOT" && IMGVEC_BUILD=never java "${BENCH_JAVA_OPTS[@]}" -Xms6g -XX:+AlwaysPreTouch -cp "$BENCH_CP" \
  io.imgvec.bench.IndexScaleBench \
  "$ROOT/bench/results/tmp/index-cluster-$COUNT" "$SECONDS_EACH") > "$ROOT/bench/results/index-scale.json"
python3 "$ROOT/bench/provenance.py" "$ROOT/bench/results/index-scale.json" "bench/index-scale.sh $COUNT $SECONDS_EACH" \
  "IVF4096,PQ32np pinned, built with --distributed on the standalone cluster (2 workers of 1 core, pinned)"
cat "$ROOT/bench/results/index-scale.json"

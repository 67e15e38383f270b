#!/usr/bin/env bash
# Where users run it: embed reading the same images from S3 (S3Proxy on loopback) vs local disk, and a standalone
# cluster (Master + 2 Workers of 1 core, separate JVMs) with 1 vs 2 executors, fresh bin/imgvec processes.
# Usage: bench/cluster.sh [images] [repeats]                              -> bench/results/cluster.json
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGES="${1:-640}" REPEATS="${2:-3}"
"$ROOT/bin/setup-system" --bench
(cd "$ROOT" && mvn -q -B -Papp-jar -DskipTests install)
source "$ROOT/bench/java-opts.sh"
work="$ROOT/bench/results/tmp/cluster" && rm -rf "$work" && mkdir -p "$work"
(cd "$ROOT" && java "${BENCH_JAVA_OPTS[@]}" -cp "$BENCH_CP" io.imgvec.bench.ClusterBench "$work" "$IMAGES" "$REPEATS") \
  > "$ROOT/bench/results/cluster.json"
python3 "$ROOT/bench/provenance.py" "$ROOT/bench/results/cluster.json" "bench/cluster.sh $IMAGES $REPEATS" \
  "defaults; standalone Master + 2 Workers of 1 core each, separate JVMs; S3Proxy on loopback"
cat "$ROOT/bench/results/cluster.json"

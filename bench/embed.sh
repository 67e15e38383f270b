#!/usr/bin/env bash
# Embed benchmark: end-to-end job vs raw model throughput, side by side in one run.
# Usage: bench/embed.sh [image count] [engine:inferenceThreads:decodeThreads,...]   -> bench/results/embed.json
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COUNT="${1:-640}"
CONFIGS="${2:-PyTorch:1:1,PyTorch:2:1,OnnxRuntime:1:1,OnnxRuntime:2:2}"
(cd "$ROOT" && mvn -q -B -DskipTests install)
source "$ROOT/bench/java-opts.sh"
rm -f "$ROOT/bench/results/embed.json"
for config in ${CONFIGS//,/ }; do  # one JVM per setting: libtorch fixes its thread count per process
  java "${BENCH_JAVA_OPTS[@]}" -cp "$BENCH_CP" io.imgvec.bench.EmbedBench "$ROOT/testdata/images/photos" \
    "$ROOT/bench/results" "$COUNT" "$config"
done
python3 "$ROOT/bench/provenance.py" "$ROOT/bench/results/embed.json" "bench/embed.sh $COUNT $CONFIGS" \
  "one warm JVM per engine:inference threads:decode threads, Spark local[1], batch 32"
cat "$ROOT/bench/results/embed.json"

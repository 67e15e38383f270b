#!/usr/bin/env bash
# Filtered search (Qdrant's method) on the synthetic 1M x 512 set of bench/index.sh: filters matching 50%, 10%, 1%
# and 0.1% of the vectors; recall against the exact nearest matching neighbours, p50/p99 in-process and through
# serve, beside over-fetch-then-post-filter.
# Usage: bench/filtered.sh [count]                                      -> bench/results/filtered-search.json
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COUNT="${1:-1000000}"
"$ROOT/bin/setup-system" --bench
(cd "$ROOT" && mvn -q -B -Papp-jar -DskipTests install)
source "$ROOT/bench/java-opts.sh"
data="$ROOT/bench/results/tmp/synthetic"
[[ -f "$data/base.f32" ]] || java "${BENCH_JAVA_OPTS[@]}" -cp "$BENCH_CP" io.imgvec.bench.IndexBenchData synthetic \
  "$data" "$COUNT"
java "${BENCH_JAVA_OPTS[@]}" -cp "$BENCH_CP" io.imgvec.bench.FilteredSearchBench "$data" \
  "$ROOT/bench/results/tmp/filtered" > "$ROOT/bench/results/filtered-search.json"
python3 "$ROOT/bench/provenance.py" "$ROOT/bench/results/filtered-search.json" "bench/filtered.sh $COUNT" \
  "auto build with its defaults; one query at a time on one thread; the server with its defaults"
cat "$ROOT/bench/results/filtered-search.json"

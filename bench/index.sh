#!/usr/bin/env bash
# Index benchmark: the build-index job (driver heap capped at 1 GB) against python3-faiss doing the same build,
# on Fashion-MNIST (60k x 784, 10k queries) and on synthetic Gaussian clusters (1M x 512 by default).
# Usage: bench/index.sh [synthetic count] [data sets]   -> bench/results/index-<data set>.json
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COUNT="${1:-1000000}"
DATASETS="${2:-fashion-mnist synthetic}"
"$ROOT/bin/setup-system" --bench
(cd "$ROOT" && mvn -q -B -DskipTests install)
source "$ROOT/bench/java-opts.sh"
for ds in $DATASETS; do
  data="$ROOT/bench/results/tmp/$ds"
  if [[ ! -f "$data/embeddings/_SUCCESS" ]]; then
    java "${BENCH_JAVA_OPTS[@]}" -cp "$BENCH_CP" io.imgvec.bench.IndexBenchData "$ds" "$data" "$COUNT"
  fi
  opts=()
  [[ "$ds" == synthetic ]] && opts=(--memory-budget 100m)  # <= 100 bytes/vector: IVF-PQ
  rm -rf "$data/published"
  echo "[bench] $ds: build-index with -Xmx1g" >&2
  IMGVEC_JAVA_OPTS="-Xmx1g" "$ROOT/bin/imgvec" build-index --embeddings "$data/embeddings" \
    --output "$data/published" "${opts[@]}" | tail -1 > "$data/build-summary.json"
  version_dir="$data/published/versions/$(cat "$data/published/LATEST")"
  read -r factory nprobe max_codes train metric < <(/usr/bin/python3 -c "
import json; m = json.load(open('$version_dir/manifest.json')); i = m['index']
print(i['factory'], i['nprobe'], i['max_codes'], i['train_size'], m['metric'])")
  /usr/bin/python3 "$ROOT/bench/faiss_python.py" "$data" "$factory" "$nprobe" "$max_codes" "$train" "$metric" \
    "$version_dir" "$data/python.json"
  java "${BENCH_JAVA_OPTS[@]}" -cp "$BENCH_CP" io.imgvec.bench.IndexBenchEval "$data" "$data/published" \
    "$data/python.json" "$data/build-summary.json" "$ROOT/bench/results/index-$ds.json"
done

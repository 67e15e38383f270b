#!/usr/bin/env bash
# Index benchmark: the build-index job (driver heap capped at 1 GB) against python3-faiss doing the same build, and
# the measured choice of index (index.type=auto) against a single build of the index it chose.
# Runs (results in bench/results/index-<run>.json):
#   fashion-mnist   Fashion-MNIST, 60k x 784, default budget
#   synthetic       1M x 512 equal Gaussian clusters (count: first argument), 100 MB budget (<= 100 bytes/vector)
#   zipf-30m        300k x 384, Zipf-sized anisotropic clusters (largest 17%), 30 MB budget
#   zipf            the same data, default budget (16 GB)
# Usage: bench/index.sh [synthetic count] [runs]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COUNT="${1:-1000000}"
RUNS="${2:-fashion-mnist synthetic zipf-30m zipf}"
"$ROOT/bin/setup-system" --bench
(cd "$ROOT" && mvn -q -B -DskipTests install)
source "$ROOT/bench/java-opts.sh"
for run in $RUNS; do
  opts=()
  case "$run" in
    synthetic) ds=synthetic; count="$COUNT"; opts=(--memory-budget 100m) ;;
    zipf-30m) ds=zipf; count=300000; opts=(--memory-budget 30m) ;;
    zipf) ds=zipf; count=300000 ;;
    *) ds="$run"; count=0 ;;
  esac
  data="$ROOT/bench/results/tmp/$ds"
  if [[ ! -f "$data/embeddings/_SUCCESS" ]]; then
    java "${BENCH_JAVA_OPTS[@]}" -cp "$BENCH_CP" io.imgvec.bench.IndexBenchData "$ds" "$data" "$count"
  fi
  out="$data/$run"
  mkdir -p "$out"
  rm -rf "$out/published" "$out/single"
  echo "[bench] $run: build-index with -Xmx1g" >&2
  IMGVEC_JAVA_OPTS="-Xmx1g" "$ROOT/bin/imgvec" build-index --embeddings "$data/embeddings" \
    --output "$out/published" "${opts[@]}" | tail -1 > "$out/build-summary.json"
  version_dir="$out/published/versions/$(cat "$out/published/LATEST")"
  read -r factory nprobe max_codes train metric k_factor pinned < <(/usr/bin/python3 -c "
import json; m = json.load(open('$version_dir/manifest.json')); i = m['index']
pinned = ('--index.type=%s --index.nlist=%d --index.pq-m=%d' % (i['type'], i['nlist'], i['pq_m'])) if 'selection' in m else ''
pinned += ' --index.refine=sq8' if pinned and i.get('refine') else ''
print(i['factory'], i['nprobe'], i['max_codes'], i['train_size'], m['metric'], i.get('k_factor', 0), pinned.replace(' ', ','))")
  if [[ -n "$pinned" ]]; then  # a rebuild publishing the next version (stable choice?), and the chosen index built
    echo "[bench] $run: rebuild" >&2  # alone (an HNSW quantizer cannot be pinned: its flat twin)
    IMGVEC_JAVA_OPTS="-Xmx1g" "$ROOT/bin/imgvec" build-index --embeddings "$data/embeddings" \
      --output "$out/published" "${opts[@]}" | tail -1 > "$out/rebuild-summary.json"
    echo "[bench] $run: single build of the chosen index" >&2
    IFS=, read -r -a single_opts <<< "$pinned"
    IMGVEC_JAVA_OPTS="-Xmx1g" "$ROOT/bin/imgvec" build-index --embeddings "$data/embeddings" \
      --output "$out/single" "${opts[@]}" "${single_opts[@]}" | tail -1 > "$out/single-summary.json"
  else
    echo '{}' > "$out/single-summary.json"
    echo '{}' > "$out/rebuild-summary.json"
  fi
  /usr/bin/python3 "$ROOT/bench/faiss_python.py" "$data" "$factory" "$nprobe" "$max_codes" "$train" "$metric" \
    "$k_factor" "$version_dir" "$out/python.json"
  java "${BENCH_JAVA_OPTS[@]}" -cp "$BENCH_CP" io.imgvec.bench.IndexBenchEval "$data" "$version_dir" \
    "$out/python.json" "$out/build-summary.json" "$out/single-summary.json" "$out/rebuild-summary.json" \
    "$ROOT/bench/results/index-$run.json"
  python3 "$ROOT/bench/provenance.py" "$ROOT/bench/results/index-$run.json" "bench/index.sh $COUNT $run" \
    "build-index with -Xmx1g, ${opts[*]:-the default budget}; python3-faiss (Debian's FAISS 1.7.3) alongside"
done

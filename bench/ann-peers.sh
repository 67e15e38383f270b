#!/usr/bin/env bash
# imgvec beside the ANN engines users compare it with, measured in one run on the same data, queries and machine:
# imgvec auto with no budget and with about 100 bytes per vector; stock FAISS HNSW32 over efSearch and IVF-PQ with
# exact and SQ8 re-ranking over nprobe x k_factor (python3-faiss, bench/ann_peers.py); Lucene 9.12.3 HNSW in the
# JVM over its candidate count (LuceneHnswPeer). Each at matched R@10 0.90 / 0.95 / 0.99 (bench/ann_frontier.py).
# Data sets (bench/index.sh's): zipf (300k x 384), fashion-mnist (60k x 784), synthetic (1M x 512).
# Each data set is a run of its own (Zipf alone takes an hour on 2 cores), with its own results file.
# Usage: bench/ann-peers.sh [data sets]                               -> bench/results/ann-peers-<data set>.json
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SETS="${1:-zipf fashion-mnist synthetic}"
"$ROOT/bin/setup-system" --bench
(cd "$ROOT" && mvn -q -B -Papp-jar -DskipTests install)
source "$ROOT/bench/java-opts.sh"
work="$ROOT/bench/results/tmp/ann-peers" && mkdir -p "$work"
for ds in $SETS; do
  case "$ds" in
    zipf) count=300000; tight=30m; ivf=(48 1024) ;;
    fashion-mnist) count=0; tight=6m; ivf=(56 256) ;;
    synthetic) count=1000000; tight=100m; ivf=(64 1024) ;;
  esac
  data="$ROOT/bench/results/tmp/$ds"
  [[ -f "$data/embeddings/_SUCCESS" ]] || java "${BENCH_JAVA_OPTS[@]}" -cp "$BENCH_CP" io.imgvec.bench.IndexBenchData \
    "$ds" "$data" "$count"
  echo "[bench] $ds: stock FAISS peers" >&2
  /usr/bin/python3 "$ROOT/bench/ann_peers.py" "$data" "$work/$ds-faiss.json" "${ivf[@]}"
  echo "[bench] $ds: Lucene HNSW" >&2
  java "${BENCH_JAVA_OPTS[@]}" --add-modules jdk.incubator.vector -cp "$BENCH_CP" io.imgvec.bench.LuceneHnswPeer \
    "$data" "$work/$ds-lucene.json"
  imgvec=()
  for budget in default "$tight"; do
    out="$work/$ds-imgvec-$budget" && rm -rf "$out"
    opts=() && [[ "$budget" == default ]] || opts=(--memory-budget "$budget")
    echo "[bench] $ds: imgvec auto, budget $budget" >&2
    "$ROOT/bin/imgvec" build-index --embeddings "$data/embeddings" --output "$out" "${opts[@]}" | tail -1 \
      > "$out.summary.json"
    imgvec+=("budget $budget" "$out" "$out.summary.json")
  done
  java "${BENCH_JAVA_OPTS[@]}" -cp "$BENCH_CP" io.imgvec.bench.ImgvecPeer "$data" "$work/$ds-imgvec.json" \
    "${imgvec[@]}"
  python3 "$ROOT/bench/ann_frontier.py" "$ds" "$work/$ds.json" "$work/$ds-imgvec.json" "$work/$ds-faiss.json" \
    "$work/$ds-lucene.json"
  result="$ROOT/bench/results/ann-peers-$ds.json"
  python3 -c 'import json, sys; json.dump({"data_sets": [json.load(open(sys.argv[2]))]}, open(sys.argv[1], "w"),
    indent=1)' "$result" "$work/$ds.json"
  python3 "$ROOT/bench/provenance.py" "$result" "bench/ann-peers.sh $ds" \
    "one query per search on one thread for p50/p99 (each query's median over passes); 2 threads for queries/s"
done

#!/usr/bin/env bash
# Streaming as users run it, against a real broker (bin/kafka-local), every job a fresh bin/imgvec process:
#  1. sustained images/s of `stream --trigger available-now` vs `embed` on the same images, interleaved (defaults);
#  2. produce-to-visible latency p50/p99 at half the stream's sustained rate with a 2 s processing-time trigger;
#  3. update-index adding 10% to a 1M x 512 index vs a full rebuild of the same 1.1M vectors: time and recall.
# Usage: bench/stream.sh [images] [repeats] [base vectors]                 -> bench/results/stream.json
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGES="${1:-5120}" REPEATS="${2:-2}" BASE="${3:-1000000}"
(cd "$ROOT" && mvn -q -B -DskipTests install)
source "$ROOT/bench/java-opts.sh"
WORK="$ROOT/bench/results/tmp/stream"
rm -rf "$WORK" && mkdir -p "$WORK"
export KAFKA_LOCAL_DIR="$WORK/kafka" KAFKA_LOCAL_PORT="${KAFKA_LOCAL_PORT:-19092}"
BROKER="127.0.0.1:$KAFKA_LOCAL_PORT"
"$ROOT/bin/kafka-local" start
trap '"$ROOT/bin/kafka-local" stop' EXIT
imgvec() { "$ROOT/bin/imgvec" "$@" 2>>"$WORK/jobs.log"; }
bench() { java "${BENCH_JAVA_OPTS[@]}" -cp "$BENCH_CP" io.imgvec.bench.StreamBench "$@" 2>>"$WORK/bench.log"; }

# 1. Throughput: the 16 photos of 0.3-1.4 MP repeated, as a manifest and as records.
python3 - "$ROOT/testdata/images/photos" "$IMAGES" > "$WORK/manifest.csv" <<'PY'
import pathlib, sys
photos = sorted(p for p in pathlib.Path(sys.argv[1]).iterdir() if p.suffix == ".jpg")
print("image_id,uri")
for i in range(int(sys.argv[2])):
    print(f"img{i},{photos[i % len(photos)].as_uri()}")
PY
imgvec produce --manifest "$WORK/manifest.csv" --bootstrap-servers "$BROKER" --topic throughput > /dev/null
imgvec embed --manifest "$WORK/manifest.csv" --output "$WORK/warm" > /dev/null  # class-data-sharing archive
RUNS="$WORK/runs.jsonl"
for ((r = 0; r < REPEATS; r++)); do
  t0=$(date +%s.%N)
  imgvec embed --manifest "$WORK/manifest.csv" --output "$WORK/batch-$r" | tail -1 > "$WORK/batch-$r.json"
  t1=$(date +%s.%N)
  imgvec stream --bootstrap-servers "$BROKER" --topic throughput --output "$WORK/stream-$r" \
    --checkpoint "$WORK/checkpoint-$r" --trigger available-now --input.allowed-uri-prefixes="$ROOT/testdata/images" \
    > "$WORK/stream-$r.out"
  t2=$(date +%s.%N)
  python3 - "$WORK/batch-$r.json" "$WORK/stream-$r.out" "$t0" "$t1" "$t2" >> "$RUNS" <<'PY'
import json, sys
batch = json.load(open(sys.argv[1]))
lines = [json.loads(l) for l in open(sys.argv[2]) if l.startswith("{")]
progress = [l["stream_progress"] for l in lines if "stream_progress" in l]
summary = lines[-1]
t0, t1, t2 = map(float, sys.argv[3:6])
print(json.dumps({
    "batch_embedded": batch["embedded"], "batch_images_per_s": round(batch["embedded"] / batch["embed_and_write_s"], 2),
    "batch_wall_s": round(t1 - t0, 2),
    "stream_embedded": summary["embedded"], "stream_batches": len(progress),
    "stream_images_per_s": round(sum(p["embedded"] for p in progress) / sum(p["batch_duration_s"] for p in progress), 2),
    "stream_wall_s": round(t2 - t1, 2), "stream_accounting_ok": summary["accounting_ok"]}))
PY
  tail -1 "$RUNS"
done
SUSTAINED=$(python3 -c 'import json,sys,statistics; print(statistics.median(json.loads(l)["stream_images_per_s"] for l in open(sys.argv[1])))' "$RUNS")

# 2. Latency at half the sustained rate, 2 s trigger, 90 s of records (after a 15 s warm-up at that rate).
RATE=$(python3 -c "print(round($SUSTAINED / 2, 1))")
PHOTO=$(ls "$ROOT"/testdata/images/photos/*.jpg | head -1)
printf 'image_id,uri\ntopic-created,%s\n' "$PHOTO" > "$WORK/create-latency.csv"  # stream refuses a missing topic
imgvec produce --manifest "$WORK/create-latency.csv" --bootstrap-servers "$BROKER" --topic latency > /dev/null
"$ROOT/bin/imgvec" stream --bootstrap-servers "$BROKER" --topic latency --output "$WORK/latency" \
  --checkpoint "$WORK/latency-checkpoint" --trigger processing-time=2s --input.allowed-uri-prefixes="$ROOT/testdata/images" \
  > "$WORK/latency-stream.out" 2>"$WORK/latency-stream.err" &
STREAM_PID=$!
until grep -q "stream running" "$WORK/latency-stream.err" 2>/dev/null; do  # model loaded, query started
  kill -0 "$STREAM_PID" 2>/dev/null || { tail -3 "$WORK/latency-stream.err" >&2; exit 1; }
  sleep 1
done
bench latency "$BROKER" latency "$PHOTO" "$RATE" 90 "$WORK/latency" > "$WORK/latency.json"
kill "$STREAM_PID"; wait "$STREAM_PID" || true
cat "$WORK/latency.json"

# 3. update-index (+10%) vs a full rebuild over the same 1.1M x 512 vectors.
ADDED=$((BASE / 10))
bench generate "$WORK/vectors" 0 "$BASE" 512
imgvec build-index --embeddings "$WORK/vectors" --output "$WORK/index" | tail -1 > "$WORK/base-build.json"
bench generate "$WORK/vectors" "$BASE" "$ADDED" 512
t0=$(date +%s.%N)
imgvec update-index --index "$WORK/index" --embeddings "$WORK/vectors" | tail -1 > "$WORK/update.json"
t1=$(date +%s.%N)
imgvec build-index --embeddings "$WORK/vectors" --output "$WORK/rebuilt" | tail -1 > "$WORK/rebuild.json"
t2=$(date +%s.%N)

python3 - "$RUNS" "$WORK/latency.json" "$WORK/base-build.json" "$WORK/update.json" "$WORK/rebuild.json" \
  "$t0" "$t1" "$t2" > "$ROOT/bench/results/stream.json" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
latency = json.load(open(sys.argv[2]))
base, update, rebuild = (json.load(open(f)) for f in sys.argv[3:6])
t0, t1, t2 = map(float, sys.argv[6:9])
med = lambda k: statistics.median(r[k] for r in runs)
print(json.dumps({
    "throughput": {"runs": runs, "stream_images_per_s": med("stream_images_per_s"),
                   "batch_images_per_s": med("batch_images_per_s"),
                   "stream_to_batch_ratio": round(med("stream_images_per_s") / med("batch_images_per_s"), 3),
                   "wall_ratio_batch_to_stream": round(med("batch_wall_s") / med("stream_wall_s"), 3)},
    "latency_2s_trigger": latency,
    "update_vs_rebuild": {
        "base": {"count": base["count"], "index": base["index"]["factory"], "recall_at_10": base["metrics"]["recall_at_10"],
                 "duration_s": base["duration_s"]},
        "update": {"added": update["update"]["added"], "count": update["count"], "wall_s": round(t1 - t0, 2),
                   "recall_at_10": update["metrics"]["recall_at_10"], "latency_p99_ms": update["metrics"]["latency_p99_ms"],
                   "rebuild_due": update["update"]["rebuild_due"], "timings": update["timings"]},
        "rebuild": {"count": rebuild["count"], "wall_s": round(t2 - t1, 2), "recall_at_10": rebuild["metrics"]["recall_at_10"],
                    "latency_p99_ms": rebuild["metrics"]["latency_p99_ms"], "nprobe": rebuild["index"]["nprobe"]},
        "time_ratio_update_to_rebuild": round((t1 - t0) / (t2 - t1), 3)}}, indent=2))
PY
python3 "$ROOT/bench/provenance.py" "$ROOT/bench/results/stream.json" "bench/stream.sh $IMAGES $REPEATS $BASE" \
  "defaults (the local runner for embed); a broker from bin/kafka-local on the same cores"
cat "$ROOT/bench/results/stream.json"

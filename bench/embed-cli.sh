#!/usr/bin/env bash
# The throughput users get: fresh `bin/imgvec embed` processes timed from command start (JVM, model load and all),
# at two sizes so fixed start-up and steady state separate; the defaults (the local runner) beside other thread flags
# and the Spark runner; and the CPU bound cores / (decode + inference CPU per image), measured apart in the same run.
# Usage: bench/embed-cli.sh [small] [large] [repeats]                       -> bench/results/embed-cli.json
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SMALL="${1:-640}" LARGE="${2:-2560}" REPEATS="${3:-3}"
(cd "$ROOT" && mvn -q -B -DskipTests install)
source "$ROOT/bench/java-opts.sh"
WORK="$ROOT/bench/results/tmp/cli"
rm -rf "$WORK" && mkdir -p "$WORK"
for n in "$SMALL" "$LARGE"; do  # the 16 photos of 0.3-1.4 MP, repeated
  python3 - "$ROOT/testdata/images/photos" "$n" > "$WORK/manifest-$n.csv" <<'PY'
import pathlib, sys
photos = sorted(p for p in pathlib.Path(sys.argv[1]).iterdir() if p.suffix == ".jpg")
print("image_id,uri")
for i in range(int(sys.argv[2])):
    print(f"img{i},{photos[i % len(photos)].as_uri()}")
PY
done
"$ROOT/bin/imgvec" embed --manifest "$WORK/manifest-$SMALL.csv" --output "$WORK/out" >/dev/null 2>&1  # first run records the CDS archive
RUNS="$WORK/runs.jsonl"
run() {  # run <label> <images> [flags...]: one fresh process, wall and CPU (user+sys) from the shell
  local label="$1" n="$2"; shift 2
  local t0 t1 cpu0 cpu1
  t0=$(date +%s.%N); read -r cpu0 < <(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
  "$ROOT/bin/imgvec" embed --manifest "$WORK/manifest-$n.csv" --output "$WORK/out" "$@" > "$WORK/summary.json" 2>/dev/null
  t1=$(date +%s.%N); read -r cpu1 < <(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(json.dumps({"label":sys.argv[2],"images":int(sys.argv[3]),
    "flags":sys.argv[7:],"wall_s":round(float(sys.argv[5])-float(sys.argv[4]),3),"cpu_s":round(float(sys.argv[6])/100,2),
    "embedded":s["embedded"],"accounting_ok":s["accounting_ok"]}))' \
    <(tail -1 "$WORK/summary.json") "$label" "$n" "$t0" "$t1" "$((cpu1 - cpu0))" "$@" >> "$RUNS"
  tail -1 "$RUNS"
}
for ((r = 0; r < REPEATS; r++)); do  # interleaved, so machine noise hits every setting alike
  run defaults "$SMALL"
  run defaults "$LARGE"
  run inference-2 "$LARGE" --inference.threads=2 --decode.threads=1
  run decode-2 "$LARGE" --inference.threads=1 --decode.threads=2
  run one-task-2-threads "$LARGE" --spark.master='local[1]' --inference.threads=2 --decode.threads=2
  run spark-runner "$SMALL" --embed.runner=spark
  run spark-runner "$LARGE" --embed.runner=spark
done
java "${BENCH_JAVA_OPTS[@]}" -cp "$BENCH_CP" io.imgvec.bench.CpuCosts "$ROOT/testdata/images/photos" 20 > "$WORK/cpu.json"
python3 "$ROOT/bench/embed_cli_report.py" "$RUNS" "$WORK/cpu.json" "$SMALL" "$LARGE" > "$ROOT/bench/results/embed-cli.json"
python3 "$ROOT/bench/provenance.py" "$ROOT/bench/results/embed-cli.json" "bench/embed-cli.sh $SMALL $LARGE $REPEATS" \
  "fresh bin/imgvec embed processes with their CDS archive; defaults unless the run's flags say otherwise"
cat "$ROOT/bench/results/embed-cli.json"

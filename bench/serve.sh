#!/usr/bin/env bash
# Serving benchmark: wrk (8 connections, POSTing the data set's query vectors, k = 10) against `imgvec serve` over
# the 1M x 512 IVF-PQ index of bench/index.sh, beside the same searches in-process with the same number of threads;
# then the same vector load beside a stream of hostile requests (100 MP PNG header bombs, over-cap batches, filters on
# a column the index lacks, missing and wrong tokens; 2 more connections, each pausing 20 ms between requests) in the
# same run; bearer tokens are on throughout;
# then image queries (POST /search/image) against the demo photos' index.
# Usage: bench/serve.sh [seconds] [connections]                          -> bench/results/serve.json
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_EACH="${1:-20}" CONNECTIONS="${2:-8}"
"$ROOT/bin/setup-system" --bench
(cd "$ROOT" && mvn -q -B -DskipTests install)
source "$ROOT/bench/java-opts.sh"
data="$ROOT/bench/results/tmp/synthetic"
if [[ ! -f "$data/published/LATEST" ]]; then  # the index bench/index.sh builds (data, then build-index only)
  [[ -f "$data/embeddings/_SUCCESS" ]] || java "${BENCH_JAVA_OPTS[@]}" -cp "$BENCH_CP" io.imgvec.bench.IndexBenchData \
    synthetic "$data" 1000000
  IMGVEC_JAVA_OPTS="-Xmx1g" "$ROOT/bin/imgvec" build-index --embeddings "$data/embeddings" --output "$data/published" \
    --memory-budget 100m | tail -1 > /dev/null
fi
work="$ROOT/bench/results/tmp/serve" && rm -rf "$work" && mkdir -p "$work"
java "${BENCH_JAVA_OPTS[@]}" -cp "$BENCH_CP" io.imgvec.bench.ServeBench lua "$data" "$work/vectors.lua"
token="bench-$(date +%s%N)" && printf '%s\n' "$token" > "$work/tokens"
printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$token" >> "$work/vectors.lua"
python3 - "$work" "$token" <<'PY'
import json, struct, sys, zlib
work, token = sys.argv[1], sys.argv[2]
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
rows = zlib.compressobj(9)  # 10000 x 10000 RGBA of zeros: ~400 KB declaring 100 MP
idat = b"".join(rows.compress(bytes(1 + 4 * 10000)) for _ in range(10000)) + rows.flush()
open(f"{work}/bomb.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 10000, 10000, 8, 6, 0, 0, 0))
    + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
vector = [0.01] * 512
json.dump({"vectors": [vector] * 200, "k": 1000}, open(f"{work}/overcap-batch.json", "w"))
json.dump({"vector": vector, "k": 10, "filter": {"shard": "0"}}, open(f"{work}/overcap-filter.json", "w"))
lua = f"""
local function read(name) local f = assert(io.open("{work}/" .. name, "rb")); local s = f:read("*a"); f:close(); return s end
local good = {{["Authorization"] = "Bearer {token}"}}
local reqs = {{
  wrk.format("POST", "/search/image", good, read("bomb.png")),
  wrk.format("POST", "/search/batch", good, read("overcap-batch.json")),
  wrk.format("POST", "/search", good, read("overcap-filter.json")),
  wrk.format("POST", "/search", {{["Authorization"] = "Bearer wrong-token"}}, read("overcap-filter.json")),
  wrk.format("POST", "/search", nil, read("overcap-filter.json")),
}}
local i = 0
request = function() i = i % #reqs + 1; return reqs[i] end
delay = function() return 20 end
"""
open(f"{work}/hostile.lua", "w").write(lua)
PY
cat > "$work/image.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $token"
local f = assert(io.open("$ROOT/demo/photos/china.jpg", "rb")); wrk.body = f:read("*a"); f:close()
LUA

serve() {  # serve <index> <port> [options]: starts the server (its pid in SERVER), waits until it is ready
  local index="$1" port="$2"; shift 2
  IMGVEC_CDS=false IMGVEC_JAVA_OPTS="-Xmx2g" "$ROOT/bin/imgvec" serve --index "$index" --port "$port" \
    --serve.auth-token-file="$work/tokens" "$@" \
    > "$work/serve-$port.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 120); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return; sleep 1; done
  echo "server on $port did not become ready" >&2; exit 1
}
stop_server() {  # the launcher execs java, so $SERVER is the JVM
  kill "$SERVER" && wait "$SERVER" 2>/dev/null || true
}
wrk_json() {  # wrk_json <label> <url> <script> <connections>: one wrk run as a JSON line
  wrk -t2 -c"$4" -d"${SECONDS_EACH}s" --latency -s "$3" "$2" > "$work/$1.txt"
  python3 - "$work/$1.txt" "$1" "$4" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
def ms(label):
    m = re.search(r"^\s*" + label + r"%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    return round(float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)], 3)
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(json.dumps({"label": sys.argv[2], "connections": int(sys.argv[3]),
    "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
    "p50_ms": ms("50"), "p99_ms": ms("99"), "non_2xx": int(errors.group(1)) if errors else 0}))
PY
}
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT  # servers left by a failure
serve "$data/published" 18181
curl -sf -XPOST -H "Authorization: Bearer $token" "http://127.0.0.1:18181/search" -d '{"image_id": "v0", "k": 10}' \
  > /dev/null  # warm-up
wrk -t2 -c"$CONNECTIONS" -d5s -s "$work/vectors.lua" "http://127.0.0.1:18181/search" > /dev/null  # JIT warm-up
wrk_json vectors "http://127.0.0.1:18181/search" "$work/vectors.lua" "$CONNECTIONS" > "$work/http.json"
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status")
wrk -t1 -c2 -d"$((SECONDS_EACH + 2))s" -s "$work/hostile.lua" "http://127.0.0.1:18181/" > "$work/hostile-stream.txt" &
hostile=$!
sleep 1
wrk_json vectors_under_attack "http://127.0.0.1:18181/search" "$work/vectors.lua" "$CONNECTIONS" > "$work/attack.json"
wait "$hostile"
attack_rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")
curl -sf "http://127.0.0.1:18181/readyz" > /dev/null  # still ready
stop_server
serve "$data/published" 18182 --serve.mmap=true
wrk -t2 -c"$CONNECTIONS" -d5s -s "$work/vectors.lua" "http://127.0.0.1:18182/search" > /dev/null
rss_mmap_kb=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status")
stop_server
java "${BENCH_JAVA_OPTS[@]}" -cp "$BENCH_CP" io.imgvec.bench.ServeBench inprocess "$data" "$CONNECTIONS" \
  "$SECONDS_EACH" 10 > "$work/inprocess.json"
demo="$work/demo" && "$ROOT/bin/imgvec" embed --manifest "$ROOT/demo/manifest.csv" --output "$demo" > /dev/null 2>&1
"$ROOT/bin/imgvec" build-index --embeddings "$demo" --output "$demo/index" > /dev/null 2>&1
serve "$demo/index" 18183
wrk -t2 -c2 -d5s -s "$work/image.lua" "http://127.0.0.1:18183/search/image" > /dev/null
wrk_json images "http://127.0.0.1:18183/search/image" "$work/image.lua" 2 > "$work/images.json"
stop_server
python3 - "$work" "$rss_kb" "$rss_mmap_kb" "$attack_rss_kb" > "$ROOT/bench/results/serve.json" <<'PY'
import json, re, sys
work, rss, rss_mmap, attack_peak = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
http = json.load(open(f"{work}/http.json")); inproc = json.load(open(f"{work}/inprocess.json"))
attack = json.load(open(f"{work}/attack.json")); hostile = open(f"{work}/hostile-stream.txt").read()
print(json.dumps({"benchmark": "serve", "index": "synthetic 1M x 512, IVF-PQ (bench/index.sh)",
    "k": 10, "auth": "bearer tokens on (serve.auth-token-file)",
    "http_wrk": http, "in_process_same_threads": inproc,
    "under_hostile_stream": {"normal_load": attack,
        "throughput_over_clean": round(attack["requests_per_s"] / http["requests_per_s"], 3),
        "hostile_requests": int(re.search(r"(\d+) requests in", hostile).group(1)),
        "hostile_non_2xx": int(re.search(r"Non-2xx or 3xx responses: (\d+)", hostile).group(1)),
        "server_peak_resident_mb": round(attack_peak / 1024)},
    "http_over_in_process": round(http["requests_per_s"] / inproc["searches_per_s"], 3),
    "resident_mb": {"loaded": round(rss / 1024), "mmap": round(rss_mmap / 1024)},
    "image_queries": json.load(open(f"{work}/images.json"))}, indent=2))
PY
python3 "$ROOT/bench/provenance.py" "$ROOT/bench/results/serve.json" "bench/serve.sh $SECONDS_EACH $CONNECTIONS" \
  "serve defaults plus serve.auth-token-file; wrk on the same cores as the server"
cat "$ROOT/bench/results/serve.json"

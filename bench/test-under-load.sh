#!/usr/bin/env bash
# The whole test suite on a clean clone of HEAD while one core spins, to find tests that fail on a busy machine.
# Usage: bench/test-under-load.sh [label]   (appends one line per run to bench/results/test-under-load.jsonl)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
label="${1:-run}"
work="$(mktemp -d /tmp/imgvec-load-XXXXXX)"
git clone -q "$ROOT" "$work/imgvec"
commit="$(git -C "$work/imgvec" rev-parse --short HEAD)"
( while :; do :; done ) &  # the load: a busy loop on one core
spinner=$!
trap 'kill $spinner 2>/dev/null || true' EXIT
start=$(date +%s)
status=0
(cd "$work/imgvec" && bin/test -Dmaven.test.failure.ignore=true > "$work/test.log" 2>&1) || status=$?
seconds=$(( $(date +%s) - start ))
failed=$({ grep -hE '^\[ERROR\] (Tests run:.*FAILURE|  ?[A-Za-z]+(IT|Test)\.)' "$work/test.log" || true; } \
  | sed 's/^\[ERROR\] *//' | cut -c1-200 | sort -u | python3 -c 'import json,sys; print(json.dumps([l.strip() for l in sys.stdin]))')
printf '{"label": "%s", "date": "%s", "commit": "%s", "command": "bench/test-under-load.sh %s", "settings": "bin/test on a clean clone", "load": "one busy core", "cores": %s, "exit": %s, "seconds": %s, "failed": %s, "log": "%s"}\n' \
  "$label" "$(date -u +%FT%TZ)" "$commit" "$label" "$(nproc)" "$status" "$seconds" "$failed" "$work/test.log" \
  | tee -a "$ROOT/bench/results/test-under-load.jsonl"

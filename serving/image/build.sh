#!/usr/bin/env bash
# Builds the server's container image as a tarball without a Docker daemon or a registry:
#   1. a base image (Debian 12 minbase + OpenJDK 17 JRE: the FAISS shim links OpenBLAS and bundles libgomp) made with
#      debootstrap from Debian's mirror, saved as a docker-archive tarball (skipped when it exists);
#   2. the application on top with Jib (mvn -Pimage), FROM that tarball  -> serving/target/jib-image.tar
# With --check, the image's layers are unpacked into a root file system and the server is started in it (chroot)
# over the demo photos' index: /readyz and a search must answer. Needs root (debootstrap, chroot).
# A registry-hosted base works too: mvn -Pimage -pl serving -am package -Dimgvec.base-image=<image>.
# Usage: serving/image/build.sh [--check]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="$ROOT/serving/target/image"
BASE="$WORK/base-image.tar"
mkdir -p "$WORK"
if [[ ! -f "$BASE" ]]; then
  command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >&2
  rootfs="$WORK/base-rootfs" && rm -rf "$rootfs"
  echo "[image] debootstrap Debian 12 with a Java 17 runtime ..." >&2
  debootstrap --variant=minbase --include=openjdk-17-jre-headless,ca-certificates \
    bookworm "$rootfs" http://deb.debian.org/debian >&2
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  python3 "$ROOT/serving/image/docker_archive.py" "$rootfs" "$BASE"
  rm -rf "$rootfs"
fi
(cd "$ROOT" && mvn -q -B -Pimage -pl serving -am package -DskipTests -Dimgvec.base-image="tar://$BASE")
echo "[image] built $ROOT/serving/target/jib-image.tar" >&2
[[ "${1:-}" == --check ]] || exit 0

# Run the image: unpack its layers in order into a root file system, start its entry point there, query it.
check="$WORK/check" && { umount -l "$check/rootfs/proc" 2>/dev/null || true; } && rm -rf "$check"
mkdir -p "$check/rootfs"
tar --warning=no-unknown-keyword -xf "$ROOT/serving/target/jib-image.tar" -C "$check"
python3 - "$check" <<'PY'
import json, subprocess, sys
check = sys.argv[1]
manifest = json.load(open(f"{check}/manifest.json"))[0]
for layer in manifest["Layers"]:
    subprocess.run(["tar", "--warning=no-unknown-keyword", "-xf", f"{check}/{layer}", "-C", f"{check}/rootfs"],
                   check=True)
config = json.load(open(f"{check}/{manifest['Config']}"))["config"]
open(f"{check}/entrypoint", "w").write("\0".join(config["Entrypoint"]))
open(f"{check}/env", "w").write("\0".join(config.get("Env", [])))
PY
demo="$WORK/demo"
"$ROOT/bin/imgvec" embed --manifest "$ROOT/demo/manifest.csv" --output "$demo" >/dev/null 2>&1
"$ROOT/bin/imgvec" build-index --embeddings "$demo" --output "$check/rootfs/index" >/dev/null 2>&1
mount --bind /proc "$check/rootfs/proc"
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; umount -l "$check/rootfs/proc"' EXIT
mapfile -d '' -t entrypoint < "$check/entrypoint"
mapfile -d '' -t env < "$check/env"
env -i "${env[@]}" chroot "$check/rootfs" "${entrypoint[@]}" --index /index --host 127.0.0.1 --port 18290 \
  > "$check/server.log" 2>&1 &
server=$!
for _ in $(seq 60); do curl -sf http://127.0.0.1:18290/readyz >/dev/null && break; sleep 1; done
if ! curl -sf http://127.0.0.1:18290/readyz || ! curl -sf -XPOST http://127.0.0.1:18290/search \
    -d '{"image_id": "china", "k": 2}'; then
  echo "[image] the image does not serve; its log:" >&2; tail -20 "$check/server.log" >&2; exit 1
fi
echo; echo "[image] the image serves the demo index (log: $check/server.log)" >&2

#!/usr/bin/env bash
# Builds the FAISS JNI shim against Debian's static libfaiss; called by Maven (faiss module, process-classes).
# Usage: build.sh <source dir> <output .so>
set -euo pipefail
src="$1"; out="$2"
missing=()
[[ -f /usr/include/faiss/Index.h && -f /usr/lib/x86_64-linux-gnu/libfaiss.a ]] || missing+=(libfaiss-dev)
[[ -e /usr/lib/x86_64-linux-gnu/libopenblas.so ]] || missing+=(libopenblas-dev)
command -v g++ >/dev/null || missing+=(g++)
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "imgvec-faiss: cannot build the FAISS JNI library; missing Debian packages: ${missing[*]}" >&2
  echo "  install them with: sudo apt-get install -y ${missing[*]}   (or run bin/setup-system)" >&2
  exit 1
fi
java_home="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}"
mkdir -p "$(dirname "$out")"
sources=("$src"/*.cpp)
if [[ -f "$out" ]] && [[ -z "$(find "$src" -newer "$out" -name '*.[ch]*')" ]]; then exit 0; fi
g++ -O2 -std=c++17 -fPIC -shared -fopenmp -Wall \
  -I"$java_home/include" -I"$java_home/include/linux" \
  "${sources[@]}" -o "$out" \
  /usr/lib/x86_64-linux-gnu/libfaiss.a -lopenblas -llapack -lgomp \
  -Wl,--exclude-libs,ALL -Wl,--no-undefined
echo "imgvec-faiss: built $out"

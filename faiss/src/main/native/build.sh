#!/usr/bin/env bash
# Builds the FAISS JNI shim against Debian's static libfaiss; called by Maven (faiss module, process-classes).
# Made to load on a stock Amazon Linux 2023 node (glibc 2.34, GCC 11's libstdc++, no OpenBLAS, no Fortran runtime):
# FAISS, OpenBLAS (with its LAPACK) and libstdc++ are linked in statically; portable_runtime.cpp supplies the one
# libgfortran routine OpenBLAS calls and glibc 2.36's arc4random; libgomp cannot be linked statically (TLS
# relocations), so libgomp.so.1 is copied beside the library and loaded first from the jar (as the faiss-cpu wheels
# do). NativeLibrariesTest checks what the result needs.
# FAISS's float distance functions are wrapped (--wrap) by distance_kernels.cpp's AVX2 versions.
# Usage: build.sh <source dir> <output .so>
set -euo pipefail
src="$1"; out="$2"
missing=()
[[ -f /usr/include/faiss/Index.h && -f /usr/lib/x86_64-linux-gnu/libfaiss.a ]] || missing+=(libfaiss-dev)
openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.a
gomp=/usr/lib/x86_64-linux-gnu/libgomp.so.1
[[ -f "$openblas" ]] || missing+=(libopenblas-dev)
command -v g++ >/dev/null || missing+=(g++)
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "imgvec-faiss: cannot build the FAISS JNI library; missing Debian packages: ${missing[*]}" >&2
  echo "  install them with: sudo apt-get install -y ${missing[*]}   (or run bin/setup-system)" >&2
  exit 1
fi
java_home="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}"
mkdir -p "$(dirname "$out")"
sources=("$src"/*.cpp)
wrapped=(_ZN5faiss18fvec_inner_productEPKfS1_m _ZN5faiss10fvec_L2sqrEPKfS1_m _ZN5faiss15fvec_norm_L2sqrEPKfm
  _ZN5faiss22fvec_inner_products_nyEPfPKfS2_mm _ZN5faiss13fvec_L2sqr_nyEPfPKfS2_mm
  _ZN5faiss21fvec_L2sqr_ny_nearestEPfPKfS2_mm _ZN5faiss9fvec_maddEmPKffS1_Pf)
wrap_flags=("${wrapped[@]/#/-Wl,--wrap=}")
if [[ -f "$out" ]] && [[ -z "$(find "$src" -newer "$out" -name '*.[ch]*')" ]]; then exit 0; fi
g++ -O2 -std=c++17 -fPIC -shared -fopenmp -Wall \
  -I"$java_home/include" -I"$java_home/include/linux" \
  "${sources[@]}" -o "$out" \
  /usr/lib/x86_64-linux-gnu/libfaiss.a "$openblas" -static-libstdc++ -lgomp -lm \
  -Wl,--exclude-libs,ALL -Wl,--no-undefined "${wrap_flags[@]}"
cp -L "$gomp" "$(dirname "$out")/libgomp.so.1"
echo "imgvec-faiss: built $out"

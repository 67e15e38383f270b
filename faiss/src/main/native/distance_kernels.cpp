// FAISS's float distance loops, in AVX2 + FMA where the processor has them.
// Debian builds libfaiss for any x86-64 processor, which leaves its distance functions on their plain reference
// loops: one multiply-add a dimension, each waiting for the one before. Every search spends its fixed cost there
// (scanning the coarse centroids, computing the PQ look-up tables, walking an HNSW graph), so a query on
// Fashion-MNIST's 784 dimensions cost about 0.28 ms before its first list was scanned.
// build.sh links the library with --wrap for each function below: FAISS's own calls reach the __wrap_ version,
// which runs the AVX2 loop or, on a processor without AVX2, FAISS's own function (__real_).
#include <immintrin.h>

#include <cmath>
#include <cstddef>

#include "simd.h"

namespace imgvec {

const bool kHasAvx2Fma = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}();

namespace {

// Two accumulators, so that consecutive multiply-adds do not wait on each other.
__attribute__((target("avx2,fma"))) inline float innerProduct(const float* x, const float* y, size_t d) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t j = 0;
  for (; j + 16 <= d; j += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + j), _mm256_loadu_ps(y + j), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + j + 8), _mm256_loadu_ps(y + j + 8), acc1);
  }
  if (j + 8 <= d) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + j), _mm256_loadu_ps(y + j), acc0);
    j += 8;
  }
  float sum = sum8(_mm256_add_ps(acc0, acc1));
  for (; j < d; j++) sum += x[j] * y[j];
  return sum;
}

__attribute__((target("avx2,fma"))) inline float squaredL2(const float* x, const float* y, size_t d) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t j = 0;
  for (; j + 16 <= d; j += 16) {
    __m256 diff0 = _mm256_sub_ps(_mm256_loadu_ps(x + j), _mm256_loadu_ps(y + j));
    __m256 diff1 = _mm256_sub_ps(_mm256_loadu_ps(x + j + 8), _mm256_loadu_ps(y + j + 8));
    acc0 = _mm256_fmadd_ps(diff0, diff0, acc0);
    acc1 = _mm256_fmadd_ps(diff1, diff1, acc1);
  }
  if (j + 8 <= d) {
    __m256 diff = _mm256_sub_ps(_mm256_loadu_ps(x + j), _mm256_loadu_ps(y + j));
    acc0 = _mm256_fmadd_ps(diff, diff, acc0);
    j += 8;
  }
  float sum = sum8(_mm256_add_ps(acc0, acc1));
  for (; j < d; j++) {
    float diff = x[j] - y[j];
    sum += diff * diff;
  }
  return sum;
}

__attribute__((target("avx2,fma"))) void innerProducts(float* ip, const float* x, const float* y, size_t d,
                                                        size_t ny) {
  for (size_t i = 0; i < ny; i++) ip[i] = innerProduct(x, y + i * d, d);
}

__attribute__((target("avx2,fma"))) void squaredL2s(float* dis, const float* x, const float* y, size_t d,
                                                     size_t ny) {
  for (size_t i = 0; i < ny; i++) dis[i] = squaredL2(x, y + i * d, d);
}

__attribute__((target("avx2,fma"))) void multiplyAdd(size_t n, const float* a, float bf, const float* b, float* c) {
  __m256 factor = _mm256_set1_ps(bf);
  size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    _mm256_storeu_ps(c + j, _mm256_fmadd_ps(factor, _mm256_loadu_ps(b + j), _mm256_loadu_ps(a + j)));
  }
  for (; j < n; j++) c[j] = a[j] + bf * b[j];
}

}  // namespace
}  // namespace imgvec

using imgvec::kHasAvx2Fma;

// The mangled names are FAISS 1.7.3's (faiss/utils/distances.h); the link fails if FAISS renames them. Hidden: the
// link needs them, nothing that loads the library does.
#pragma GCC visibility push(hidden)
extern "C" {

float __real__ZN5faiss18fvec_inner_productEPKfS1_m(const float* x, const float* y, size_t d);
float __wrap__ZN5faiss18fvec_inner_productEPKfS1_m(const float* x, const float* y, size_t d) {
  return kHasAvx2Fma ? imgvec::innerProduct(x, y, d) : __real__ZN5faiss18fvec_inner_productEPKfS1_m(x, y, d);
}

float __real__ZN5faiss10fvec_L2sqrEPKfS1_m(const float* x, const float* y, size_t d);
float __wrap__ZN5faiss10fvec_L2sqrEPKfS1_m(const float* x, const float* y, size_t d) {
  return kHasAvx2Fma ? imgvec::squaredL2(x, y, d) : __real__ZN5faiss10fvec_L2sqrEPKfS1_m(x, y, d);
}

float __real__ZN5faiss15fvec_norm_L2sqrEPKfm(const float* x, size_t d);
float __wrap__ZN5faiss15fvec_norm_L2sqrEPKfm(const float* x, size_t d) {
  return kHasAvx2Fma ? imgvec::innerProduct(x, x, d) : __real__ZN5faiss15fvec_norm_L2sqrEPKfm(x, d);
}

void __real__ZN5faiss22fvec_inner_products_nyEPfPKfS2_mm(float* ip, const float* x, const float* y, size_t d,
                                                          size_t ny);
void __wrap__ZN5faiss22fvec_inner_products_nyEPfPKfS2_mm(float* ip, const float* x, const float* y, size_t d,
                                                          size_t ny) {
  if (kHasAvx2Fma) {
    imgvec::innerProducts(ip, x, y, d, ny);
  } else {
    __real__ZN5faiss22fvec_inner_products_nyEPfPKfS2_mm(ip, x, y, d, ny);
  }
}

void __real__ZN5faiss13fvec_L2sqr_nyEPfPKfS2_mm(float* dis, const float* x, const float* y, size_t d, size_t ny);
void __wrap__ZN5faiss13fvec_L2sqr_nyEPfPKfS2_mm(float* dis, const float* x, const float* y, size_t d, size_t ny) {
  if (kHasAvx2Fma) {
    imgvec::squaredL2s(dis, x, y, d, ny);
  } else {
    __real__ZN5faiss13fvec_L2sqr_nyEPfPKfS2_mm(dis, x, y, d, ny);
  }
}

// As FAISS's: the first of the nearest wins a tie.
size_t __real__ZN5faiss21fvec_L2sqr_ny_nearestEPfPKfS2_mm(float* dis, const float* x, const float* y, size_t d,
                                                          size_t ny);
size_t __wrap__ZN5faiss21fvec_L2sqr_ny_nearestEPfPKfS2_mm(float* dis, const float* x, const float* y, size_t d,
                                                          size_t ny) {
  if (!kHasAvx2Fma) return __real__ZN5faiss21fvec_L2sqr_ny_nearestEPfPKfS2_mm(dis, x, y, d, ny);
  imgvec::squaredL2s(dis, x, y, d, ny);
  size_t nearest = 0;
  float nearestDistance = HUGE_VALF;
  for (size_t i = 0; i < ny; i++) {
    if (dis[i] < nearestDistance) {
      nearestDistance = dis[i];
      nearest = i;
    }
  }
  return nearest;
}

void __real__ZN5faiss9fvec_maddEmPKffS1_Pf(size_t n, const float* a, float bf, const float* b, float* c);
void __wrap__ZN5faiss9fvec_maddEmPKffS1_Pf(size_t n, const float* a, float bf, const float* b, float* c) {
  if (kHasAvx2Fma) {
    imgvec::multiplyAdd(n, a, bf, b, c);
  } else {
    __real__ZN5faiss9fvec_maddEmPKffS1_Pf(n, a, bf, b, c);
  }
}

}  // extern "C"
#pragma GCC visibility pop

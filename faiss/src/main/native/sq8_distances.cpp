// Each loop has a plain version and an AVX2 + FMA one (simd.h): AVX2 decodes and sums 8 dimensions an
// instruction where the plain loop takes one at a time (re-ranking 160 rows of 384 dimensions: see Sq8Vectors).
#include "sq8_distances.h"

#include <immintrin.h>

#include "simd.h"

namespace imgvec {
namespace {

__attribute__((target("avx2,fma"))) __m256 decode8(const uint8_t* codes) {
  __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(codes));
  return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
}

__attribute__((target("avx2,fma"))) float squaredL2Avx2(const float* q, const uint8_t* codes, const float* step,
                                                        int d) {
  __m256 acc = _mm256_setzero_ps();
  int j = 0;
  for (; j + 8 <= d; j += 8) {
    __m256 diff = _mm256_fnmadd_ps(decode8(codes + j), _mm256_loadu_ps(step + j), _mm256_loadu_ps(q + j));
    acc = _mm256_fmadd_ps(diff, diff, acc);
  }
  float sum = sum8(acc);
  for (; j < d; j++) {
    float diff = q[j] - codes[j] * step[j];
    sum += diff * diff;
  }
  return sum;
}

__attribute__((target("avx2,fma"))) float dotAvx2(const float* q, const uint8_t* codes, int d) {
  __m256 acc = _mm256_setzero_ps();
  int j = 0;
  for (; j + 8 <= d; j += 8) {
    acc = _mm256_fmadd_ps(decode8(codes + j), _mm256_loadu_ps(q + j), acc);
  }
  float sum = sum8(acc);
  for (; j < d; j++) {
    sum += q[j] * codes[j];
  }
  return sum;
}

}  // namespace

float sq8SquaredL2(const float* q, const uint8_t* codes, const float* step, int d) {
  if (kHasAvx2Fma) return squaredL2Avx2(q, codes, step, d);
  float sum = 0;
  for (int j = 0; j < d; j++) {
    float diff = q[j] - codes[j] * step[j];
    sum += diff * diff;
  }
  return sum;
}

float sq8Dot(const float* q, const uint8_t* codes, int d) {
  if (kHasAvx2Fma) return dotAvx2(q, codes, d);
  float sum = 0;
  for (int j = 0; j < d; j++) sum += q[j] * codes[j];
  return sum;
}

}  // namespace imgvec

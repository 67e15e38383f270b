// The library is built for any x86-64 processor (as Debian's libfaiss is); its hot loops have an AVX2 + FMA version,
// used where the processor has it (checked once at load time), and these are what they share.
#pragma once

#include <immintrin.h>

namespace imgvec {

extern const bool kHasAvx2Fma;

// The sum of the 8 lanes.
__attribute__((target("avx2,fma"))) inline float sum8(__m256 v) {
  __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  half = _mm_add_ps(half, _mm_movehl_ps(half, half));
  return _mm_cvtss_f32(_mm_add_ss(half, _mm_movehdup_ps(half)));
}

}  // namespace imgvec

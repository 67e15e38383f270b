// Distances to vectors stored as 8-bit scalar codes (imgvec's refine stage): the hot loop of re-ranking.
#pragma once

#include <cstdint>

namespace imgvec {

// Squared L2 distance between q (the query less each dimension's minimum) and the vector whose dimension j is
// codes[j] * step[j] (its offset from the minimum): sum over j of (q[j] - codes[j] * step[j])^2.
float sq8SquaredL2(const float* q, const uint8_t* codes, const float* step, int d);

// Sum over j of q[j] * codes[j]: with q[j] the query times step[j], the inner product less the minimums' share.
float sq8Dot(const float* q, const uint8_t* codes, int d);

}  // namespace imgvec

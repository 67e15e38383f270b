// What the processor this library runs on can do, checked once at load time: the library is built for any x86-64
// processor (as Debian's libfaiss is), and its hot loops have an AVX2 + FMA version used where the processor has it.
#pragma once

namespace imgvec {

extern const bool kHasAvx2Fma;

}  // namespace imgvec

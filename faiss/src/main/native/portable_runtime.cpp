// Two routines the shim defines itself so that it loads on a stock Amazon Linux 2023 node (glibc 2.34, no Fortran
// runtime) although it is built on Debian 12 (glibc 2.36) with static OpenBLAS and libstdc++.
#include <sys/random.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

// The one libgfortran routine the static OpenBLAS (its LAPACK part) calls. Debian's libgfortran.a cannot go into a
// shared object (local-exec TLS in its I/O units), and AL2023 has no libgfortran by default. Semantics as
// libgfortran's (GCC >= 8, size_t lengths): dest = s1 // s2, truncated to destlen or padded with blanks.
// Hidden: they serve this library's own static code and never interpose on anyone else's.
extern "C" __attribute__((visibility("hidden"))) void _gfortran_concat_string(std::size_t destlen, char* dest, std::size_t len1, const char* s1,
                                        std::size_t len2, const char* s2) {
  if (len1 >= destlen) {
    std::memcpy(dest, s1, destlen);
    return;
  }
  std::memcpy(dest, s1, len1);
  dest += len1;
  destlen -= len1;
  if (len2 >= destlen) {
    std::memcpy(dest, s2, destlen);
    return;
  }
  std::memcpy(dest, s2, len2);
  std::memset(dest + len2, ' ', destlen - len2);
}

// Static libstdc++ (GCC 12) seeds std::random_device with arc4random, which glibc has only since 2.36; defined here,
// the link takes this one (over getrandom, glibc 2.25) instead of a GLIBC_2.36 reference.
extern "C" __attribute__((visibility("hidden"))) std::uint32_t arc4random() {
  std::uint32_t value = 0;
  std::size_t got = 0;
  while (got < sizeof value) {
    ssize_t n = getrandom(reinterpret_cast<char*>(&value) + got, sizeof value - got, 0);
    if (n > 0) got += static_cast<std::size_t>(n);
  }
  return value;
}

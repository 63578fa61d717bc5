#include "buffer.hpp"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace fastmlp {

void* aligned_bytes(size_t bytes) {
  constexpr size_t kLine = 64, kHuge = size_t(2) << 20, kHugeFrom = size_t(4) << 20;
  const size_t align = bytes >= kHugeFrom ? kHuge : kLine;
  void* p = nullptr;
  if (posix_memalign(&p, align, bytes ? bytes : 1) != 0) return nullptr;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (align == kHuge) madvise(p, bytes / kHuge * kHuge, MADV_HUGEPAGE);  // a hint: failure is harmless
#endif
  return p;
}

}  // namespace fastmlp

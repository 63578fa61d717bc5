#include "gemm/gemm_small.hpp"

#include <algorithm>
#include <stdexcept>

#include "buffer.hpp"
#include "epilogue.hpp"
#include "isa/dispatch.hpp"
#include "threads.hpp"

namespace fastmlp {

template <class T>
bool small_path_applies(int64_t, int64_t n, int64_t k, const MatView<T>& a, const MatView<T>& b) {
  return k > 0 && (a.cs == 1 || a.rs == 1) && b.cs == 1 &&
         k * n <= run_config().blocking<T>().small_kn;
}

template <class T>
void gemm_small(int64_t m, int64_t n, int64_t k, MatView<T> a, MatView<T> b, T* c, int64_t ldc,
                const Epilogue<T>& ep) {
  const GemmKernel<T>& kern = gemm_kernel<T>();
  const int64_t MR = kern.mr, NR = kern.nr;
  if (MR * NR > kMaxTile) throw std::logic_error("micro-kernel tile larger than kMaxTile");
  const int64_t m_panels = ceil_div(m, MR), n_full = n / NR * NR;
  const bool a_column_major = a.cs != 1;  // then a.rs == 1 (small_path_applies)
  const int64_t lda = a_column_major ? a.cs : a.rs;
  // B's last columns, when n is not a whole number of panels, zero-padded to a k x NR
  // block, once before the threads start (an allocation failure must not throw inside
  // the parallel region). A's last rows need no copy: a shorter kernel takes them.
  thread_local AlignedBuffer b_edge_buf;
  T* b_edge = nullptr;
  if (n_full < n) {
    b_edge = b_edge_buf.get<T>(k * NR);
    for (int64_t p = 0; p < k; ++p) {
      T* row = b_edge + p * NR;
      for (int64_t j = n_full; j < n; ++j) row[j - n_full] = b(p, j);
      std::fill(row + (n - n_full), row + NR, T(0));
    }
  }
  // Threads take whole row panels: every element of C is one k-long chain of FMAs,
  // whoever computes it, so results do not depend on the thread count.
  const int nt = static_cast<int>(
      std::min<int64_t>(threads_for(m * n * k, tuning().gemm_madds_per_thread), m_panels));
  parallel_ranges(nt, m_panels, [&](int64_t p_lo, int64_t p_hi) {
    alignas(64) T edge[kMaxTile];
    for (int64_t ip = p_lo; ip < p_hi; ++ip) {
      const int64_t i0 = ip * MR, mr = std::min(MR, m - i0);
      const UnpackedFn<T> kernel = kern.ukernel_unpacked[a_column_major][mr - 1];
      for (int64_t j0 = 0; j0 < n; j0 += NR) {
        const int64_t nr = std::min(NR, n - j0);
        if (nr == NR) {
          kernel(k, &a(i0, 0), lda, &b(0, j0), b.rs, c + i0 * ldc + j0, ldc);
        } else {
          kernel(k, &a(i0, 0), lda, b_edge, NR, edge, NR);
          for (int64_t i = 0; i < mr; ++i)
            std::copy(edge + i * NR, edge + i * NR + nr, c + (i0 + i) * ldc + j0);
        }
        finish_tile(ep, 0u, c, ldc, i0, j0, mr, nr);
      }
    }
  });
}

#define FASTMLP_INSTANTIATE(T)                                                                  \
  template bool small_path_applies<T>(int64_t, int64_t, int64_t, const MatView<T>&,            \
                                      const MatView<T>&);                                      \
  template void gemm_small<T>(int64_t, int64_t, int64_t, MatView<T>, MatView<T>, T*, int64_t,  \
                              const Epilogue<T>&);
FASTMLP_INSTANTIATE(float)
FASTMLP_INSTANTIATE(double)
#undef FASTMLP_INSTANTIATE

}  // namespace fastmlp

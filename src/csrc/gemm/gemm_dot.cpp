#include "gemm/gemm_dot.hpp"

#include <algorithm>

#include "epilogue.hpp"
#include "isa/dispatch.hpp"
#include "threads.hpp"

namespace fastmlp {
template <class T>
bool dot_path_applies(int64_t m, int64_t n, int64_t k, const MatView<T>& a, const MatView<T>& b) {
  // Few rows (inference, small batches) or few columns (an output layer): either way
  // packing would cost about as much as the arithmetic it prepares.
  const Tuning& t = tuning();
  const bool small = m <= t.dot_rows<T>().max_rows(k) || n <= t.dot_max_columns;
  return small && k > 0 && a.cs == 1 && b.rs == 1;
}

template <class T>
void gemm_dot(int64_t m, int64_t n, int64_t k, MatView<T> a, MatView<T> b, T* c, int64_t ldc,
              const Epilogue<T>& ep) {
  const DotKernel<T>& dk = gemm_kernel<T>().dot;
  const int64_t NR = dk.nr, MR = dk.mr_max;
  const int64_t n_blocks = ceil_div(n, NR), m_blocks = ceil_div(m, MR);
  const int nt = static_cast<int>(
      std::min<int64_t>(threads_for(m * n * k, tuning().dot_madds_per_thread), std::max(n_blocks, m_blocks)));
  // Threads split the columns (rows of W) when there are enough: each then streams its
  // part of B once, NR rows at a time in L1 while it runs through A's few rows. An
  // output with fewer column blocks than threads is split by rows instead.
  const bool split_rows = n_blocks < nt;
  parallel_ranges(nt, split_rows ? m_blocks : n_blocks, [&](int64_t lo, int64_t hi) {
    const int64_t i_lo = split_rows ? lo * MR : 0, i_hi = split_rows ? std::min(m, hi * MR) : m;
    const int64_t j_lo = split_rows ? 0 : lo * NR, j_hi = split_rows ? n : std::min(n, hi * NR);
    for (int64_t j = j_lo; j < j_hi; j += NR) {
      const int64_t nr = std::min(NR, j_hi - j);
      for (int64_t i = i_lo; i < i_hi;) {
        const int64_t rows = std::min(MR, i_hi - i);
        dk.fn[rows - 1][nr - 1](k, a.ptr + i * a.rs, a.rs, b.ptr + j * b.cs, b.cs, c + i * ldc + j, ldc);
        i += rows;
      }
    }
    if (i_hi > i_lo && j_hi > j_lo) finish_tile(ep, 0u, c, ldc, i_lo, j_lo, i_hi - i_lo, j_hi - j_lo);
  });
}

template bool dot_path_applies<float>(int64_t, int64_t, int64_t, const MatView<float>&,
                                      const MatView<float>&);
template bool dot_path_applies<double>(int64_t, int64_t, int64_t, const MatView<double>&,
                                       const MatView<double>&);
template void gemm_dot<float>(int64_t, int64_t, int64_t, MatView<float>, MatView<float>, float*, int64_t,
                              const Epilogue<float>&);
template void gemm_dot<double>(int64_t, int64_t, int64_t, MatView<double>, MatView<double>, double*, int64_t,
                               const Epilogue<double>&);

}  // namespace fastmlp

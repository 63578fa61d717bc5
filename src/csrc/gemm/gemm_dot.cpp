#include "gemm/gemm_dot.hpp"

#include <omp.h>

#include <algorithm>
#include <cstdlib>

#include "epilogue.hpp"
#include "gemm/dispatch.hpp"
#include "threads.hpp"

namespace fastmlp {
namespace {

constexpr int64_t kMaddsPerThread = int64_t(1) << 17;

int64_t dot_max_rows() {
  static const int64_t rows = [] {
    const char* env = std::getenv("FASTMLP_DOT_MAX_ROWS");  // tuning knob for benchmarks
    return env ? std::atoll(env) : int64_t(64);
  }();
  return rows;
}

}  // namespace

template <class T>
bool dot_path_applies(int64_t m, int64_t n, int64_t k, const MatView<T>& a, const MatView<T>& b) {
  (void)n;
  return m <= dot_max_rows() && k > 0 && a.cs == 1 && b.rs == 1;
}

template <class T>
void gemm_dot(int64_t m, int64_t n, int64_t k, MatView<T> a, MatView<T> b, T* c, int64_t ldc,
              const Epilogue<T>& ep) {
  const DotKernel<T>& dk = gemm_kernel<T>().dot;
  const int64_t NR = dk.nr;
  const int64_t n_blocks = ceil_div(n, NR);
  const int nt = static_cast<int>(std::min<int64_t>(threads_for(m * n * k, kMaddsPerThread), n_blocks));
  // Threads split the columns (rows of W): each streams its part of B exactly once,
  // with its NR rows in L1 while it runs through all of A's few rows.
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num(), tn = omp_get_num_threads();
    const int64_t j_lo = n_blocks * t / tn * NR, j_hi = std::min(n, n_blocks * (t + 1) / tn * NR);
    for (int64_t j = j_lo; j < j_hi; j += NR) {
      const int64_t nr = std::min(NR, j_hi - j);
      for (int64_t i = 0; i < m;) {
        const int64_t rows = std::min<int64_t>(dk.mr_max, m - i);
        dk.fn[rows - 1](k, a.ptr + i * a.rs, a.rs, b.ptr + j * b.cs, b.cs, c + i * ldc + j, ldc, nr);
        i += rows;
      }
    }
    if (j_hi > j_lo) finish_tile(ep, 0u, c, ldc, 0, j_lo, m, j_hi - j_lo);
  }
}

template bool dot_path_applies<float>(int64_t, int64_t, int64_t, const MatView<float>&,
                                      const MatView<float>&);
template bool dot_path_applies<double>(int64_t, int64_t, int64_t, const MatView<double>&,
                                       const MatView<double>&);
template void gemm_dot<float>(int64_t, int64_t, int64_t, MatView<float>, MatView<float>, float*,
                              int64_t, const Epilogue<float>&);
template void gemm_dot<double>(int64_t, int64_t, int64_t, MatView<double>, MatView<double>,
                               double*, int64_t, const Epilogue<double>&);

}  // namespace fastmlp

// Dense layers too small for the packed GEMM: direct loops on one thread, with no
// packing and no OpenMP region (whose ~1 us start-up is more than such a layer costs).
// This is what makes tiny networks (2-4-3-1) train at a few microseconds per step.
// Summation order is fixed (each sum over the inner dimension in the same partial sums
// or in order), so results do not depend on the number of threads.
#pragma once
#include <cstdint>

#include "common.hpp"
#include "isa/dispatch.hpp"

namespace fastmlp {

// Whether an m x n x k dense layer takes the direct path. Depends on the shape only,
// never on the thread count.
inline bool use_small_dense(int64_t m, int64_t n, int64_t k) {
  const SmallDenseLimits& limits = tuning().small_dense;
  const int64_t madds = m * n * k;
  return madds <= limits.max_madds ||
         (n <= limits.narrow_outputs && k <= limits.narrow_inputs && madds <= limits.narrow_madds);
}

// As dense_forward (dense.hpp); w is n x k row-major.
template <class T>
void small_dense_forward(int64_t m, int64_t n, int64_t k, MatView<T> x, const T* w, const T* bias,
                         Activation act, T negative_slope, T* y, T* pre);

// As dense_backward (dense.hpp), with grad_pre (m x n) as scratch; grad_x and grad_b
// may be null.
template <class T>
void small_dense_backward(int64_t m, int64_t n, int64_t k, const T* grad_y, MatView<T> x, const T* w,
                          const T* y, const T* pre, Activation act, T negative_slope, T* grad_pre, T* grad_x,
                          T* grad_w, T* grad_b);

}  // namespace fastmlp

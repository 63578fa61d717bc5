// The small path of gemm for row-major B and row- or column-major A (matmul of C-ordered
// arrays, a dense layer's grad_x = grad_pre W and grad_W = grad_pre^T x): no packing, the
// packed path's register tile reads A and B where they are, while B fits in L2
// (Blocking::small_kn, cpu/blocking.hpp has the measurements).
#pragma once
#include <cstdint>

#include "common.hpp"

namespace fastmlp {

template <class T>
bool small_path_applies(int64_t m, int64_t n, int64_t k, const MatView<T>& a, const MatView<T>& b);

// Where the dot path (gemm_dot.hpp) applies as well: whether this path is the cheaper
// (Tuning::dot_costs).
template <class T>
bool small_path_beats_dot(int64_t m, int64_t n, int64_t k);

template <class T>
void gemm_small(int64_t m, int64_t n, int64_t k, MatView<T> a, MatView<T> b, T* c, int64_t ldc,
                const Epilogue<T>& ep);

}  // namespace fastmlp

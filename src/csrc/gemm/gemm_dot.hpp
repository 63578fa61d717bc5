// The small-M path of gemm: no packing, the dot kernels read A and B where they are.
#pragma once
#include <cstdint>

#include "common.hpp"

namespace fastmlp {

// Whether the unpacked path is the faster one for this call: few rows of A, and both A's
// rows and B's columns contiguous along k (x and W of a dense layer as they come).
template <class T>
bool dot_path_applies(int64_t m, int64_t n, int64_t k, const MatView<T>& a, const MatView<T>& b);

template <class T>
void gemm_dot(int64_t m, int64_t n, int64_t k, MatView<T> a, MatView<T> b, T* c, int64_t ldc,
              const Epilogue<T>& ep);

}  // namespace fastmlp

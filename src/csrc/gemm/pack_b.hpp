// Packing of B for the micro-kernels, and of the bias that runs along B's columns: the
// packed GEMM's KC x NC blocks (gemm.cpp) and the B of a small product that is not read
// in place (gemm_small.cpp).
#pragma once
#include <cstdint>

#include "common.hpp"
#include "gemm/ukernel.hpp"

namespace fastmlp {

// Rows [p0, p0+kc) x columns [j0, j0+cols) of B into consecutive micro-panels of kc * NR
// values for `tile` (one of kern's; NR its nr) (dst[panel * kc * NR + kk * NR + c]),
// columns past the edge zero-filled: a
// row-major B row by row across the panels (see PackRowsFn), any other layout panel by
// panel.
template <class T>
void pack_b_block(const GemmKernel<T>& kern, const RegisterTile<T>& tile, const MatView<T>& b, int64_t p0,
                  int64_t kc, int64_t j0, int64_t cols, T* dst);

// The epilogue's bias (one value per column of C, any stride) into dst, zero-padded to
// n_panels * nr values, so that the micro-kernels can load whole panels of it.
template <class T>
void pack_bias(const Epilogue<T>& ep, int64_t n, int64_t n_panels, int nr, T* dst);

}  // namespace fastmlp

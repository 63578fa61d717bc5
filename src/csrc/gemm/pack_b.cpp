#include "gemm/pack_b.hpp"

#include <algorithm>

namespace fastmlp {
namespace {

// Rows [p0, p0+kc) x columns [j0, j0+cols) of B into an NR-column micro-panel
// dst[kk*NR + c], columns past the edge zero-filled; B not row-major.
template <class T>
void pack_b_panel(const GemmKernel<T>& kern, int nr, const MatView<T>& b, int64_t p0, int64_t kc, int64_t j0,
                  int64_t cols, T* dst) {
  // Column-major B (W^T of a row-major W in a dense layer): its columns are contiguous
  // rows for the transposing packer.
  if (b.rs == 1) return kern.pack_transposed(&b(p0, j0), b.cs, cols, nr, kc, dst, nr);
  // Any other strides: transpose in blocks of one cache line of each column.
  constexpr int64_t kBlock = 64 / sizeof(T);
  for (int64_t k0 = 0; k0 < kc; k0 += kBlock) {
    const int64_t k1 = std::min(kc, k0 + kBlock);
    for (int64_t c = 0; c < cols; ++c) {
      const T* src = &b(p0, j0 + c);
      for (int64_t kk = k0; kk < k1; ++kk) dst[kk * nr + c] = src[kk * b.rs];
    }
    for (int64_t c = cols; c < nr; ++c)
      for (int64_t kk = k0; kk < k1; ++kk) dst[kk * nr + c] = T(0);
  }
}

}  // namespace

template <class T>
void pack_b_block(const GemmKernel<T>& kern, const RegisterTile<T>& tile, const MatView<T>& b, int64_t p0,
                  int64_t kc, int64_t j0, int64_t cols, T* dst) {
  if (b.cs == 1) return tile.pack_rows(&b(p0, j0), b.rs, cols, kc, dst);
  const int64_t NR = tile.nr;
  for (int64_t c = 0; c < cols; c += NR)
    pack_b_panel(kern, tile.nr, b, p0, kc, j0 + c, std::min(NR, cols - c), dst + c * kc);
}

template <class T>
void pack_bias(const Epilogue<T>& ep, int64_t n, int64_t n_panels, int nr, T* dst) {
  for (int64_t j = 0; j < n; ++j) dst[j] = ep.bias[j * ep.bias_stride];
  std::fill(dst + n, dst + n_panels * nr, T(0));
}

template void pack_bias<float>(const Epilogue<float>&, int64_t, int64_t, int, float*);
template void pack_bias<double>(const Epilogue<double>&, int64_t, int64_t, int, double*);
template void pack_b_block<float>(const GemmKernel<float>&, const RegisterTile<float>&, const MatView<float>&,
                                  int64_t, int64_t, int64_t, int64_t, float*);
template void pack_b_block<double>(const GemmKernel<double>&, const RegisterTile<double>&,
                                   const MatView<double>&, int64_t, int64_t, int64_t, int64_t, double*);

}  // namespace fastmlp

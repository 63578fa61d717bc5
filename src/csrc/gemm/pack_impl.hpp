// Packing of a block whose rows run contiguously along k (a row-major A, or the columns of
// a column-major B such as W^T in a dense layer's forward pass) into the interleaved
// micro-panel layout: in-register transposes of width x width tiles instead of one
// scalar load and store per element. Written once over a vector traits type V; include
// only from isa/<name>/config.cpp (through ukernel_impl.hpp), compiled with that ISA's flags.
#pragma once
#include <cstdint>

namespace fastmlp {

// dst[kk * ldd + r] = src[r * ld + kk] for kk < kc and r < rows; 0 for rows <= r < R.
template <class V>
void pack_transposed(const typename V::T* src, int64_t ld, int64_t rows, int R, int64_t kc,
                     typename V::T* dst, int64_t ldd) {
  using T = typename V::T;
  using vec = typename V::vec;
  constexpr int W = V::width;
  int64_t kk = 0;
  for (; kk + W <= kc; kk += W) {
    for (int r0 = 0; r0 < R; r0 += W) {
      vec t[W];
      for (int i = 0; i < W; ++i) t[i] = r0 + i < rows ? V::loadu(src + (r0 + i) * ld + kk) : V::zero();
      V::transpose(t);  // t[j]: rows r0.. of column kk + j
      T* d = dst + kk * ldd + r0;
      const int lanes = R - r0 < W ? R - r0 : W;  // a panel narrower than a tile (MR 12 or 6)
      if (lanes == W) {
        for (int j = 0; j < W; ++j) V::storeu(d + j * ldd, t[j]);
      } else {
        for (int j = 0; j < W; ++j) V::store_partial(d + j * ldd, t[j], lanes);
      }
    }
  }
  for (; kk < kc; ++kk)
    for (int r = 0; r < R; ++r) dst[kk * ldd + r] = r < rows ? src[r * ld + kk] : T(0);
}

// See PackRowsFn (ukernel.hpp); NR = NV vectors.
template <class V, int NV>
void pack_rows(const typename V::T* src, int64_t ld, int64_t cols, int64_t kc, typename V::T* dst) {
  constexpr int W = V::width, NR = NV * W;
  const int64_t full = cols / NR, rest = cols - full * NR, panel = kc * NR;
  for (int64_t kk = 0; kk < kc; ++kk, src += ld, dst += NR) {
    for (int64_t p = 0; p < full; ++p)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) V::storeu(dst + p * panel + v * W, V::loadu(src + p * NR + v * W));
    if (rest) {
      typename V::T* d = dst + full * panel;
      const typename V::T* s = src + full * NR;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        const int64_t lanes = rest - v * W;
        const auto x = lanes >= W  ? V::loadu(s + v * W)
                       : lanes > 0 ? V::load_partial(s + v * W, static_cast<int>(lanes))
                                   : V::zero();
        V::storeu(d + v * W, x);
      }
    }
  }
}

}  // namespace fastmlp

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

// See PackRowsFn (ukernel.hpp): panels R values wide, R = NR for B's panels or MR for
// A's from a column-major A. A width that is not a whole number of vectors (MR 6 or 12)
// is stored in whole vectors that run into the panel's next k, stored after it; only the
// last k takes part-vector stores. The rows go kChunk at a time, panel by panel: row by
// row across all panels, each row wrote a line into every panel, the panels kc R values
// apart, a multiple of 4 KiB, so all in one L1 set (85 panels of A at 1024 rows).
template <class V, int R>
void pack_rows(const typename V::T* src, int64_t ld, int64_t cols, int64_t kc, typename V::T* dst) {
  using vec = typename V::vec;
  constexpr int W = V::width, NV = (R + W - 1) / W, kChunk = 4;
  const int64_t panels = (cols + R - 1) / R, whole = (cols - (NV * W - R)) / R, panel = kc * R;
  for (int64_t k0 = 0; k0 < kc; k0 += kChunk) {
    const int64_t k1 = k0 + kChunk < kc ? k0 + kChunk : kc;
    for (int64_t p = 0; p < panels; ++p) {
      const typename V::T* s = src + k0 * ld + p * R;
      typename V::T* d = dst + p * panel + k0 * R;
      for (int64_t kk = k0; kk < k1; ++kk, s += ld, d += R) {
        vec x[NV];
        if (p < whole) {  // all NV * W values lie within the block's columns
#pragma GCC unroll 4
          for (int v = 0; v < NV; ++v) x[v] = V::loadu(s + v * W);
        } else {
#pragma GCC unroll 4
          for (int v = 0; v < NV; ++v) {
            const int64_t n = cols - p * R - v * W;
            x[v] = n >= W  ? V::loadu(s + v * W)
                   : n > 0 ? V::load_partial(s + v * W, static_cast<int>(n))
                           : V::zero();
          }
        }
#pragma GCC unroll 4
        for (int v = 0; v + 1 < NV; ++v) V::storeu(d + v * W, x[v]);
        if (R % W == 0 || kk + 1 < kc)
          V::storeu(d + (NV - 1) * W, x[NV - 1]);
        else
          V::store_partial(d + (NV - 1) * W, x[NV - 1], R % W);
      }
    }
  }
}

}  // namespace fastmlp

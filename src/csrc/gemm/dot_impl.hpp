// The unpacked ("sup") micro-kernel for small M, written once over a vector traits type
// and instantiated per ISA. It computes C = A Bt^T where rows of A and of Bt are both
// contiguous along k: a dense layer's x (batch x in) and W (out x in) as they are, so
// nothing is packed (XNNPACK's and BLIS's answer to GEMV-like shapes).
#pragma once
#include <array>
#include <cstdint>
#include <utility>

#include "gemm/ukernel.hpp"

namespace fastmlp {

// C[0:MR, 0:NR] = A[0:MR, 0:k] Bt[0:NR, 0:k]^T (row strides lda, ldb, ldc).
template <class V, int MR, int NR>
void dot_tile(int64_t k, const typename V::T* a, int64_t lda, const typename V::T* bt, int64_t ldb,
              typename V::T* c, int64_t ldc) {
  using T = typename V::T;
  using vec = typename V::vec;
  constexpr int W = V::width;
  const T* arow[MR];
  const T* brow[NR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) arow[i] = a + i * lda;
#pragma GCC unroll 8
  for (int j = 0; j < NR; ++j) brow[j] = bt + j * ldb;
  vec acc[MR][NR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) acc[i][j] = V::zero();
  int64_t p = 0;
  for (; p + W <= k; p += W) {
    vec av[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) av[i] = V::loadu(arow[i] + p);
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) {
      const vec bv = V::loadu(brow[j] + p);
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) acc[i][j] = V::fma(av[i], bv, acc[i][j]);
    }
  }
  if (p < k) {  // the tail as one masked step: lanes past k load as zero
    const int rest = static_cast<int>(k - p);
    vec av[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) av[i] = V::load_partial(arow[i] + p, rest);
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) {
      const vec bv = V::load_partial(brow[j] + p, rest);
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) acc[i][j] = V::fma(av[i], bv, acc[i][j]);
    }
  }
  // The MR x NR horizontal sums, W at a time (accumulator q = i * NR + j), in one
  // shuffle-and-add tree each; a tile with fewer than W / 2 sums (one row of A, or a
  // narrow edge tile) does them one by one, which then costs fewer shuffles.
  constexpr int kAcc = MR * NR;
  if constexpr (2 * kAcc < W) {
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) c[i * ldc + j] = V::hsum(acc[i][j]);
    return;
  }
#pragma GCC unroll 16
  for (int q0 = 0; q0 < kAcc; q0 += W) {
    vec group[W];
#pragma GCC unroll 16
    for (int g = 0; g < W; ++g) group[g] = q0 + g < kAcc ? acc[(q0 + g) / NR][(q0 + g) % NR] : V::zero();
    alignas(64) T sums[W];
    V::storeu(sums, V::reduce_add(group));
    // A fixed trip count: with `q0 + g < kAcc` in the loop's condition GCC resolved the
    // loop before reading the pragma and warned ("ignoring loop annotation").
#pragma GCC unroll 16
    for (int g = 0; g < W; ++g) {
      const int i = (q0 + g) / NR, j = (q0 + g) % NR;
      if (q0 + g < kAcc) c[i * ldc + j] = sums[g];
    }
  }
}

// The set for one ISA: fn[r - 1][c - 1] handles r <= MRMAX rows of A and c <= NR of Bt.
template <class V, int MRMAX, int NR, int R, int C>
constexpr DotFn<typename V::T> dot_entry() {
  if constexpr (R <= MRMAX && C <= NR)
    return &dot_tile<V, R, C>;
  else
    return nullptr;
}

template <class V, int MRMAX, int NR, int R, int... C>
constexpr std::array<DotFn<typename V::T>, kMaxDotTile> dot_row(std::integer_sequence<int, C...>) {
  return {dot_entry<V, MRMAX, NR, R, C + 1>()...};
}

template <class V, int MRMAX, int NR, int... R>
constexpr DotKernel<typename V::T> make_dot_kernel(std::integer_sequence<int, R...>) {
  return {MRMAX, NR, {dot_row<V, MRMAX, NR, R + 1>(std::make_integer_sequence<int, kMaxDotTile>{})...}};
}

template <class V, int MRMAX, int NR>
constexpr DotKernel<typename V::T> make_dot_kernel() {
  static_assert(MRMAX >= 1 && MRMAX <= kMaxDotTile && NR >= 1 && NR <= kMaxDotTile,
                "dot kernels cover 1 to kMaxDotTile rows and columns");
  return make_dot_kernel<V, MRMAX, NR>(std::make_integer_sequence<int, kMaxDotTile>{});
}

}  // namespace fastmlp

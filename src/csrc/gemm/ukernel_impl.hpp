// The register-blocked micro-kernel, written once over a "vector traits" type V and
// instantiated by each ISA's config (isa/<name>/config.cpp) with its own register tile (MR x NV
// vectors). Include only from isa/<name>/config.cpp: it must be compiled with that ISA's
// flags. Layout as in BLIS: per k, NV vectors of packed B and MR broadcasts of packed A.
#pragma once
#include <array>
#include <cstdint>
#include <utility>

#include "gemm/pack_impl.hpp"
#include "gemm/ukernel.hpp"

namespace fastmlp {

inline constexpr int64_t kAPrefetchSteps = 384;

// Where the tile's operands are: A(i, p) and B's row p (NV vectors of it).
// Packed micro-panels (gemm.cpp): A's MR values of each p, then B's NV vectors, each
// contiguous and aligned.
template <class V, int MR, int NV>
struct PackedPanels {
  using T = typename V::T;
  const T* __restrict a;
  const T* __restrict b;
  T a_at(int i, int64_t p) const { return a[p * MR + i]; }
  typename V::vec b_at(int64_t p, int v) const { return V::load(b + (p * NV + v) * V::width); }
  // A's values kAPrefetchSteps k-steps ahead, into the next micro-panel for the last
  // part of the loop: a micro-panel is read from L3 (the packed A block) by the first
  // tile that uses it, and the hardware prefetchers did not run far enough ahead of that
  // read. One thread, alternating processes: AVX2 float32 4096^3 89.2/87.0/88.3% of the
  // peak -> 90.9/90.0/90.0% (0.94x -> 0.96x OpenBLAS's Haswell kernels), float64
  // 2048^3 86.0/87.6 -> 86.4/90.2%; AVX-512 float64 2048^3 88.4/87.8 -> 91.3/91.3%
  // (0.96x -> 1.00x), float32 4096^3 90.9/89.2 -> 91.7/92.0%. 96 or 192 steps gained
  // less. Past the last panel the addresses are outside the buffer: a prefetch does not
  // fault, hence the integer arithmetic rather than an out-of-range pointer.
  void prefetch(int64_t p) const {
    __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(a) +
                                                     uintptr_t((p + kAPrefetchSteps) * MR) * sizeof(T)));
  }
};
// A and B where they are (gemm_small.cpp): B row-major (row stride ldb), A row-major or
// column-major (lda its row or its column stride).
template <class V, bool kAColumnMajor>
struct InPlace {
  using T = typename V::T;
  const T* __restrict a;
  int64_t lda;
  const T* __restrict b;
  int64_t ldb;
  T a_at(int i, int64_t p) const { return kAColumnMajor ? a[p * lda + i] : a[i * lda + p]; }
  typename V::vec b_at(int64_t p, int v) const { return V::loadu(b + p * ldb + v * V::width); }
  void prefetch(int64_t) const {}  // not measured for A in place: left to the hardware
};

// The register tile, written once for both: C[0:MR, 0:NV*W] (row stride ldc) = bias (or
// 0) + sum over p < k of A(i, p) B(p, :), plus C itself with kLoadC, then ReLU with kRelu.
template <class V, int MR, int NV, class Operands>
__attribute__((always_inline)) inline void tile(int64_t k, const Operands& ops, typename V::T* __restrict c,
                                                int64_t ldc, const typename V::T* __restrict bias,
                                                unsigned flags) {
  using vec = typename V::vec;
  constexpr int W = V::width;
  vec acc[MR][NV];
  // C is loaded or stored at the end: start fetching every line of the tile's rows now,
  // for writing, so the latency hides behind the loop. A row of the tile spans 2 lines
  // for AVX-512 float32 (3 when C is not aligned: a caller's out=, a view); fetching only
  // the first, and only when C was loaded, left the rest to miss at the end, and the
  // first K block's stores to wait for their lines (a 4096^3 float32 C, 64 MB, is in
  // memory). Zen 4, 2 threads, best of 6-8 alternating processes in four pairs of runs:
  // AVX2 668/707/681 -> 657/693/658 ms, AVX-512 655/658 -> 641/641 ms; 512^3-2048^3 one
  // thread, level (0.99-1.00x).
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) __builtin_prefetch(c + i * ldc + v * W, 1);
    __builtin_prefetch(c + i * ldc + NV * W - 1, 1);
  }
  {
    vec init[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) init[v] = bias ? V::loadu(bias + v * W) : V::zero();
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = init[v];
  }
  // Unrolled 4 times, the pre-RA scheduling of CMakeLists.txt hoists the broadcasts of
  // several k-steps and GCC spills 4 of AVX2's 12 accumulators to the stack (40% of the
  // peak); with that scheduling off for the kernel, 4 ran level with 2 (AVX2, 256^3 -
  // 2048^3, one thread, Zen 4).
#pragma GCC unroll 2
  for (int64_t p = 0; p < k; ++p) {
    vec bv[NV];
    ops.prefetch(p);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = ops.b_at(p, v);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      const vec ai = V::set1(ops.a_at(i, p));
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = V::fma(ai, bv[v], acc[i][v]);
    }
  }
  if (flags & kLoadC) {
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = V::add(acc[i][v], V::loadu(c + i * ldc + v * W));
  }
  if (flags & kRelu) {
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = V::relu(acc[i][v]);
  }
  const int last_lanes = static_cast<int>(flags >> kLastLanesShift);
  if (last_lanes == 0) {
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) V::storeu(c + i * ldc + v * W, acc[i][v]);
    return;
  }
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
    for (int v = 0; v + 1 < NV; ++v) V::storeu(c + i * ldc + v * W, acc[i][v]);
    V::store_partial(c + i * ldc + (NV - 1) * W, acc[i][NV - 1], last_lanes);
  }
}

// The packed micro-kernel (UkernelFn).
template <class V, int MR, int NV>
void ukernel(int64_t kc, const typename V::T* __restrict a, const typename V::T* __restrict b,
             typename V::T* __restrict c, int64_t ldc, const typename V::T* __restrict bias, unsigned flags) {
  tile<V, MR, NV>(kc, PackedPanels<V, MR, NV>{a, b}, c, ldc, bias, flags);
}

// The same tile on A and B where they are (UnpackedFn), MR rows of it. Column-major A is
// a dense layer's grad_pre^T in grad_W = grad_pre^T x: its MR values of one p are
// contiguous.
template <class V, int MR, int NV, bool kAColumnMajor>
void ukernel_unpacked(int64_t k, const typename V::T* a, int64_t lda, const typename V::T* b, int64_t ldb,
                      typename V::T* c, int64_t ldc, const typename V::T* bias, unsigned flags) {
  tile<V, MR, NV>(k, InPlace<V, kAColumnMajor>{a, lda, b, ldb}, c, ldc, bias, flags);
}

// A register tile of MR rows by NV vectors, as a config names it for make_gemm_kernel.
template <int MR, int NV>
struct TileShape {
  static constexpr int mr = MR, nv = NV;
};

// The unpacked tiles NV vectors wide, 1 to MR rows (R + 1 for R < MR).
template <class V, int NV, bool kAColumnMajor, int... R>
constexpr std::array<UnpackedFn<typename V::T>, kMaxMR> unpacked_heights(std::integer_sequence<int, R...>) {
  return {&ukernel_unpacked<V, R + 1, NV, kAColumnMajor>...};
}

// UnpackedTable's entries for the tile Small: 1 to Small::nv vectors (NV + 1), each 1
// to Small::mr rows; wider ones stay null.
template <class V, class Small, int... NV>
constexpr UnpackedTable<typename V::T> unpacked_table(std::integer_sequence<int, NV...>) {
  constexpr auto rows = std::make_integer_sequence<int, Small::mr>{};
  return {{{unpacked_heights<V, NV + 1, false>(rows)...}, {unpacked_heights<V, NV + 1, true>(rows)...}}};
}

template <class V, class Small, class Packed>
constexpr GemmKernel<typename V::T> make_gemm_kernel_of(DotKernel<typename V::T> dot) {
  constexpr int W = V::width;
  return {W,
          {Packed::mr, Packed::nv * W, &pack_rows<V, Packed::nv * W>},
          &ukernel<V, Packed::mr, Packed::nv>,
          {Small::mr, Small::nv * W, &pack_rows<V, Small::nv * W>},
          unpacked_table<V, Small>(std::make_integer_sequence<int, Small::nv>{}),
          {{&ukernel_unpacked<V, 1, 8, false>, &ukernel_unpacked<V, 2, 4, false>},
           {&ukernel_unpacked<V, 1, 8, true>, &ukernel_unpacked<V, 2, 4, true>}},
          {8 * W, 4 * W},
          &pack_transposed<V>,
          &pack_rows<V, Packed::mr>,
          dot};
}

// The kernels of the tile Small on the small path and of Packed (by default the same
// shape) on the packed path.
template <class V, class Small, class Packed = Small>
constexpr GemmKernel<typename V::T> make_gemm_kernel(DotKernel<typename V::T> dot) {
  static_assert(Small::mr <= kMaxMR && Packed::mr <= kMaxMR, "raise kMaxMR");
  static_assert(Small::nv <= kMaxSmallNV, "raise kMaxSmallNV");
  return make_gemm_kernel_of<V, Small, Packed>(dot);
}

}  // namespace fastmlp

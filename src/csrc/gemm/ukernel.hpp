// The contract between the GEMM macro-kernel (gemm.cpp) and the per-ISA micro-kernels.
#pragma once
#include <array>
#include <cstdint>

namespace fastmlp {

// Largest MR x NR tile of any micro-kernel; edge tiles go through a buffer this size.
constexpr int kMaxTile = 512;

// Flags of one micro-kernel call.
enum UkernelFlags : unsigned {
  kLoadC = 1u,  // accumulate onto C (every K block after the first); else start from bias or 0
  kRelu = 2u,   // apply max(0, .) before storing (last K block of a fused relu)
};
// An unpacked kernel's flags may also carry, from this bit on, how many lanes of its last
// vector to store (0: all): a tile whose columns end inside a vector is then written to
// C directly, with masked stores, instead of through a buffer and a copy.
constexpr unsigned kLastLanesShift = 8;

// C[0:MR, 0:NR] (row stride ldc) = (bias[0:NR] or 0) + A_panel * B_panel (+ C if kLoadC)
// where A_panel holds kc columns of MR values and B_panel kc rows of NR values, both
// packed contiguously and 64-byte aligned; bias (if not null) holds NR values.
template <class T>
using UkernelFn = void (*)(int64_t kc, const T* a, const T* b, T* c, int64_t ldc, const T* bias,
                           unsigned flags);

// The unpacked micro-kernels of the small path (gemm_small.cpp): C[0:r, 0:NR] (row
// stride ldc) = A[0:r, 0:k] B[0:k, 0:NR] with A and B read where they are, B row-major
// (row stride ldb) and A either row-major or column-major (lda its row or its column
// stride): the packed kernel's register tile, r <= MR rows of it, its broadcasts from A
// and its vector loads from B's rows.
// It starts from the bias and applies ReLU as UkernelFn does (kLoadC: never needed), and
// stores only the first lanes of its last vector when the flags say so (kLastLanesShift).
template <class T>
using UnpackedFn = void (*)(int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb, T* c, int64_t ldc,
                            const T* bias, unsigned flags);

// The tallest micro-kernel tile of any ISA, and the widest small-path tile in vectors.
constexpr int kMaxMR = 12;
constexpr int kMaxSmallNV = 4;

// The small path's kernels by operand layout, width and height (see GemmKernel).
template <class T>
using UnpackedTable = std::array<std::array<std::array<UnpackedFn<T>, kMaxMR>, kMaxSmallNV>, 2>;

// Packs rows rows of a block whose rows run contiguously along k (row stride ld) into an
// R-wide micro-panel of row stride ldd (R for a packed panel): dst[kk * ldd + r] =
// src[r * ld + kk], zero for rows <= r < R. With R = rows and ldd C's row stride, it
// writes a tile into C transposed.
template <class T>
using PackFn = void (*)(const T* src, int64_t ld, int64_t rows, int R, int64_t kc, T* dst, int64_t ldd);

// Packs kc rows of `cols` columns of a block whose columns run contiguously (a row-major
// B, or the transpose of a column-major A; row stride ld) into consecutive R-column
// micro-panels of kc * R values each, R the tile's NR (B) or MR (A):
// dst[(c / R) * kc * R + kk * R + c % R] = src[kk * ld + c], zero past `cols` in the last
// panel. It walks a few source rows at a time across all panels, so that the reads
// stream (panel by panel, they would jump a whole row at every kk).
template <class T>
using PackRowsFn = void (*)(const T* src, int64_t ld, int64_t cols, int64_t kc, T* dst);

// The unpacked kernel of the small-M path (dot_impl.hpp): C[0:r, 0:c] = A[0:r, :] Bt[0:c, :]^T
// for r rows of A and c rows of Bt, both contiguous along k.
template <class T>
using DotFn = void (*)(int64_t k, const T* a, int64_t lda, const T* bt, int64_t ldb, T* c, int64_t ldc);

inline constexpr int kMaxDotTile = 4;  // rows and columns of the largest dot tile

template <class T>
struct DotKernel {
  int mr_max, nr;
  // fn[r - 1][c - 1] for r <= mr_max rows and c <= nr columns: an edge gets a tile of its
  // own width. Until it did, the tile repeated its last column: a layer's forward to 1
  // output did 4x its multiply-adds, and one-layer networks to 1-2 outputs (SGD epochs,
  // 128-512 rows, k = 16-256) now train 3-10% faster on AVX-512 and AVX2.
  std::array<std::array<DotFn<T>, kMaxDotTile>, kMaxDotTile> fn;
};

// A register tile: mr x nr elements of C per micro-kernel call, and the packer of B into
// the nr-column micro-panels it reads.
template <class T>
struct RegisterTile {
  int mr, nr;
  PackRowsFn<T> pack_rows;
};

// The micro-kernels of one ISA and dtype with their packers. The packed path and the
// small path each have a tile of their own: the packed path's tile reads its A
// micro-panel from L2 again for every B micro-panel, so a shorter one streams fewer bytes
// a k-step; the small path's reads B in place once per mr rows of A, so a taller one
// reads it less often (see small_kn, cpu/blocking.hpp). The cache blocks are derived
// from the CPU's caches and these tiles.
template <class T>
struct GemmKernel {
  int lanes;  // elements per vector
  // The packed path (gemm.cpp): packed A and B micro-panels.
  RegisterTile<T> packed;
  UkernelFn<T> ukernel;
  // The small path (gemm_small.cpp): its tile on A and B where they are, B packed whole
  // when it is not row-major. [a_column_major][v - 1][r - 1] for r <= small.mr rows and
  // v <= small.nr / lanes vectors: the last columns take a tile of their own width. Until
  // they did, 100 outputs took 128 columns of AVX-512 float32 tiles (a 4-column edge as
  // wide as a whole tile).
  RegisterTile<T> small;
  UnpackedTable<T> ukernel_unpacked;
  // [a_column_major][r - 1] for r = 1, 2 rows (gemm_small.cpp's thin products), each
  // thin_nr[r - 1] columns wide: enough accumulators (8 vectors) to cover the FMAs'
  // latency, which r rows of an nr-wide tile cannot.
  UnpackedFn<T> ukernel_thin[2][2];
  int thin_nr[2];
  // A's micro-panels, and B's when column-major (any height); the small path's tiles of
  // a transposed C.
  PackFn<T> pack_transposed;
  // The packed tile's A micro-panels from a column-major A: the layout of B's panels from
  // a row-major B, packed.mr values wide.
  PackRowsFn<T> pack_a_columns;
  DotKernel<T> dot;
};

}  // namespace fastmlp

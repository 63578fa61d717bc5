#include "gemm/gemm_small.hpp"

#include <algorithm>
#include <stdexcept>

#include "buffer.hpp"
#include "epilogue.hpp"
#include "gemm/edge_tile.hpp"
#include "gemm/pack_b.hpp"
#include "isa/dispatch.hpp"
#include "threads.hpp"

namespace fastmlp {

template <class T>
bool small_path_applies(int64_t m, int64_t n, int64_t k, const MatView<T>& a, const MatView<T>&) {
  // A column-major A is read MR values per k step, lda apart: up to kMaxColumnStride
  // bytes, several steps share a page and the prefetchers follow; at a layer's grad_W
  // with 1024 outputs (4 KiB a step) every step is a new page, and packing A ran 1.2-1.35x
  // faster (AVX2, 32-64 rows x 1024 -> 1024; AVX-512 float64 1.1x).
  constexpr int64_t kMaxColumnStride = 1024;
  const bool a_ok = a.cs == 1 || (a.rs == 1 && a.cs * int64_t(sizeof(T)) <= kMaxColumnStride);
  // B is read once per MR rows of A, so it must fit in L2 (small_kn), unless there is
  // only one such panel of rows: then it streams through once, whatever its size (a
  // single-row grad_x = grad_pre W would otherwise pack all of W for one row).
  return k > 0 && a_ok && (k * n <= run_config().blocking<T>().small_kn || m <= gemm_kernel<T>().small.mr);
}

template <class T>
bool small_path_beats_dot(int64_t m, int64_t n, int64_t k) {
  const GemmKernel<T>& kern = gemm_kernel<T>();
  const DotCosts& cost = tuning().dot_costs;
  const double dot = double(n) * (double(ceil_div(k, kern.lanes)) + cost.hsum);
  // The small path's tiles counted whole NR wide, though its last columns take a tile of
  // their own width: dot_costs was fitted with this count, and counting the edge by its
  // vectors sent 64-100-10's 32 x 100 -> 10 to the small path, whose float32 epochs at
  // batch 32 then ran 12% slower (Zen 4, one thread).
  const double small = double(round_up(n, kern.small.nr)) * double(k) / kern.lanes +
                       cost.pack * double(k) * double(n) / double(m);
  return small < dot;
}

namespace {

// C (m x n) for m <= 2 rows and a row-major B, in blocks of the thin kernels' width
// (GemmKernel::thin_nr): r rows of an NR-wide tile hold too few accumulators to hide the
// FMAs' latency, and walk B's rows NR values at a time (for 1 x 1024 @ 1024 x 1024,
// 4 KiB apart for each 128 bytes read). The columns past the last whole block take the
// small path's tiles (it calls this first). Threads split the blocks; each element of C
// is one k-long chain of FMAs.
template <class T>
int64_t gemm_thin_blocks(int64_t m, int64_t n, int64_t k, const MatView<T>& a, const MatView<T>& b, T* c,
                         int64_t ldc, const Epilogue<T>& ep) {
  const GemmKernel<T>& kern = gemm_kernel<T>();
  const int64_t w = kern.thin_nr[m - 1], blocks = n / w;
  if (blocks == 0) return 0;
  const bool a_column_major = a.cs != 1;
  const int64_t lda = a_column_major ? a.cs : a.rs;
  const UnpackedFn<T> kernel = kern.ukernel_thin[a_column_major][m - 1];
  // The bias is loaded straight from ep.bias, which must then be contiguous.
  thread_local AlignedBuffer bias_buf;
  const T* bias = ep.bias;
  if (bias && ep.bias_stride != 1) {
    T* packed = bias_buf.get<T>(blocks * w);
    pack_bias(ep, blocks * w, 1, static_cast<int>(blocks * w), packed);
    bias = packed;
  }
  const unsigned relu_flag = activation_in_ukernel(ep) ? kRelu : 0u;
  const unsigned done = (bias ? kBiasAdded : 0u) | (relu_flag ? kActivationApplied : 0u);
  const int nt = static_cast<int>(
      std::min<int64_t>(threads_for(m * blocks * w * k, tuning().gemm_madds_per_thread), blocks));
  parallel_ranges(nt, blocks, [&](int64_t lo, int64_t hi) {
    for (int64_t jb = lo; jb < hi; ++jb) {
      const int64_t j0 = jb * w;
      kernel(k, a.ptr, lda, &b(0, j0), b.rs, c + j0, ldc, bias ? bias + j0 : nullptr, relu_flag);
      finish_tile(ep, done, c, ldc, 0, j0, m, w);
    }
  });
  return blocks * w;
}

// The tiles of C' = A' B' (m x n): C itself, or C^T when the caller swapped the operands
// (C^T = B^T A^T, see transposing_pays); then the tiles go to C through the edge buffer
// and the bias and activation come after them, in the epilogue.
template <class T>
void small_tiles(int64_t m, int64_t n, int64_t k, MatView<T> a, MatView<T> b, T* c, int64_t ldc,
                 const Epilogue<T>& ep_in, bool transposed) {
  const GemmKernel<T>& kern = gemm_kernel<T>();
  // One or two rows of a row-major B: the thin kernels take whole blocks of columns, the
  // tiles below the rest (the columns from j_thin on).
  const int64_t j_thin =
      !transposed && m <= 2 && b.cs == 1 ? gemm_thin_blocks(m, n, k, a, b, c, ldc, ep_in) : 0;
  if (j_thin == n) return;
  Epilogue<T> ep = ep_in;
  if (j_thin) {
    b = MatView<T>{&b(0, j_thin), b.rs, b.cs};
    c += j_thin;
    n -= j_thin;
    if (ep.bias) ep.bias += j_thin * ep.bias_stride;
    if (ep.pre) ep.pre += j_thin;
  }
  const int64_t MR = kern.small.mr, NR = kern.small.nr;
  if (MR * NR > kMaxTile) throw std::logic_error("micro-kernel tile larger than kMaxTile");
  const int64_t m_panels = ceil_div(m, MR), n_panels = ceil_div(n, NR);
  const bool a_column_major = a.cs != 1;  // then a.rs == 1 (small_path_applies)
  const int64_t lda = a_column_major ? a.cs : a.rs;

  // A row-major B is read in place but for its last columns when n is not a whole number
  // of panels; any other B is packed whole, into k x NR panels zero-padded past n. The
  // buffers are allocated before the threads start (an allocation failure must not throw
  // inside the parallel region), and the bias padded to whole panels for the kernel (it
  // runs along C's columns, which are the tiles' rows when C is transposed).
  const int64_t in_place = b.cs == 1 ? n / NR : 0;  // panels read where they are
  thread_local AlignedBuffer b_buf, bias_buf;
  T* b_packed = in_place < n_panels ? b_buf.get<T>((n_panels - in_place) * k * NR) : nullptr;
  T* bias = nullptr;
  if (ep.bias && !transposed) {
    bias = bias_buf.get<T>(n_panels * NR);
    pack_bias(ep, n, n_panels, static_cast<int>(NR), bias);
  }
  const unsigned relu_flag = activation_in_ukernel(ep) && !transposed ? kRelu : 0u;
  const unsigned done = (bias ? kBiasAdded : 0u) | (relu_flag ? kActivationApplied : 0u);

  // Threads pack shares of B's panels, then take equal runs of C's tiles in row-major
  // order (whole row panels would leave a thread idle at a few rows: 32 rows are 3 panels
  // of 12): every element of C is one k-long chain of FMAs, whoever computes it, so
  // results do not depend on the thread count.
  // Transposed, a thread takes whole row panels of C' (columns of C) instead, so that it
  // finishes its columns of C in one pass along C's rows after its last tile.
  const int64_t tiles = m_panels * n_panels;
  const int nt = static_cast<int>(std::min<int64_t>(threads_for(m * n * k, tuning().gemm_madds_per_thread),
                                                    transposed ? m_panels : tiles));
  parallel(nt, [&](int tid, int) {
    const int64_t packed = n_panels - in_place;
    const int64_t jp_lo = in_place + packed * tid / nt, jp_hi = in_place + packed * (tid + 1) / nt;
    if (jp_hi > jp_lo)
      pack_b_block(kern, kern.small, b, 0, k, jp_lo * NR, std::min(n, jp_hi * NR) - jp_lo * NR,
                   b_packed + (jp_lo - in_place) * k * NR);
    team_barrier(nt);  // every panel of B is ready

    alignas(64) T edge[kMaxTile];
    const int64_t t_lo = transposed ? m_panels * tid / nt * n_panels : tiles * tid / nt;
    const int64_t t_hi = transposed ? m_panels * (tid + 1) / nt * n_panels : tiles * (tid + 1) / nt;
    for (int64_t t = t_lo; t < t_hi; ++t) {
      const int64_t ip = t / n_panels, jp = t % n_panels;
      const int64_t i0 = ip * MR, mr = std::min(MR, m - i0);
      const int64_t j0 = jp * NR, nr = std::min(NR, n - j0);
      const T* bp = jp < in_place ? &b(0, j0) : b_packed + (jp - in_place) * k * NR;
      const int64_t ldb = jp < in_place ? b.rs : NR;
      const T* tile_bias = bias ? bias + j0 : nullptr;
      const UnpackedFn<T> kernel =
          kern.ukernel_unpacked[a_column_major][ceil_div(nr, kern.lanes) - 1][mr - 1];
      if (transposed) {  // through the edge buffer
        kernel(k, &a(i0, 0), lda, bp, ldb, edge, NR, nullptr, 0u);
        // Transposed in registers, lanes x lanes at a time (loads, shuffles and stores of
        // about lanes / 2 vectors a column), or, for a tile of fewer than lanes / 2 rows,
        // one element at a time, along C's rows (its unit stride).
        if (2 * mr >= kern.lanes)
          kern.pack_transposed(edge, NR, mr, static_cast<int>(mr), nr, c + j0 * ldc + i0, ldc);
        else
          move_tile<true>(edge, NR, c + j0 * ldc + i0, 1, ldc, mr, nr);
        continue;
      }
      const unsigned last_lanes = static_cast<unsigned>(nr % kern.lanes) << kLastLanesShift;
      kernel(k, &a(i0, 0), lda, bp, ldb, c + i0 * ldc + j0, ldc, tile_bias, relu_flag | last_lanes);
      finish_tile(ep, done, c, ldc, i0, j0, mr, nr);
    }
    if (transposed && t_hi > t_lo) {
      const int64_t i_lo = t_lo / n_panels * MR, i_hi = std::min(m, t_hi / n_panels * MR);
      finish_tile(ep, 0u, c, ldc, 0, i_lo, n, i_hi - i_lo);
    }
  });
}

// Whether the small path should run on C^T = B^T A^T instead:
// - where B would be packed whole (W^T in a dense layer's forward x W^T): with few rows
//   against many outputs, A^T is the smaller to pack and fills the tiles better. Costs in
//   vector multiply-adds, as Tuning::dot_costs counts them: the padded tiles plus packing,
//   and for the transposed product its stores to C (Tuning::transposed_c_cost);
// - where both products read A and B in place (B row-major, A column-major: grad_W =
//   grad_pre^T x), for a C of few columns against many rows, whose last columns fill a
//   vector poorly: grad_W of a layer from 2 inputs, 64 rows, took 2 columns of 16 float32
//   lanes. Costs: the tiles' vector multiply-adds as they run (a short tile computes only
//   its rows), plus the transposed stores. Zen 4, one thread, 32-256 x k 16-256 -> 1-24
//   against the old path: float32 0.17-0.74x the time for 1-3 columns, 0.34-0.7x for 5-10
//   and 0.74-0.79x for 24 at k >= 64 (k = 256 for 10 and 24); float64 0.32-0.86x for 1-3,
//   0.6-0.86x for 5 and 10 at k >= 64; the rest level. Transposing every such product ran
//   16 columns (and float64's 8) up to 1.5x slower: the count leaves them direct.
template <class T>
bool transposing_pays(int64_t m, int64_t n, int64_t k, const MatView<T>& a, const MatView<T>& b) {
  if (!small_path_applies(n, m, k, b.transposed(), a.transposed())) return false;
  const GemmKernel<T>& kern = gemm_kernel<T>();
  const double transposed_c = tuning().transposed_c_cost * double(m) * double(n);
  // Vector multiply-adds of tiles over rows x cols of C, each as wide as its columns.
  auto madds = [&](int64_t rows, int64_t cols) {
    return double(rows) * double(ceil_div(cols, kern.lanes)) * double(k);
  };
  if (b.cs == 1) {
    if (a.rs != 1) return false;  // then A^T would be packed
    return madds(n, m) + transposed_c < madds(m, n);
  }
  const double pack = tuning().dot_costs.pack;
  auto cost = [&](int64_t rows, int64_t cols, bool packs_b) {
    return madds(round_up(rows, kern.small.mr), cols) + (packs_b ? pack * double(k) * double(cols) : 0.0);
  };
  // B^T's packed B' is A^T. The 10%: the tiles' cost ignores how their edges run.
  return cost(n, m, a.rs != 1) + transposed_c < 0.9 * cost(m, n, true);
}

}  // namespace

template <class T>
void gemm_small(int64_t m, int64_t n, int64_t k, MatView<T> a, MatView<T> b, T* c, int64_t ldc,
                const Epilogue<T>& ep) {
  if (transposing_pays(m, n, k, a, b))
    return small_tiles(n, m, k, b.transposed(), a.transposed(), c, ldc, ep, true);
  small_tiles(m, n, k, a, b, c, ldc, ep, false);
}

#define FASTMLP_INSTANTIATE(T)                                                                          \
  template bool small_path_applies<T>(int64_t, int64_t, int64_t, const MatView<T>&, const MatView<T>&); \
  template bool small_path_beats_dot<T>(int64_t, int64_t, int64_t);                                     \
  template void gemm_small<T>(int64_t, int64_t, int64_t, MatView<T>, MatView<T>, T*, int64_t,           \
                              const Epilogue<T>&);
FASTMLP_INSTANTIATE(float)
FASTMLP_INSTANTIATE(double)
#undef FASTMLP_INSTANTIATE

}  // namespace fastmlp

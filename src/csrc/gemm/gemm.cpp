#include "gemm/gemm.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "buffer.hpp"
#include "epilogue.hpp"
#include "gemm/edge_tile.hpp"
#include "gemm/gemm_dot.hpp"
#include "gemm/gemm_small.hpp"
#include "gemm/pack_b.hpp"
#include "isa/dispatch.hpp"
#include "threads.hpp"

namespace fastmlp {
namespace {

// Packing buffers of the calling thread (OpenMP workers write into them through
// pointers); one set per Python thread, so concurrent calls never share one.
struct Workspace {
  AlignedBuffer a, b, bias;
};
Workspace& workspace() {
  thread_local Workspace ws;
  return ws;
}

// Rows [i0, i0+rows) x columns [p0, p0+kc) of A into an mr-row micro-panel
// dst[kk*mr + r], rows past the edge zero-filled, for a layout that is neither row- nor
// column-major: per kk one element of each of the mr rows.
template <class T>
void pack_strided_a_panel(const MatView<T>& a, int mr, int64_t i0, int64_t rows, int64_t p0, int64_t kc,
                          T* dst) {
  for (int64_t kk = 0; kk < kc; ++kk, dst += mr)
    for (int r = 0; r < mr; ++r) dst[r] = r < rows ? a(i0 + r, p0 + kk) : T(0);
}

// Rows [i0, i0+rows) x columns [p0, p0+kc) of A into consecutive MR-row micro-panels
// (dst[(r / MR) * kc * MR + kk * MR + r % MR]), the last zero-filled past the edge. A
// row-major A goes through the micro-kernel's vectorised transposing packer, panel by
// panel; a column-major one (a dense layer's grad_pre^T in grad_W = grad_pre^T x) through
// the packer of B's row-major panels, whose layout it has, across all panels at once.
// Packed panel by panel with one scalar copy per value, each kk of a panel one line of
// grad_pre, that took 10% of grad_W for a 4096-row batch 1024 -> 1024 (AVX-512 float32).
template <class T>
void pack_a_block(const GemmKernel<T>& kern, const MatView<T>& a, int64_t i0, int64_t rows, int64_t p0,
                  int64_t kc, T* dst) {
  const int mr = kern.packed.mr;
  if (a.rs == 1 && a.cs != 1) return kern.pack_a_columns(&a(i0, p0), a.cs, rows, kc, dst);
  for (int64_t r = 0; r < rows; r += mr, dst += mr * kc) {
    const int64_t n = std::min<int64_t>(mr, rows - r);
    if (a.cs == 1)
      kern.pack_transposed(&a(i0 + r, p0), a.rs, n, mr, kc, dst, mr);
    else
      pack_strided_a_panel(a, mr, i0 + r, n, p0, kc, dst);
  }
}

// Split nt threads into a tm x tn grid over (M panels, N panels) that minimises the
// largest share; on ties prefer splitting N (each thread then packs only its own B).
void thread_grid(int nt, int64_t m_panels, int64_t n_panels, int& tm, int& tn) {
  int64_t best = -1;
  for (int cand_tn = nt; cand_tn >= 1; --cand_tn) {
    if (nt % cand_tn) continue;
    const int cand_tm = nt / cand_tn;
    const int64_t share = ceil_div(m_panels, cand_tm) * ceil_div(n_panels, cand_tn);
    if (best < 0 || share < best) {
      best = share;
      tm = cand_tm;
      tn = cand_tn;
    }
  }
}

// C (m x n, ldc) = bias or 0, then the activation: what A B + bias is when k == 0.
template <class T>
void gemm_empty_k(int64_t m, int64_t n, T* c, int64_t ldc, const Epilogue<T>& ep) {
  for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, T(0));
  finish_tile(ep, 0u, c, ldc, 0, 0, m, n);
}

// Share of the register tiles' lanes that hold real elements of an m x n result.
double tile_efficiency(int64_t m, int64_t n, int mr, int nr) {
  return double(m) / double(round_up(m, mr)) * double(n) / double(round_up(n, nr));
}

// The packed path on C' = A' B' (m x n), where C' is C itself, or C transposed when the
// caller swapped the operands (C^T = B^T A^T) because that fills the register tile
// better: a result with few columns and many rows.
template <class T>
void gemm_packed(int64_t m, int64_t n, int64_t k, MatView<T> a, MatView<T> b, T* c, int64_t ldc,
                 const Epilogue<T>& ep, bool transposed) {
  const RunConfig& cfg = run_config();  // one snapshot: the kernel and its blocks together
  const GemmKernel<T>& kern = cfg.kernels->gemm<T>();
  const int MR = kern.packed.mr, NR = kern.packed.nr;
  if (MR * NR > kMaxTile) throw std::logic_error("micro-kernel tile larger than kMaxTile");
  const Blocking& blk = cfg.blocking<T>();
  const int64_t KC = blk.kc;
  // Whole micro-panels: the packed A block holds MC / MR of them. M is cut into blocks
  // of equal size, none larger than the model's MC by more than a panel: as many blocks
  // (and packings of B) as MC gives, each smaller, instead of full blocks and a last one
  // of a few rows (4096 rows under an MC of 2046 were 2046 + 2046 + 4).
  const int64_t MC = round_up(ceil_div(m, ceil_div(m, blk.mc)), MR);
  const int64_t NCP = std::max<int64_t>(1, blk.nc / NR);  // N panels per packed B block
  const int64_t n_panels = ceil_div(n, NR);
  const int64_t kc_max = std::min(KC, k);

  int nt = threads_for(m * n * k, cfg.kernels->tuning.gemm_madds_per_thread);
  nt = static_cast<int>(std::min<int64_t>(nt, ceil_div(MC, MR) * n_panels));
  int tm = 1, tn = 1;
  thread_grid(nt, ceil_div(MC, MR), n_panels, tm, tn);
  nt = tm * tn;

  // Threads sharing one packed A block write lines that the others read in the last call
  // and may still hold: each such write waits for the other cores' copies to be
  // invalidated. On 2 threads of a Zen 4 that made packing A 24% of an AVX2 256^3
  // float64 product (3% on one thread). So every thread that reads the block packs its
  // own copy, without barriers, while the copies together fit the L3 budget of the one
  // shared block (the model's MC; without an L3, one thread's L2): on AVX2 256^3 float64
  // 372 -> 350 us, 512^3 float32 1404 -> 1312 us, 768^3 4.5-4.6 -> 4.3 ms, linear
  // 256 x 512 -> 512 716 -> 669 us, 128 x 1024 -> 1024 1492 -> 1430 us; AVX2 1024^3 -
  // 2048^3 and AVX-512 level. Beyond, the copies would crowd the L3 out of the A block.
  const double a_budget =
      cfg.caches.l3.size > 0 ? double(cfg.caches.l3.size) * kL3Share : per_thread(cfg.caches.l2);
  const bool private_a = tn > 1 && double(nt) * double(MC * kc_max * int64_t(sizeof(T))) <= a_budget;
  Workspace& ws = workspace();
  T* abuf_all = ws.a.get<T>(MC * kc_max * (private_a ? nt : 1));
  const int64_t b_per_thread = kc_max * std::min(NCP, ceil_div(n_panels, tn)) * NR;
  T* bbuf_all = ws.b.get<T>(b_per_thread * nt);
  // The bias runs along C's columns: the micro-kernel starts from it unless C is transposed.
  const T* bias = nullptr;
  if (ep.bias && !transposed) {  // padded to whole panels so the micro-kernel can load NR values
    T* padded = ws.bias.get<T>(n_panels * NR);
    pack_bias(ep, n, n_panels, NR, padded);
    bias = padded;
  }
  // Transposed, the bias is added by the epilogue, so ReLU must wait for it there too.
  const unsigned relu_flag = activation_in_ukernel(ep) && !transposed ? kRelu : 0u;
  const unsigned done = (transposed ? 0u : kBiasAdded) | (relu_flag ? kActivationApplied : 0u);

  // Threads that split N alone take their panels from WorkShares (threads.hpp), one per
  // thread and (K, M) block, and steal from each other's when done. An owner takes whole
  // B blocks while more than two are left of its share, then half of what is left (a
  // quarter block at least); a thief a quarter block: the A block is read again once per
  // B block taken, and smaller ones throughout made 4096^3 float32 1-2.5% slower. Zen 4,
  // 2 threads, a busy process pinned to one core: 2048^3 float32 in 117-130 ms against
  // 169-180 with fixed shares (NumPy 171-183; 81 with the core idle); idle, 256^3-4096^3
  // level (geomean 1.00). Every tile is the same chain of FMAs whoever computes it; the
  // next K block waits for the last (its tiles may go to another thread).
  const bool stealing = nt > 1 && tm == 1;
  const int64_t steal = std::max<int64_t>(1, NCP / 4);
  const int64_t blocks = stealing ? ceil_div(k, KC) * ceil_div(m, MC) : 0;
  std::unique_ptr<WorkShare[]> shares(blocks ? new WorkShare[blocks * nt] : nullptr);
  for (int64_t s = 0; s < blocks * nt; ++s)
    shares[s].reset(n_panels * (s % nt) / nt, n_panels * (s % nt + 1) / nt);

  parallel(nt, [&](int tid, int) {
    const int ti = tid / tn, tj = tid % tn;
    const int64_t np_lo = n_panels * tj / tn, np_hi = n_panels * (tj + 1) / tn;
    T* bbuf = bbuf_all + b_per_thread * tid;
    T* abuf = private_a ? abuf_all + MC * kc_max * tid : abuf_all;
    alignas(64) T edge[kMaxTile];

    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = std::min(KC, k - pc);
      const bool first = pc == 0, last = pc + kc == k;
      const unsigned flags = (first ? 0u : kLoadC) | (last ? relu_flag : 0u);

      for (int64_t ic = 0; ic < m; ic += MC) {
        const int64_t mc = std::min(MC, m - ic);
        const int64_t m_panels = ceil_div(mc, MR);
        const int64_t mp_lo = m_panels * ti / tm, mp_hi = m_panels * (ti + 1) / tm;
        // The panels this thread packs: its own rows into its own copy, or its share of all.
        const int64_t pk_lo = private_a ? mp_lo : m_panels * tid / nt;
        const int64_t pk_hi = private_a ? mp_hi : m_panels * (tid + 1) / nt;
        if (pk_hi > pk_lo)
          pack_a_block(kern, a, ic + pk_lo * MR, std::min(mc, pk_hi * MR) - pk_lo * MR, pc, kc,
                       abuf + pk_lo * MR * kc);
        if (!private_a) team_barrier(nt);  // the whole A block is packed

        // The N panels [jb, jb_hi) of this (K, M) block: B's into bbuf, then their tiles.
        auto run_panels = [&](int64_t jb, int64_t jb_hi) {
          pack_b_block(kern, kern.packed, b, pc, kc, jb * NR, std::min(n, jb_hi * NR) - jb * NR, bbuf);

          for (int64_t ip = mp_lo; ip < mp_hi; ++ip) {
            const int64_t i0 = ic + ip * MR, mr = std::min<int64_t>(MR, m - i0);
            const T* ap = abuf + ip * MR * kc;
            for (int64_t jp = jb; jp < jb_hi; ++jp) {
              const int64_t j0 = jp * NR, nr = std::min<int64_t>(NR, n - j0);
              const T* bp = bbuf + (jp - jb) * NR * kc;
              const T* tile_bias = first && bias ? bias + j0 : nullptr;
              if (!transposed && mr == MR && nr == NR) {
                kern.ukernel(kc, ap, bp, c + i0 * ldc + j0, ldc, tile_bias, flags);
                if (last) finish_tile(ep, done, c, ldc, i0, j0, mr, nr);
                continue;
              }
              // Through a full-size buffer: an edge tile, or one C holds transposed.
              // (C' element (i, j) lives at c[i*rs + j*cs].)
              const int64_t rs = transposed ? 1 : ldc, cs = transposed ? ldc : 1;
              T* ct = c + i0 * rs + j0 * cs;
              if (!first) move_tile<false>(edge, NR, ct, rs, cs, mr, nr);
              kern.ukernel(kc, ap, bp, edge, NR, tile_bias, flags);
              move_tile<true>(edge, NR, ct, rs, cs, mr, nr);
              if (last) {
                if (transposed)
                  finish_tile(ep, done, c, ldc, j0, i0, nr, mr);
                else
                  finish_tile(ep, done, c, ldc, i0, j0, mr, nr);
              }
            }
          }
        };
        if (stealing) {
          const int64_t block = pc / KC * ceil_div(m, MC) + ic / MC;  // this (K, M) block's shares
          work_and_steal(&shares[block * nt], tid, nt, NCP, steal, run_panels);
        } else {
          for (int64_t jb = np_lo; jb < np_hi; jb += NCP) run_panels(jb, std::min(np_hi, jb + NCP));
        }
        if (!private_a) team_barrier(nt);  // the A buffer is repacked next
      }
      if (stealing && !last) team_barrier(nt);  // C's partial sums are complete
    }
  });
}

}  // namespace

template <class T>
void gemm(int64_t m, int64_t n, int64_t k, MatView<T> a, MatView<T> b, T* c, int64_t ldc,
          const Epilogue<T>& ep) {
  if (m == 0 || n == 0) return;
  if (k == 0) return gemm_empty_k(m, n, c, ldc, ep);
  const bool small = small_path_applies(m, n, k, a, b);
  if (dot_path_applies(m, n, k, a, b) && !(small && small_path_beats_dot<T>(m, n, k)))
    return gemm_dot(m, n, k, a, b, c, ldc, ep);
  if (small) return gemm_small(m, n, k, a, b, c, ldc, ep);
  const RegisterTile<T>& tile = gemm_kernel<T>().packed;
  // Few columns and many rows: C^T = B^T A^T puts the long side along the vectors.
  if (tile_efficiency(n, m, tile.mr, tile.nr) > 1.5 * tile_efficiency(m, n, tile.mr, tile.nr))
    return gemm_packed(n, m, k, b.transposed(), a.transposed(), c, ldc, ep, true);
  gemm_packed(m, n, k, a, b, c, ldc, ep, false);
}

template void gemm<float>(int64_t, int64_t, int64_t, MatView<float>, MatView<float>, float*, int64_t,
                          const Epilogue<float>&);
template void gemm<double>(int64_t, int64_t, int64_t, MatView<double>, MatView<double>, double*, int64_t,
                           const Epilogue<double>&);

}  // namespace fastmlp

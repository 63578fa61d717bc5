// The GEMM's cache blocks from the caches of the running CPU, after BLIS's analytical
// model (Low, Igual, Smith, Quintana-Orti, "Analytical Modeling Is Enough for
// High-Performance BLIS", ACM TOMS 43(2), 2016) applied to this macro-kernel's loop
// order, which is BLIS's with the roles of A and B swapped (see gemm.cpp), and measured
// where the model and the machine disagree:
//
//   for each K block of KC             (C accumulates over K blocks)
//     pack an MC x KC block of A       shared by the threads      -> stays in L3
//     for each KC x NC block of B      packed by the thread using it -> stays in L2
//       for each MR x KC micro-panel of A                        -> from L2 (or L1)
//         for each KC x NR micro-panel of B: one micro-kernel call (streams from L2)
//
// - KC: as deep as kMaxKc, so that C is loaded and stored, and the threads meet at a
//   barrier, as few times as possible (once per K block each), unless the L2 share of a
//   thread cannot then hold a B block of kMinPanels micro-panels; a multiple of 8 (the
//   k-loop's unrolling), at least kMinKc. The analytical model's L1 bound, A and B
//   micro-panels together within L1 less one way ((MR + NR) KC S <= (W1 - 1) / W1 * L1:
//   KC 160-320 on a 32 KiB L1), was measured and left: on a Zen 4, 1024^3-2048^3, it ran
//   level with KC 512 on one thread and 15-35% slower on two (alternating blocks in one
//   process), while the A micro-panel it keeps in L1 streams from L2 at 5-15 bytes a
//   cycle, within L2's bandwidth.
// - NC (L2): the B block takes kL2Share of the L2 share of one thread (L2 / the CPUs
//   sharing it); the rest holds the A micro-panels on their way from L3, the C tiles and
//   what the hardware prefetchers bring. NC is a multiple of NR.
// - small_kn (L2): products whose B holds at most this many elements skip the packed
//   path's blocking (gemm_small.cpp): A is read where it is, B too when row-major (else
//   packed whole), once per MR rows of A (MR the small path's tile, which may differ from
//   the packed path's), so B must stay in L2 as the packed B block does, within the same
//   budget, scaled by MR / kSmallFullMr for shorter tiles, which read it more often. On a
//   Zen 4 (1 MiB L2) that path ran 1.1-1.9x faster than packing from 64^3 to 256^3 and at
//   32 x 256 x 256, level with it (0.9-1.2x) at 2048-4096 rows, and 0.7-0.9x once B
//   outgrew the budget (128 x 512 x 512 float64); AVX2's 6-row float64 tile, 0.85x at
//   256^3 with B at the full budget, 0.96-1.03x at half of it.
//   Three quarters of the budget for AVX2's 6-row tiles was measured and left: one
//   thread, 192^3 float64 and 288^3 float32 ran 3-5% faster, forward layers at k n of
//   37-43K (float64) 5-13% faster, but 512 x 224 -> 192's backward 5% slower, and on two
//   threads 64 x 192 -> 224's forward 13% slower. The rows of A matter as well as B's
//   size (the packed path packs B once for all of them); a bound on k n alone cannot
//   take the gains without the losses.
// - MC (L3): the A block, with the MC x NC block of C that each pass over it updates,
//   takes kL3Share of the L3 (it is shared by the threads that read it); without an L3,
//   twice the L2, streamed from memory by the prefetchers. MC is a multiple of MR within
//   [MR, kMaxMc]: large blocks of A pack B fewer times. C counts because its lines pass
//   through the L3 on every pass (on AMD, a victim cache of the L2s) and push A out. On a
//   Zen 4 VM, in a phase where every product ran slower (other guests on the L3, we
//   think), the A block alone at kL3Share (float64 MC 2046, float32 4092) ran AVX2
//   float64 2048^3 at 82-89% of the peak on one thread against 89-92% with the smaller
//   blocks that counting C gives (float64 1026-1368 rows, float32 2046), float32 4096^3
//   at 86-88% against 89-91%; in calm phases the two models ran level (best of 5
//   processes: float64 4096^3 90.4 against 92.6% on one thread, 2048^3 90.8 against
//   90.1% on two).
//
// Tested over the caches of other CPUs through FASTMLP_CACHES (tests/test_blocking.py);
// FASTMLP_BLOCKING replaces the model's numbers altogether, for tuning.
#pragma once
#include <cstdint>
#include <string>

#include "cpu/cpu.hpp"

namespace fastmlp {

struct Blocking {
  int64_t mc, kc, nc;
  int64_t small_kn;  // k * n up to which row-major A B skips packing (0: never)
};

// The model's constants, the only numbers of the blocking.
inline constexpr int64_t kMinKc = 64, kMaxKc = 512;
inline constexpr int64_t kMinPanels = 4;
inline constexpr double kL2Share = 0.5;
inline constexpr double kL3Share = 0.25;
inline constexpr int64_t kMaxMc = 8192;
inline constexpr int kSmallFullMr = 12;
// The bytes of a cache one thread may count on (its size over the CPUs sharing it).
double per_thread(const CacheLevel& c);

// The register tiles the blocks are for: the packed path's mr x nr (mc, kc, nc) and the
// small path's height (small_kn).
struct TileSizes {
  int mr, nr, small_mr;
};

// For the micro-kernels' tiles on elements of elem_bytes.
Blocking model_blocking(const Caches& caches, TileSizes tiles, int elem_bytes);

// `base` with the values that spec names replaced: comma-separated KEY=N with KEY mc, kc
// or nc (N >= 1), each rounded to the packed path's register tile (mc to a multiple of
// mr, nc of nr), or small (N >= 0; small=0 sends every product through packing). Throws
// std::invalid_argument naming the bad item.
Blocking parse_blocking(const std::string& spec, Blocking base, TileSizes tiles);

}  // namespace fastmlp

// The GEMM's cache blocks from the caches of the running CPU: BLIS's analytical model
// (Low, Igual, Smith, Quintana-Orti, "Analytical Modeling Is Enough for High-Performance
// BLIS", ACM TOMS 43(2), 2016), applied to this macro-kernel's loop order, which is
// BLIS's with the roles of A and B swapped (see gemm.cpp):
//
//   for each K block of KC             (C accumulates over K blocks)
//     pack an MC x KC block of A       shared by the threads      -> stays in L3
//     for each KC x NC block of B      packed by the thread using it -> stays in L2
//       for each MR x KC micro-panel of A                        -> stays in L1
//         for each KC x NR micro-panel of B: one micro-kernel call (streams from L2)
//
// - KC (L1): between two uses of a line of the A micro-panel, the rest of that panel and
//   one whole B micro-panel pass through L1; with LRU replacement the line survives if
//   both panels fit the L1 less one way, which is kept for the C tile and the next
//   panels: (MR + NR) KC S <= (W1 - 1) / W1 * L1. The panels are contiguous, so they
//   spread evenly over the sets and the bound holds per set. KC is then rounded down to a
//   multiple of 8 (the k-loop's unrolling) and kept within [kMinKc, kMaxKc]. The floor
//   matters for wide tiles: the C tile is loaded and stored once per K block, and its
//   rows, a row of C apart, mostly miss L1. AVX-512's 12 x 32 tile, whose bound is 160
//   in float32 (128 in float64), ran 5-10% slower at those depths than at 256-512
//   (1024^3 and 2048^3 on a Zen 4, one thread); its B micro-panel then streams from L2
//   with the evicted lines of the A micro-panel, 7 bytes a cycle at one 512-bit FMA a
//   cycle, well within what L2 delivers.
// - NC (L2): the B block takes kL2Share of the L2 share of one thread (L2 / the CPUs
//   sharing it); the rest holds the A micro-panels on their way from L3, the C tiles and
//   what the hardware prefetchers bring. NC is a multiple of NR.
// - MC (L3): the A block takes kL3Share of the L3 (it is shared by the threads that
//   read it); without an L3, twice the L2, streamed from memory by the prefetchers. MC is
//   a multiple of MR within [MR, kMaxMc]: large blocks of A pack B fewer times.
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
};

// The model's constants, the only numbers of the blocking.
inline constexpr int64_t kMinKc = 256, kMaxKc = 512;
inline constexpr double kL2Share = 0.5;
inline constexpr double kL3Share = 0.25;
inline constexpr int64_t kMaxMc = 8192;

// For a micro-kernel with an mr x nr register tile on elements of elem_bytes.
Blocking model_blocking(const Caches& caches, int mr, int nr, int elem_bytes);

// `base` with the values that spec names replaced: comma-separated KEY=N with KEY mc, kc
// or nc, each rounded to the register tile (mc to a multiple of mr, nc of nr). Throws
// std::invalid_argument naming the bad item.
Blocking parse_blocking(const std::string& spec, Blocking base, int mr, int nr);

}  // namespace fastmlp

// Every threshold of the kernels above the micro-kernels, per instruction set, in one
// place (as BLIS's config/<arch>/): which path a product takes, from how much work a
// second thread pays off, how a training step uses threads. The cache blocks are not
// here: they follow the CPU's caches (cpu/blocking.hpp).
#pragma once
#include <cstdint>

namespace fastmlp {

// Rows up to which the unpacked dot-product path (gemm_dot.cpp) beats packing, by the
// depth k of the product: its horizontal sums cost about as much as the multiply-adds
// of a short row, so a shallow product packs from a few rows on.
struct DotRows {
  int64_t mid_k, deep_k;       // k < mid_k: shallow; k < deep_k: mid; else deep
  int64_t shallow, mid, deep;  // row limits
  int64_t max_rows(int64_t k) const { return k >= deep_k ? deep : k >= mid_k ? mid : shallow; }
};

// Where both the unpacked dot path and the small path (gemm_small.cpp) could take a
// product (B = W^T small enough to pack cheaply), their costs per row of C in vector
// multiply-adds (W lanes, NR the micro-kernel's columns), the smaller taken:
//   dot    n (ceil(k / W) + hsum)         a horizontal sum per output
//   small  round_up(n, NR) k / W + pack k n / m   padded columns, B packed for m rows
struct DotCosts {
  double hsum, pack;
};

// The dense layers (m rows, n outputs, k inputs) that take the direct loops of
// small_dense.hpp instead of the GEMM paths: any of at most max_madds multiply-adds, and
// those with a handful of weights (n <= narrow_outputs, k <= narrow_inputs) up to
// narrow_madds, whose outputs fill a few lanes of the GEMM's tiles.
struct SmallDenseLimits {
  int64_t max_madds, narrow_outputs, narrow_inputs, narrow_madds;
};

// Every threshold of the kernels above the micro-kernels. Cache blocks are not here:
// they come from the CPU's caches (cpu/blocking.hpp). Work is counted in multiply-adds
// (or elements) and compared with these grains, never with the thread count, except
// where a comment says the choice only sets how many threads run.
struct Tuning {
  int64_t gemm_madds_per_thread;  // packed GEMM: another thread from this much work each
  int64_t dot_madds_per_thread;   // unpacked path: its horizontal sums make it dearer
  int64_t dot_max_columns;        // outputs this narrow take the unpacked path at any height
  DotRows dot_rows_f32, dot_rows_f64;
  DotCosts dot_costs;
  // The small path on C^T = B^T A^T (gemm_small.cpp's transposing_pays): what each element
  // of C costs on top of the tiles and packing, in vector multiply-adds (the transposing
  // scatter from the edge buffer and the epilogue's separate pass over C).
  double transposed_c_cost;
  int64_t elementwise_per_thread;   // activations, backward's bias/derivative pass
  int64_t optim_params_per_thread;  // optimizer updates
  SmallDenseLimits small_dense;     // dense layers this small: direct loops (small_dense.hpp)
  int64_t threaded_step_madds;      // training steps: one thread below, halves from here...
  int64_t halved_step_madds;        // ...to here, then every op threaded (mlp.cpp)
  int64_t short_step_rows;          // steps of fewer rows: one thread below short_step_madds
  int64_t short_step_madds;         // instead of threaded_step_madds
  int64_t inference_rows;           // rows per pass of predict/evaluate (workspace bound)
  int64_t interrupt_poll_madds;     // forward multiply-adds between two checks for Ctrl-C

  template <class T>
  const DotRows& dot_rows() const;
};
template <>
inline const DotRows& Tuning::dot_rows<float>() const {
  return dot_rows_f32;
}
template <>
inline const DotRows& Tuning::dot_rows<double>() const {
  return dot_rows_f64;
}

// The figures were measured on 2 cores of an AMD EPYC family 25 model 17 (Zen 4: one
// 512-bit or two 256-bit FMAs per cycle, 32 KiB L1d, 1 MiB L2), one process, both
// settings alternating in blocks. Where a threshold was only measured on AVX-512, the
// other sets keep it until measured on their own.
//
// The dot-path rows: linear(x, W) for n = 256 outputs at k = 16..1024 and m = 4..128
// rows on one thread, the unpacked path (row-major x) against the packed path (the same
// x column-major), per ISA and dtype. The largest m at which the unpacked path was still
// at least as fast, by k:
//                  k:  16   32   64  128  256  512 1024
//   avx512 float32      4    8   16   32   96  128  128
//   avx512 float64      8   16   16   32   64   48   64
//   generic float32     8   16  128  128  128  128  128   (128: the largest measured)
//   generic float64    16   32  128  128  128  128  128
// Generic's packed path has no FMA and a 6 x 8 tile, so there the unpacked path wins at
// every size measured. AVX2's rows were measured again, with its 3 x 4 dot kernels
// (2 x 4 until then, held to 8-16 rows at k >= 256 by the first table; forced, the
// 2 x 4 kernels too beat packing up to 48 rows at k = 1024, n = 1024), against packing
// forced by a build-time switch, for n = 256 and 1024 (W beyond L2: packing then streams it from L3), 1 and 2
// threads; the largest m at which the unpacked path was still at least as fast:
//                  k:  128  256  512 1024      (m measured: 8-128)
//   avx2 float32  1t    32   48  128  128      2t: k 256: 96, k 1024: 128
//   avx2 float64  1t    32   48   -    32      2t: k 256: 64, k 1024: 32
// (at k < 128 with n = 256 the small path takes the product either way). Linear
// 32 x 1024 -> 1024 on two threads, all libraries on AVX2: 548 to 342 us in the runner
// (0.80x to 1.28x NumPy with OpenBLAS's Haswell kernels); its forward + backward
// 1.43-1.48 to 1.24-1.28 ms (alternating processes).
//
// The dot-path costs: linear(x, W, b, relu) at m = 1..4096, k = 16..1024, n = 10..256 on
// one thread, both paths in alternating blocks in one process. The dot path won from
// k >= 80 at n = 16 in float32 on AVX-512 (1.6-2.6x slower than the small path at
// k = 16, 0.6-0.8x at k >= 100, n = 10), with few rows (m <= 16) from k >= 64; AVX2's
// dot kernels lost even at k = 128 for n = 16 (1.6-1.9x) and won only for one row, for
// 8 x 64 -> 256 (0.9x) and float64 n = 10 at k = 100 (0.92x). hsum 3, pack 0.5
// (AVX-512) and hsum 8, pack 1 (AVX2) pick the faster path in all but 3 of 46 shapes,
// those within 20%; against packing and the dot path alone, linear+relu ran 1.0-2.9x as
// fast (256 x 16 -> 16: 1.7-2.6x; 128^3: 1.1x). The generic dot path, without FMA in
// either, beat the small path up to 1.6x at 128^3: hsum 0, pack 1 keep it.
inline constexpr Tuning kTuningAvx512 = {
    /*gemm_madds_per_thread=*/int64_t(1) << 17,  // 64^3 already gains from two threads
    /*dot_madds_per_thread=*/int64_t(1) << 15,
    /*dot_max_columns=*/16,
    /*dot_rows_f32=*/{64, 256, 8, 32, 64},
    /*dot_rows_f64=*/{64, 256, 8, 16, 48},
    /*dot_costs=*/{3.0, 0.5},
    // linear(x, W, b, relu), W^T packed against x^T packed, alternating blocks in one
    // process, 1 and 2 threads. Transposed, float32 on AVX2 ran 1.11-1.33x as fast at
    // 32 x 256 -> 256, 1.16-1.24x at 32 x 512 -> 128, 1.04-1.12x at 48-64 x 256 -> 256;
    // at 96-128 x 256 -> 256 0.90-0.95x (AVX2 and AVX-512), and float64 on AVX-512 at
    // 64 x 256 -> 256 0.94x. With 3 here and the transposed product taken only when
    // modelled at least 10% cheaper (transposing_pays), none of those run slower.
    /*transposed_c_cost=*/3.0,
    /*elementwise_per_thread=*/int64_t(1) << 15,
    /*optim_params_per_thread=*/int64_t(1) << 15,
    // One-layer networks (SGD, mse) at m x k -> n, 64 steps, one thread, either path
    // forced by a build switch, alternating processes, float32 and float64: at 512-1024
    // multiply-adds the two were within 15% of each other on AVX-512 and AVX2 (generic's
    // loops up to 1.5x faster at one row, up to 2048); from 1536 on the GEMM paths ran
    // 1.1-2.5x as fast there (16 x 16 -> 8: 1.4x; 32 x 16 -> 16: 2-2.5x; 8 x 32 -> 32:
    // 2.2x) and 1.0-1.4x on generic, except for layers of at most 3 outputs and 16 inputs,
    // whose outputs fill a few lanes of the GEMM's tiles: there the direct loops ran
    // 1.05-1.35x as fast up to 4096 on all three (128 x 4 -> 3, 256 x 4 -> 2, 256 x 8 ->
    // 1, 512 x 8 -> 1) and lost beyond (128 x 16 -> 3: 1.3-1.5x slower). Until then every
    // layer up to 16384 took the direct loops; Adam epochs of 4096 rows against that,
    // float32 / float64 on AVX-512: 8-32-8 b32 2.7x / 2.3x as fast, 16-16-16-1 b64 2.4x /
    // 2.9x, 20-20-20-2 b16 2.0x / 1.7x, 64-32-10 b32 1.5x / 1.4x, 64-100-10 b16 1.4x /
    // 1.3x (AVX2 alike, generic 1.02-1.6x); 2-4-3-1 b128 and 10-64-64-1 b32 within 3%.
    // Single-sample predict of the same networks: 1.0-1.2x as fast (64-100-10 1.2x).
    /*small_dense=*/{1024, 3, 16, 4096},
    // Halved against one thread, Adam epochs of 4096 rows, 2 threads, 4 alternating
    // processes each, since small layers take the GEMM paths (small_dense above; before,
    // 1 << 19 had been measured with the direct loops in the halves): 64-100-10 (7400
    // weights) float32 at batch 16 (118K multiply-adds) 1.22x slower halved, at 32 0.96x,
    // 48 0.85x, 64 0.79x the time; float64 (a multiply-add counts as two: half the lanes)
    // at 16 0.92x, 24 0.86x, 32 0.83x; 10-64-64-1 (4800) float32 at 32 0.96x, 64 0.78x,
    // 96 0.70x, float64 at 32 0.84x, 48 0.75x; 8-32-8 float64 at 128 (131K) 0.82x.
    /*threaded_step_madds=*/int64_t(1) << 17,
    // Halved against every op threaded, training epochs, float32, 2 threads, best of
    // 3-6 epochs in alternating processes: 2-256-256-256-1 Adam at batch 128 (16.9M
    // multiply-adds a step) 88 against 98-107 ms, at batch 256 (33.7M) 85-92 against
    // 95 ms; 784-256-10 SGD at batch 128 (26M) level (325-348 ms both), at batch 256
    // (52M) 2% slower halved (339-354 against 328-341 ms). The networks whose narrow
    // first and last layers make poorly threaded ops gain most. Multiply-adds of either
    // dtype: float64 2-256-256-256-1 at batch 256 (33.7M) ran 185-191 ms halved against
    // 294-301 ms with every op threaded.
    /*halved_step_madds=*/int64_t(5) << 23,
    // Steps of few rows make halves too short for the tiles (64-100-10 float32 at 16 rows
    // above: 8-row halves against 12-row tiles) or of a row each: 784-256-10 float32 at
    // 2 rows 1.16x and 2-256-256-256-1 1.22x slower halved. Below 32 rows the bound
    // measured before (scikit-learn estimator fits, float32: digits 64-100-10 1.00x at
    // batches 16-64; float64 48 against 58-60 ms at batch 48) stays.
    /*short_step_rows=*/32,
    /*short_step_madds=*/int64_t(1) << 19,
    /*inference_rows=*/2048,
    // A few milliseconds of training (forward + backward + update are about 3x this), so
    // that Ctrl-C stops an epoch at once, while asking (about a microsecond) costs
    // nothing measurable.
    /*interrupt_poll_madds=*/int64_t(1) << 22,
};

// base with other dot-path rows.
constexpr Tuning with_dot_rows(Tuning base, DotRows f32, DotRows f64) {
  base.dot_rows_f32 = f32;
  base.dot_rows_f64 = f64;
  return base;
}

constexpr Tuning with_dot_costs(Tuning base, DotCosts costs) {
  base.dot_costs = costs;
  return base;
}

inline constexpr Tuning kTuningAvx2 =
    with_dot_costs(with_dot_rows(kTuningAvx512, {64, 256, 4, 32, 64}, {64, 256, 8, 32, 32}), {8.0, 1.0});

inline constexpr Tuning kTuningGeneric =
    with_dot_costs(with_dot_rows(kTuningAvx512, {64, 256, 8, 128, 128}, {64, 256, 16, 128, 128}), {0.0, 1.0});

}  // namespace fastmlp

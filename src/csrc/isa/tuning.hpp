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
  int64_t mid_k, deep_k;        // k < mid_k: shallow; k < deep_k: mid; else deep
  int64_t shallow, mid, deep;   // row limits
  int64_t max_rows(int64_t k) const { return k >= deep_k ? deep : k >= mid_k ? mid : shallow; }
};

// Every threshold of the kernels above the micro-kernels. Cache blocks are not here:
// they come from the CPU's caches (cpu/blocking.hpp). Work is counted in multiply-adds
// (or elements) and compared with these grains, never with the thread count, except
// where a comment says the choice only sets how many threads run.
struct Tuning {
  int64_t gemm_madds_per_thread;     // packed GEMM: another thread from this much work each
  int64_t dot_madds_per_thread;      // unpacked path: its horizontal sums make it dearer
  int64_t dot_max_columns;           // outputs this narrow take the unpacked path at any height
  DotRows dot_rows_f32, dot_rows_f64;
  int64_t elementwise_per_thread;    // activations, backward's bias/derivative pass
  int64_t optim_params_per_thread;   // optimizer updates
  int64_t small_dense_max_madds;     // dense layers this small: direct loops (small_dense.hpp)
  int64_t threaded_step_madds;       // training steps: one thread below, halves from here...
  int64_t halved_step_madds;         // ...to here, then every op threaded (mlp.cpp)
  int64_t inference_rows;            // rows per pass of predict/evaluate (workspace bound)

  template <class T>
  const DotRows& dot_rows() const;
};
template <>
inline const DotRows& Tuning::dot_rows<float>() const { return dot_rows_f32; }
template <>
inline const DotRows& Tuning::dot_rows<double>() const { return dot_rows_f64; }

// The figures were measured on 2 cores of an AMD EPYC family 25 model 17 (Zen 4: one
// 512-bit or two 256-bit FMAs per cycle, 32 KiB L1d, 1 MiB L2), one process, both
// settings alternating in blocks. Where a threshold was only measured on AVX-512, the
// other sets keep it until measured on their own.
inline constexpr Tuning kTuningAvx512 = {
    /*gemm_madds_per_thread=*/int64_t(1) << 17,  // 64^3 already gains from two threads
    /*dot_madds_per_thread=*/int64_t(1) << 15,
    /*dot_max_columns=*/16,
    // float32, one thread: at k 10-32 packing wins from 16 rows (up to 2x), at k 64
    // from 48, at k 128 from 32; at k >= 256 the dot path wins to 64 rows.
    /*dot_rows_f32=*/{64, 256, 8, 32, 64},
    /*dot_rows_f64=*/{64, 256, 8, 32, 64},
    /*elementwise_per_thread=*/int64_t(1) << 15,
    /*optim_params_per_thread=*/int64_t(1) << 15,
    /*small_dense_max_madds=*/int64_t(1) << 14,
    // scikit-learn estimator fits, float32, 2 threads against 1: digits 64-100-10 1.00x
    // at batches 16-64, 0.74x at 128, 0.67x at 200 (see mlp.cpp).
    /*threaded_step_madds=*/int64_t(1) << 19,
    /*halved_step_madds=*/int64_t(1) << 24,
    /*inference_rows=*/2048,
};

inline constexpr Tuning kTuningAvx2 = kTuningAvx512;

inline constexpr Tuning kTuningGeneric = kTuningAvx512;

}  // namespace fastmlp

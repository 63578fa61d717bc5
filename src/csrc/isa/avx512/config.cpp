// The AVX-512F kernel set and its numbers (compiled with -mavx512f), as BLIS's
// config/skx and config/zen4.
#include "elementwise/elementwise_impl.hpp"
#include "gemm/dot_impl.hpp"
#include "gemm/ukernel_impl.hpp"
#include "isa/avx512/vec.hpp"
#include "isa/kernel_set.hpp"
#include "optim_update/optim_update_impl.hpp"
#include "peak/peak_impl.hpp"

namespace fastmlp {

const KernelSet kernels_avx512 = {
    "avx512",
    // 12 x 2 vectors: 24 accumulators + 2 B vectors + broadcasts within 32 zmm registers
    // (BLIS zen4's 32x12 sgemm tile, transposed to our row-major C).
    // Dot kernels: up to 4 x 4 accumulators (+ 4 A vectors) within 32 zmm registers.
    // In float64 a 12-row A micro-panel is 96 bytes a k-step (48 KiB at KC 512, beyond
    // L1) and comes from L2 with B. Tiles that broadcast fewer rows, 8 x 3 (BLIS zen4's
    // 24x8 dgemm tile, transposed) and 6 x 4, ran large packed products faster on a
    // Zen 4, one thread, alternating processes: 4096^3 0.97-1.00x OpenBLAS (85-89% of
    // the peak) against 0.92-0.94x (79-84%) for 12 x 2; 2048^3 0.98-1.01x against
    // 0.93-0.98x. But the same tile drives the unpacked small path, and its shorter rows
    // lower small_kn (cpu/blocking.hpp), which sends 256^3 to packing: 64^3 and 256^3
    // 1.22x and 1.08x NumPy against 1.40x and 1.15x (8 x 3); 192^3 262 against 247 us,
    // 256^3 325 against 304 us (6 x 4). Kept: one tile for both paths. A packed-path
    // tile of its own per ISA would take the gain without the loss (not built).
    make_gemm_kernel<simd::Avx512<float>, 12, 2>(make_dot_kernel<simd::Avx512<float>, 4, 4>()),
    make_gemm_kernel<simd::Avx512<double>, 12, 2>(make_dot_kernel<simd::Avx512<double>, 4, 4>()),
    make_elementwise_f32<simd::Avx512<float>, 6>(),
    make_optim_update_kernels(),
    make_peak_loops<simd::Avx512<float>, simd::Avx512<double>>(),
    kTuningAvx512,
};

}  // namespace fastmlp

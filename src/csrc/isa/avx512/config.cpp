// The AVX-512F kernel set and its numbers (compiled with -mavx512f), as BLIS's
// config/skx and config/zen4.
#include "elementwise/activation_grad_impl.hpp"
#include "elementwise/elementwise_impl.hpp"
#include "gemm/dot_impl.hpp"
#include "gemm/ukernel_impl.hpp"
#include "isa/avx512/vec.hpp"
#include "isa/kernel_set.hpp"
#include "optim_update/optim_update_impl.hpp"
#include "peak/peak_impl.hpp"

namespace fastmlp {
namespace {
constexpr int kPack = 6;  // vectors per elementwise pack, as measured below
}  // namespace

const KernelSet kernels_avx512 = {
    "avx512",
    // 12 x 2 vectors: 24 accumulators + 2 B vectors + broadcasts within 32 zmm registers
    // (BLIS zen4's 32x12 sgemm tile, transposed to our row-major C).
    // Dot kernels: up to 4 x 4 accumulators (+ 4 A vectors) within 32 zmm registers.
    // In float64 the packed path takes 8 x 3 (BLIS zen4's 24x8 dgemm tile, transposed):
    // 12 x 2 broadcasts 96 bytes of A a k-step (48 KiB at KC 512, beyond L1), which
    // then streams from L2 with B. Zen 4, alternating processes, against 12 x 2: one
    // thread 4096^3 91.2-91.8% of the peak, 1.01x OpenBLAS, against 87.3-89.7%, 0.98x;
    // 2048^3 90.1-91.0% against 86.8-89.1%; 1024^3 91.0-91.8% against 88.4-89.7%; two
    // threads 4096^3 87.3-88.4% against 83.5-84.3%. The small path keeps 12 x 2: it
    // reads B in place once per 12 rows, and a shorter tile lowers small_kn
    // (cpu/blocking.hpp), which sent 256^3 to packing and slowed 64^3 and 256^3 from
    // 1.40x and 1.15x NumPy to 1.22x and 1.08x when one tile served both paths. Its 24
    // columns pad 100 outputs to 120 (12 x 2: 112): linear 200-4096 x 784 -> 100 ran 3-4%
    // slower and grad_x of 200 x 100 -> 784 5% slower, the other backward products 2-3%
    // faster; whole float64 Adam epochs, batch 200, 784-100-10 and 784-256-10, ran 1-3%
    // faster on one thread and level on two.
    // In float32, 8 x 3 packed ran 4096^3 1-2% faster (91.3-92.8% against 90.0-91.3%),
    // 1024^3-2048^3 level; not taken, as its 48 columns pad a 256-wide layer to 288.
    make_gemm_kernel<simd::Avx512<float>, TileShape<12, 2>>(make_dot_kernel<simd::Avx512<float>, 4, 4>()),
    make_gemm_kernel<simd::Avx512<double>, TileShape<12, 2>, TileShape<8, 3>>(
        make_dot_kernel<simd::Avx512<double>, 4, 4>()),
    make_elementwise_f32<simd::Avx512<float>, kPack>(),
    make_activation_grad_kernels<simd::Avx512<float>, kPack>(),
    make_optim_update_kernels(),
    make_peak_loops<simd::Avx512<float>, simd::Avx512<double>>(),
    kTuningAvx512,
};

}  // namespace fastmlp

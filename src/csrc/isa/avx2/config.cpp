// The AVX2 + FMA kernel set and its numbers (compiled with -mavx2 -mfma -mf16c), as
// BLIS's config/haswell and config/zen3.
#include "elementwise/activation_grad_impl.hpp"
#include "elementwise/elementwise_impl.hpp"
#include "gemm/dot_impl.hpp"
#include "gemm/ukernel_impl.hpp"
#include "isa/avx2/vec.hpp"
#include "isa/kernel_set.hpp"
#include "optim_update/optim_update_impl.hpp"
#include "peak/peak_impl.hpp"

namespace fastmlp {
namespace {
constexpr int kPack = 8;  // vectors per elementwise pack, as measured below
}  // namespace

const KernelSet kernels_avx2 = {
    "avx2",
    // 6 x 2 vectors: the classic 6x16 (float) / 6x8 (double) tile, 12 of 16 ymm registers.
    // Packed-path tiles that broadcast fewer rows (as 8 x 3 does for AVX-512 float64) did
    // not pay here (Zen 4, one thread, 1024^3 and 4096^3, alternating processes): 4 x 3
    // takes all 16 registers and spilled under CMakeLists.txt's scheduling flags (40% of
    // the peak), and ran level with 6 x 2 without them (86-91% both); 4 x 2, too few
    // accumulators for two FMA pipes of 4-cycle latency with loads between, 81-83%
    // against 89-90%.
    // Dot kernels: up to 3 x 4 accumulators + 3 A vectors + 1 B vector, the 16 registers.
    // Against 2 x 4, one thread, linear(x, W) for W 1024 x 1024 from 16 to 48 rows: the
    // unpacked path 1.40 against 1.26x as fast as packing at 32 rows in float32, 1.12
    // against 0.87x in float64 (tuning.hpp has the rest).
    make_gemm_kernel<simd::Avx2<float>, TileShape<6, 2>>(make_dot_kernel<simd::Avx2<float>, 3, 4>()),
    make_gemm_kernel<simd::Avx2<double>, TileShape<6, 2>>(make_dot_kernel<simd::Avx2<double>, 3, 4>()),
    // Elementwise packs of 8 vectors: more than 16 registers hold, but with the scheduling
    // flags of CMakeLists.txt the spills cost less than the overlap gains. AMD Zen 4, one
    // thread, 128 x 1024 float32, us (PyTorch AVX2 gelu 68-70, sigmoid 91-93):
    //   U:        2    4    6    8   12   16
    //   gelu    115  105  102   93  104  104
    //   sigmoid  63   59   54   53   58   68
    make_elementwise_f32<simd::Avx2<float>, kPack>(),
    make_activation_grad_kernels<simd::Avx2<float>, kPack>(),
    make_optim_update_kernels(),
    make_peak_loops<simd::Avx2<float>, simd::Avx2<double>>(),
    kTuningAvx2,
};

}  // namespace fastmlp

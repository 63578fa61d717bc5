// The portable kernel set and its numbers (compiled with the baseline flags only: SSE2
// on x86-64, the base vector unit elsewhere).
#include "elementwise/activation_grad_impl.hpp"
#include "elementwise/elementwise_impl.hpp"
#include "gemm/dot_impl.hpp"
#include "gemm/ukernel_impl.hpp"
#include "isa/generic/vec.hpp"
#include "isa/kernel_set.hpp"
#include "optim_update/optim_update_impl.hpp"
#include "peak/peak_impl.hpp"

namespace fastmlp {
namespace {
constexpr int kPack = 2;  // vectors per elementwise pack (vmath.hpp)
}  // namespace

const KernelSet kernels_generic = {
    "generic",
    // 6 x 2 vectors: 12 accumulators + 2 B vectors + 1 broadcast fit the 16 SSE registers.
    // Dot kernels: up to 2 x 4 accumulators, so A and B vectors still fit 16 registers.
    make_gemm_kernel<simd::Generic<float>, TileShape<6, 2>>(make_dot_kernel<simd::Generic<float>, 2, 4>()),
    make_gemm_kernel<simd::Generic<double>, TileShape<6, 2>>(make_dot_kernel<simd::Generic<double>, 2, 4>()),
    make_elementwise_f32<simd::Generic<float>, kPack>(),
    make_activation_grad_kernels<simd::Generic<float>, kPack>(),
    make_optim_update_kernels(),
    make_peak_loops<simd::Generic<float>, simd::Generic<double>>(),
    kTuningGeneric,
};

}  // namespace fastmlp

// Portable micro-kernels (compiled with the baseline flags only).
#include "gemm/dot_impl.hpp"
#include "gemm/ukernel_impl.hpp"
#include "simd/vec_generic.hpp"

namespace fastmlp {

// 6 x 2 vectors: 12 accumulators + 2 B vectors + 1 broadcast fit the 16 SSE registers.
// Dot kernels: up to 2 x 4 accumulators, so A and B vectors still fit 16 registers.
const GemmKernel<float> gemm_f32_generic =
    make_gemm_kernel<simd::Generic<float>, 6, 2>(
        "generic", 1536, 256, 512, make_dot_kernel<simd::Generic<float>, 2, 4>());
const GemmKernel<double> gemm_f64_generic =
    make_gemm_kernel<simd::Generic<double>, 6, 2>(
        "generic", 1536, 256, 256, make_dot_kernel<simd::Generic<double>, 2, 4>());

}  // namespace fastmlp

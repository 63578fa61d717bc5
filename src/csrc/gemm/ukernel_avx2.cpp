// AVX2 + FMA micro-kernels (compiled with -mavx2 -mfma).
#include "gemm/dot_impl.hpp"
#include "gemm/ukernel_impl.hpp"
#include "simd/vec_avx2.hpp"

namespace fastmlp {

// 6 x 2 vectors: the classic 6x16 (float) / 6x8 (double) tile, 12 of 16 ymm registers.
// Dot kernels: up to 2 x 4 accumulators, so A and B vectors still fit 16 registers.
const GemmKernel<float> gemm_f32_avx2 =
    make_gemm_kernel<simd::Avx2<float>, 6, 2>(
        "avx2", 1536, 384, 320, make_dot_kernel<simd::Avx2<float>, 2, 4>());
const GemmKernel<double> gemm_f64_avx2 =
    make_gemm_kernel<simd::Avx2<double>, 6, 2>(
        "avx2", 1536, 256, 256, make_dot_kernel<simd::Avx2<double>, 2, 4>());

}  // namespace fastmlp

// AVX-512F micro-kernels (compiled with -mavx512f).
#include "gemm/dot_impl.hpp"
#include "gemm/ukernel_impl.hpp"
#include "simd/vec_avx512.hpp"

namespace fastmlp {

// 12 x 2 vectors: 24 accumulators + 2 B vectors + broadcasts within 32 zmm registers
// (BLIS zen4's 32x12 sgemm tile, transposed to our row-major C).
// Dot kernels: up to 4 x 4 accumulators (+ 4 A vectors) within 32 zmm registers.
const GemmKernel<float> gemm_f32_avx512 =
    make_gemm_kernel<simd::Avx512<float>, 12, 2>(
        "avx512", 1536, 384, 320, make_dot_kernel<simd::Avx512<float>, 4, 4>());
const GemmKernel<double> gemm_f64_avx512 =
    make_gemm_kernel<simd::Avx512<double>, 12, 2>(
        "avx512", 1536, 256, 256, make_dot_kernel<simd::Avx512<double>, 4, 4>());

}  // namespace fastmlp

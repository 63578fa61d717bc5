// AVX2 + FMA micro-kernels (compiled with -mavx2 -mfma).
#include "gemm/ukernel_impl.hpp"
#include "simd/vec_avx2.hpp"

namespace fastmlp {

// 6 x 2 vectors: the classic 6x16 (float) / 6x8 (double) tile, 12 of 16 ymm registers.
const GemmKernel<float> gemm_f32_avx2 =
    make_gemm_kernel<simd::Avx2<float>, 6, 2>("avx2", 1536, 384, 320);
const GemmKernel<double> gemm_f64_avx2 =
    make_gemm_kernel<simd::Avx2<double>, 6, 2>("avx2", 1536, 256, 256);

}  // namespace fastmlp

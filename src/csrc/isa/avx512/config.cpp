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
    make_gemm_kernel<simd::Avx512<float>, 12, 2>(make_dot_kernel<simd::Avx512<float>, 4, 4>()),
    make_gemm_kernel<simd::Avx512<double>, 12, 2>(make_dot_kernel<simd::Avx512<double>, 4, 4>()),
    make_elementwise_f32<simd::Avx512<float>, 6>(),
    make_optim_update_kernels(),
    make_peak_loops<simd::Avx512<float>, simd::Avx512<double>>(),
    kTuningAvx512,
};

}  // namespace fastmlp

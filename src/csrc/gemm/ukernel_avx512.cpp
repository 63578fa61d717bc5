// AVX-512F micro-kernels (compiled with -mavx512f only).
#include <immintrin.h>

#include "gemm/ukernel_impl.hpp"

namespace fastmlp {
namespace {

struct Avx512F32 {
  using T = float;
  using vec = __m512;
  static constexpr int width = 16;
  static vec load(const T* p) { return _mm512_load_ps(p); }
  static vec loadu(const T* p) { return _mm512_loadu_ps(p); }
  static void storeu(T* p, vec x) { _mm512_storeu_ps(p, x); }
  static vec zero() { return _mm512_setzero_ps(); }
  static vec set1(T x) { return _mm512_set1_ps(x); }
  static vec fma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
  static vec relu(vec x) { return _mm512_max_ps(zero(), x); }  // NaN in x is returned
};

struct Avx512F64 {
  using T = double;
  using vec = __m512d;
  static constexpr int width = 8;
  static vec load(const T* p) { return _mm512_load_pd(p); }
  static vec loadu(const T* p) { return _mm512_loadu_pd(p); }
  static void storeu(T* p, vec x) { _mm512_storeu_pd(p, x); }
  static vec zero() { return _mm512_setzero_pd(); }
  static vec set1(T x) { return _mm512_set1_pd(x); }
  static vec fma(vec a, vec b, vec c) { return _mm512_fmadd_pd(a, b, c); }
  static vec relu(vec x) { return _mm512_max_pd(zero(), x); }
};

}  // namespace

// 12 x 2 vectors: 24 accumulators + 2 B vectors + broadcasts within 32 zmm registers
// (BLIS zen4's 32x12 sgemm tile, transposed to our row-major C).
const GemmKernel<float> gemm_f32_avx512 = make_gemm_kernel<Avx512F32, 12, 2>("avx512", 1536, 384, 640);
const GemmKernel<double> gemm_f64_avx512 = make_gemm_kernel<Avx512F64, 12, 2>("avx512", 1536, 256, 640);

}  // namespace fastmlp

// AVX2 + FMA micro-kernels (compiled with -mavx2 -mfma only).
#include <immintrin.h>

#include "gemm/ukernel_impl.hpp"

namespace fastmlp {
namespace {

struct Avx2F32 {
  using T = float;
  using vec = __m256;
  static constexpr int width = 8;
  static vec load(const T* p) { return _mm256_load_ps(p); }
  static vec loadu(const T* p) { return _mm256_loadu_ps(p); }
  static void storeu(T* p, vec x) { _mm256_storeu_ps(p, x); }
  static vec zero() { return _mm256_setzero_ps(); }
  static vec set1(T x) { return _mm256_set1_ps(x); }
  static vec fma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
  static vec relu(vec x) { return _mm256_max_ps(zero(), x); }  // NaN in x is returned
};

struct Avx2F64 {
  using T = double;
  using vec = __m256d;
  static constexpr int width = 4;
  static vec load(const T* p) { return _mm256_load_pd(p); }
  static vec loadu(const T* p) { return _mm256_loadu_pd(p); }
  static void storeu(T* p, vec x) { _mm256_storeu_pd(p, x); }
  static vec zero() { return _mm256_setzero_pd(); }
  static vec set1(T x) { return _mm256_set1_pd(x); }
  static vec fma(vec a, vec b, vec c) { return _mm256_fmadd_pd(a, b, c); }
  static vec relu(vec x) { return _mm256_max_pd(zero(), x); }
};

}  // namespace

// 6 x 2 vectors: the classic 6x16 (float) / 6x8 (double) tile, 12 of 16 ymm registers.
const GemmKernel<float> gemm_f32_avx2 = make_gemm_kernel<Avx2F32, 6, 2>("avx2", 1536, 384, 768);
const GemmKernel<double> gemm_f64_avx2 = make_gemm_kernel<Avx2F64, 6, 2>("avx2", 1536, 256, 512);

}  // namespace fastmlp

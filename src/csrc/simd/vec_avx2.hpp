// AVX2 + FMA vectors. Include only from translation units compiled with -mavx2 -mfma.
#pragma once
#include <immintrin.h>

namespace fastmlp::simd {

template <class T>
struct Avx2;

template <>
struct Avx2<float> {
  using T = float;
  using vec = __m256;
  static constexpr int width = 8;
  static vec load(const T* p) { return _mm256_load_ps(p); }
  static vec loadu(const T* p) { return _mm256_loadu_ps(p); }
  static void storeu(T* p, vec x) { _mm256_storeu_ps(p, x); }
  static vec zero() { return _mm256_setzero_ps(); }
  static vec set1(T x) { return _mm256_set1_ps(x); }
  static vec add(vec a, vec b) { return _mm256_add_ps(a, b); }
  static vec fma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
  static vec relu(vec x) { return _mm256_max_ps(zero(), x); }  // NaN in x is returned
};

template <>
struct Avx2<double> {
  using T = double;
  using vec = __m256d;
  static constexpr int width = 4;
  static vec load(const T* p) { return _mm256_load_pd(p); }
  static vec loadu(const T* p) { return _mm256_loadu_pd(p); }
  static void storeu(T* p, vec x) { _mm256_storeu_pd(p, x); }
  static vec zero() { return _mm256_setzero_pd(); }
  static vec set1(T x) { return _mm256_set1_pd(x); }
  static vec add(vec a, vec b) { return _mm256_add_pd(a, b); }
  static vec fma(vec a, vec b, vec c) { return _mm256_fmadd_pd(a, b, c); }
  static vec relu(vec x) { return _mm256_max_pd(zero(), x); }
};

}  // namespace fastmlp::simd

// AVX-512F vectors. Include only from translation units compiled with -mavx512f.
#pragma once
#include <immintrin.h>

namespace fastmlp::simd {

template <class T>
struct Avx512;

template <>
struct Avx512<float> {
  using T = float;
  using vec = __m512;
  static constexpr int width = 16;
  static vec load(const T* p) { return _mm512_load_ps(p); }
  static vec loadu(const T* p) { return _mm512_loadu_ps(p); }
  static void storeu(T* p, vec x) { _mm512_storeu_ps(p, x); }
  static vec load_partial(const T* p, int count) {  // lanes >= count are 0
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << count) - 1), p);
  }
  static T hsum(vec x) { return _mm512_reduce_add_ps(x); }
  static vec zero() { return _mm512_setzero_ps(); }
  static vec set1(T x) { return _mm512_set1_ps(x); }
  static vec add(vec a, vec b) { return _mm512_add_ps(a, b); }
  static vec fma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
  static vec relu(vec x) { return _mm512_max_ps(zero(), x); }  // NaN in x is returned
};

template <>
struct Avx512<double> {
  using T = double;
  using vec = __m512d;
  static constexpr int width = 8;
  static vec load(const T* p) { return _mm512_load_pd(p); }
  static vec loadu(const T* p) { return _mm512_loadu_pd(p); }
  static void storeu(T* p, vec x) { _mm512_storeu_pd(p, x); }
  static vec load_partial(const T* p, int count) {  // lanes >= count are 0
    return _mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << count) - 1), p);
  }
  static T hsum(vec x) { return _mm512_reduce_add_pd(x); }
  static vec zero() { return _mm512_setzero_pd(); }
  static vec set1(T x) { return _mm512_set1_pd(x); }
  static vec add(vec a, vec b) { return _mm512_add_pd(a, b); }
  static vec fma(vec a, vec b, vec c) { return _mm512_fmadd_pd(a, b, c); }
  static vec relu(vec x) { return _mm512_max_pd(zero(), x); }
};

}  // namespace fastmlp::simd

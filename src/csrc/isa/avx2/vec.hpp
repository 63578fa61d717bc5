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
  static vec load_partial(const T* p, int count) {  // lanes >= count are 0
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(count), lane));
  }
  // Lanes < count only, in 4-, 2- and 1-lane stores: AMD runs the masked vmaskmovps store
  // as a slow microcoded sequence.
  static void store_partial(T* p, vec x, int count) {
    __m128 part = _mm256_castps256_ps128(x);
    if (count >= 4) {
      _mm_storeu_ps(p, part);
      part = _mm256_extractf128_ps(x, 1);
      p += 4;
      count -= 4;
    }
    if (count >= 2) {
      _mm_storel_pi(reinterpret_cast<__m64*>(p), part);
      part = _mm_movehl_ps(part, part);
      p += 2;
      count -= 2;
    }
    if (count >= 1) _mm_store_ss(p, part);
  }
  // r[i] = column i of the 8 x 8 matrix whose rows were r[0..7].
  static void transpose(vec (&r)[width]) {
    vec t[width];
    for (int i = 0; i < width; i += 2) {  // pairs of rows interleaved per 128-bit lane
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < width; i += 4) {  // r[i + c], lane l: column 4l + c of rows i..i+3
      r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
      r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
      r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
      r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int c = 0; c < 4; ++c) {  // swap the 128-bit lanes across the two halves
      t[c] = _mm256_permute2f128_ps(r[c], r[4 + c], 0x20);
      t[4 + c] = _mm256_permute2f128_ps(r[c], r[4 + c], 0x31);
    }
    for (int i = 0; i < width; ++i) r[i] = t[i];
  }
  static T hsum(vec x) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
  }
  // Lane j of the result = the sum of r[j]'s lanes, in 21 shuffles and adds.
  static vec reduce_add(const vec (&r)[width]) {
    vec s[4], u[2];
    for (int p = 0; p < 4; ++p)  // lane l of s[p]: r[2p], r[2p+1] over lanes {0,2}, {1,3}
      s[p] = _mm256_add_ps(_mm256_unpacklo_ps(r[2 * p], r[2 * p + 1]),
                           _mm256_unpackhi_ps(r[2 * p], r[2 * p + 1]));
    for (int q = 0; q < 2; ++q)  // 128-bit lane l of u[q]: r[4q..4q+3] summed over lane l
      u[q] = _mm256_add_ps(_mm256_shuffle_ps(s[2 * q], s[2 * q + 1], 0x44),
                           _mm256_shuffle_ps(s[2 * q], s[2 * q + 1], 0xEE));
    return _mm256_add_ps(_mm256_permute2f128_ps(u[0], u[1], 0x20), _mm256_permute2f128_ps(u[0], u[1], 0x31));
  }
  static vec zero() { return _mm256_setzero_ps(); }
  static vec set1(T x) { return _mm256_set1_ps(x); }
  static vec add(vec a, vec b) { return _mm256_add_ps(a, b); }
  static vec fma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
  static vec relu(vec x) { return _mm256_max_ps(zero(), x); }  // NaN in x is returned
  // max(a, b) and min(a, b) lane-wise; where either lane is NaN, b's lane (as x86's
  // maxps and minps), so max(lo, x) lets a NaN x through.
  static vec max(vec a, vec b) { return _mm256_max_ps(a, b); }
  static vec min(vec a, vec b) { return _mm256_min_ps(a, b); }
  // a where x's sign bit is set, else b.
  static vec select_negative(vec x, vec a, vec b) { return _mm256_blendv_ps(b, a, x); }
};

template <>
struct Avx2<double> {
  using T = double;
  using vec = __m256d;
  static constexpr int width = 4;
  static vec load(const T* p) { return _mm256_load_pd(p); }
  static vec loadu(const T* p) { return _mm256_loadu_pd(p); }
  static void storeu(T* p, vec x) { _mm256_storeu_pd(p, x); }
  static vec load_partial(const T* p, int count) {  // lanes >= count are 0
    const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
    return _mm256_maskload_pd(p, _mm256_cmpgt_epi64(_mm256_set1_epi64x(count), lane));
  }
  // Lanes < count only, in 2- and 1-lane stores (see Avx2<float>::store_partial).
  static void store_partial(T* p, vec x, int count) {
    __m128d part = _mm256_castpd256_pd128(x);
    if (count >= 2) {
      _mm_storeu_pd(p, part);
      part = _mm256_extractf128_pd(x, 1);
      p += 2;
      count -= 2;
    }
    if (count >= 1) _mm_store_sd(p, part);
  }
  // r[i] = column i of the 4 x 4 matrix whose rows were r[0..3].
  static void transpose(vec (&r)[width]) {
    const vec t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
    const vec t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
  }
  static T hsum(vec x) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(x), _mm256_extractf128_pd(x, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
  // Lane j of the result = the sum of r[j]'s lanes, in 6 shuffles and adds.
  static vec reduce_add(const vec (&r)[width]) {
    const vec s0 = _mm256_add_pd(_mm256_unpacklo_pd(r[0], r[1]), _mm256_unpackhi_pd(r[0], r[1]));
    const vec s1 = _mm256_add_pd(_mm256_unpacklo_pd(r[2], r[3]), _mm256_unpackhi_pd(r[2], r[3]));
    return _mm256_add_pd(_mm256_permute2f128_pd(s0, s1, 0x20), _mm256_permute2f128_pd(s0, s1, 0x31));
  }
  static vec zero() { return _mm256_setzero_pd(); }
  static vec set1(T x) { return _mm256_set1_pd(x); }
  static vec add(vec a, vec b) { return _mm256_add_pd(a, b); }
  static vec fma(vec a, vec b, vec c) { return _mm256_fmadd_pd(a, b, c); }
  static vec relu(vec x) { return _mm256_max_pd(zero(), x); }
};

}  // namespace fastmlp::simd

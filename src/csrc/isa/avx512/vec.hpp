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
  static void store_partial(T* p, vec x, int count) {  // lanes < count only
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << count) - 1), x);
  }
  // r[i] = column i of the 16 x 16 matrix whose rows were r[0..15].
  static void transpose(vec (&r)[width]) {
    vec t[width];
    for (int i = 0; i < width; i += 2) {  // pairs of rows interleaved per 128-bit chunk
      t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < width; i += 4) {  // r[i + c], chunk l: column 4l + c of rows i..i+3
      r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
      r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
      r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
      r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int c = 0; c < 4; ++c) {  // a 4 x 4 transpose of 128-bit chunks
      const vec u0 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x44);
      const vec u1 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xEE);
      const vec u2 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x44);
      const vec u3 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xEE);
      t[c] = _mm512_shuffle_f32x4(u0, u2, 0x88);
      t[4 + c] = _mm512_shuffle_f32x4(u0, u2, 0xDD);
      t[8 + c] = _mm512_shuffle_f32x4(u1, u3, 0x88);
      t[12 + c] = _mm512_shuffle_f32x4(u1, u3, 0xDD);
    }
    for (int i = 0; i < width; ++i) r[i] = t[i];
  }
  static T hsum(vec x) { return _mm512_reduce_add_ps(x); }
  // Lane j of the result = the sum of r[j]'s lanes: sixteen horizontal sums in 45
  // shuffles and adds (one _mm512_reduce_add_ps costs about 8).
  static vec reduce_add(const vec (&r)[width]) {
    vec s[8], u[4];
    for (int p = 0; p < 8; ++p)  // chunk l of s[p]: r[2p], r[2p+1] over lanes {0,2}, {1,3}
      s[p] = _mm512_add_ps(_mm512_unpacklo_ps(r[2 * p], r[2 * p + 1]),
                           _mm512_unpackhi_ps(r[2 * p], r[2 * p + 1]));
    for (int q = 0; q < 4; ++q)  // chunk l of u[q]: r[4q..4q+3] summed over chunk l
      u[q] = _mm512_add_ps(_mm512_shuffle_ps(s[2 * q], s[2 * q + 1], 0x44),
                           _mm512_shuffle_ps(s[2 * q], s[2 * q + 1], 0xEE));
    return sum_chunks(u);
  }
  // Chunk q of the result = the sum of the four 128-bit chunks of u[q].
  static vec sum_chunks(const vec (&u)[4]) {
    const vec w0 =
        _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], 0x44), _mm512_shuffle_f32x4(u[0], u[1], 0xEE));
    const vec w1 =
        _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], 0x44), _mm512_shuffle_f32x4(u[2], u[3], 0xEE));
    return _mm512_add_ps(_mm512_shuffle_f32x4(w0, w1, 0x88), _mm512_shuffle_f32x4(w0, w1, 0xDD));
  }
  static vec zero() { return _mm512_setzero_ps(); }
  static vec set1(T x) { return _mm512_set1_ps(x); }
  static vec add(vec a, vec b) { return _mm512_add_ps(a, b); }
  static vec fma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
  static vec relu(vec x) { return _mm512_max_ps(zero(), x); }  // NaN in x is returned
  // max(a, b) and min(a, b) lane-wise; where either lane is NaN, b's lane (as x86's
  // maxps and minps), so max(lo, x) lets a NaN x through.
  static vec max(vec a, vec b) { return _mm512_max_ps(a, b); }
  static vec min(vec a, vec b) { return _mm512_min_ps(a, b); }
  // a where x's sign bit is set, else b.
  static vec select_negative(vec x, vec a, vec b) {
    return _mm512_mask_blend_ps(_mm512_cmplt_epi32_mask(_mm512_castps_si512(x), _mm512_setzero_si512()), b,
                                a);
  }
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
  static void store_partial(T* p, vec x, int count) {  // lanes < count only
    _mm512_mask_storeu_pd(p, static_cast<__mmask8>((1u << count) - 1), x);
  }
  // r[i] = column i of the 8 x 8 matrix whose rows were r[0..7].
  static void transpose(vec (&r)[width]) {
    vec t[width];
    for (int i = 0; i < width; i += 2) {  // t[i + c], chunk l: column 2l + c of rows i, i+1
      t[i] = _mm512_unpacklo_pd(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_pd(r[i], r[i + 1]);
    }
    for (int c = 0; c < 2; ++c) {  // a 4 x 4 transpose of 128-bit chunks
      const vec u0 = _mm512_shuffle_f64x2(t[c], t[2 + c], 0x44);
      const vec u1 = _mm512_shuffle_f64x2(t[c], t[2 + c], 0xEE);
      const vec u2 = _mm512_shuffle_f64x2(t[4 + c], t[6 + c], 0x44);
      const vec u3 = _mm512_shuffle_f64x2(t[4 + c], t[6 + c], 0xEE);
      r[c] = _mm512_shuffle_f64x2(u0, u2, 0x88);
      r[2 + c] = _mm512_shuffle_f64x2(u0, u2, 0xDD);
      r[4 + c] = _mm512_shuffle_f64x2(u1, u3, 0x88);
      r[6 + c] = _mm512_shuffle_f64x2(u1, u3, 0xDD);
    }
  }
  static T hsum(vec x) { return _mm512_reduce_add_pd(x); }
  // Lane j of the result = the sum of r[j]'s lanes, in 21 shuffles and adds.
  static vec reduce_add(const vec (&r)[width]) {
    vec s[4];
    for (int p = 0; p < 4; ++p)  // chunk l of s[p]: r[2p], r[2p+1] summed over chunk l
      s[p] = _mm512_add_pd(_mm512_unpacklo_pd(r[2 * p], r[2 * p + 1]),
                           _mm512_unpackhi_pd(r[2 * p], r[2 * p + 1]));
    const vec w0 =
        _mm512_add_pd(_mm512_shuffle_f64x2(s[0], s[1], 0x44), _mm512_shuffle_f64x2(s[0], s[1], 0xEE));
    const vec w1 =
        _mm512_add_pd(_mm512_shuffle_f64x2(s[2], s[3], 0x44), _mm512_shuffle_f64x2(s[2], s[3], 0xEE));
    return _mm512_add_pd(_mm512_shuffle_f64x2(w0, w1, 0x88), _mm512_shuffle_f64x2(w0, w1, 0xDD));
  }
  static vec zero() { return _mm512_setzero_pd(); }
  static vec set1(T x) { return _mm512_set1_pd(x); }
  static vec add(vec a, vec b) { return _mm512_add_pd(a, b); }
  static vec fma(vec a, vec b, vec c) { return _mm512_fmadd_pd(a, b, c); }
  static vec relu(vec x) { return _mm512_max_pd(zero(), x); }
};

}  // namespace fastmlp::simd

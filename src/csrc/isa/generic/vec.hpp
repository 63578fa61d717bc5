// Portable vectors: GCC/Clang vector extensions of 16 bytes (SSE2 on any x86-64,
// NEON elsewhere). No FMA: the x86-64 baseline has none.
#pragma once
#include <cstdint>

namespace fastmlp::simd {

template <class Scalar>
struct Generic {
  using T = Scalar;
  static constexpr int width = 16 / sizeof(T);
  typedef T vec __attribute__((vector_size(16)));
  typedef T vec_u __attribute__((vector_size(16), aligned(sizeof(T))));
  static vec load(const T* p) { return *reinterpret_cast<const vec*>(p); }
  static vec loadu(const T* p) { return *reinterpret_cast<const vec_u*>(p); }
  static void storeu(T* p, vec x) { *reinterpret_cast<vec_u*>(p) = x; }
  static vec load_partial(const T* p, int count) {  // lanes >= count are 0
    vec x{};
    for (int i = 0; i < count; ++i) x[i] = p[i];
    return x;
  }
  static void store_partial(T* p, vec x, int count) {  // lanes < count only
    for (int i = 0; i < count; ++i) p[i] = x[i];
  }
  // r[i] = column i of the width x width matrix whose rows were r[0..width).
  static void transpose(vec (&r)[width]) {
    vec t[width];
    for (int i = 0; i < width; ++i)
      for (int j = 0; j < width; ++j) t[j][i] = r[i][j];
    for (int i = 0; i < width; ++i) r[i] = t[i];
  }
  static T hsum(vec x) {
    T s = 0;
    for (int i = 0; i < width; ++i) s += x[i];
    return s;
  }
  // Lane j of the result = the sum of r[j]'s lanes.
  static vec reduce_add(const vec (&r)[width]) {
    vec out;
    for (int j = 0; j < width; ++j) out[j] = hsum(r[j]);
    return out;
  }
  static vec zero() { return vec{}; }
  static vec set1(T x) { return vec{} + x; }
  static vec add(vec a, vec b) { return a + b; }
  static vec fma(vec a, vec b, vec c) { return a * b + c; }
  static vec relu(vec x) { return x < 0 ? vec{} : x; }  // NaN stays NaN, as in PyTorch
  // max(a, b) and min(a, b) lane-wise; where either lane is NaN, b's lane (as x86's
  // maxps and minps), so max(lo, x) lets a NaN x through.
  static vec max(vec a, vec b) { return a > b ? a : b; }
  static vec min(vec a, vec b) { return a < b ? a : b; }
  // a where x's sign bit is set, else b.
  static vec select_negative(vec x, vec a, vec b) {
    typedef int64_t ivec __attribute__((vector_size(16)));
    typedef int32_t ivec32 __attribute__((vector_size(16)));
    if constexpr (sizeof(T) == 4)
      return (ivec32)x < 0 ? a : b;
    else
      return (ivec)x < 0 ? a : b;
  }
};

}  // namespace fastmlp::simd

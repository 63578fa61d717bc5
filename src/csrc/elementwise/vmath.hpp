// Branch-free float32 math that compilers vectorize: compiled inside a loop in a
// translation unit with an ISA's flags, each function becomes straight-line vector code
// (no libm calls, no data-dependent branches; the selects become blends, which GCC does
// only with -fno-trapping-math, set for every file in CMakeLists.txt). Everything here is `static`: each ISA's
// translation unit gets its own copy, so the linker can never hand one ISA's code to
// another (an inline function with external linkage would be merged across them). Accuracy: a few ulp for exp, sigmoid and
// tanh; erfc (Numerical Recipes' Chebyshev form) has relative error < 1.2e-7 everywhere,
// so gelu keeps its relative accuracy even deep in the negative tail.
#pragma once
#include <cstdint>
#include <cstring>

namespace fastmlp::vmath {

static inline float bits_to_float(int32_t i) {
  float f;
  std::memcpy(&f, &i, sizeof f);
  return f;
}

// a * b + c, fused where the ISA has FMA (only the AVX2/AVX-512 translation units do).
static inline float madd(float a, float b, float c) {
#if defined(__FMA__)
  return __builtin_fmaf(a, b, c);
#else
  return a * b + c;
#endif
}

static inline float clamp(float x, float lo, float hi) {  // NaN passes through
  x = x < lo ? lo : x;
  return x > hi ? hi : x;
}

// e^x: x = n ln2 + r with |r| <= ln2/2, a degree-6 polynomial for e^r, 2^n via the
// exponent bits. x is clamped to [-87.3, 88] so 2^n stays a normal float: e^x saturates
// at e^88 (callers only need it for sigmoid, tanh, erfc and max-shifted softmax, where
// that is exact to float precision) and is 0 below the normal range (so sigmoid(-1000)
// is 0, as in PyTorch).
static inline float exp(float x_in) {
  const float x = clamp(x_in, -87.33654f, 88.0f);
  const float shifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float n = (x * 1.44269504f + shifter) - shifter;
  float r = madd(n, -0.693359375f, x);  // ln2 split in two for an exact first product
  r = madd(n, 2.12194440e-4f, r);
  float p = 1.9875691500e-4f;
  p = madd(p, r, 1.3981999507e-3f);
  p = madd(p, r, 8.3334519073e-3f);
  p = madd(p, r, 4.1665795894e-2f);
  p = madd(p, r, 1.6666665459e-1f);
  p = madd(p, r, 5.0000001201e-1f);
  p = madd(p * r, r, r) + 1.0f;
  // n + 127 is within [1, 254] after the clamp, so 2^n is a normal float.
  const float y = p * bits_to_float((static_cast<int32_t>(n) + 127) << 23);
  return x_in < -87.33654f ? 0.0f : y;
}

// Only e^-|x| is computed, never a positive power: 1 / (1 + e) for x >= 0, e / (1 + e)
// below, so large |x| neither overflows nor loses the tiny tail (sigmoid(-1000) is 0).
static inline float sigmoid(float x) {
  const float e = exp(x < 0 ? x : -x);
  const float r = 1.0f / (1.0f + e);
  return x >= 0 ? r : e * r;
}

// tanh: an odd polynomial near 0 (where 1 - 2/(e^2x + 1) would cancel), the exp form
// beyond; both computed, one selected, so the loop has no branch.
static inline float tanh(float x) {
  const float ax = x < 0 ? -x : x;
  const float x2 = x * x;
  float p = -5.70498872745e-3f;  // Cephes tanhf coefficients, |x| < 0.625
  p = madd(p, x2, 2.06390887954e-2f);
  p = madd(p, x2, -5.37397155531e-2f);
  p = madd(p, x2, 1.33314422036e-1f);
  p = madd(p, x2, -3.33332819422e-1f);
  const float small = x + x * x2 * p;
  const float big_abs = 1.0f - 2.0f / (exp(2.0f * ax) + 1.0f);
  const float big = x < 0 ? -big_abs : big_abs;
  return ax < 0.625f ? small : big;
}

// erfc(z), Numerical Recipes' erfcc: fractional error < 1.2e-7 for every z.
static inline float erfc(float z) {
  const float az = z < 0 ? -z : z;
  const float t = 1.0f / (1.0f + 0.5f * az);
  float p = 0.17087277f;
  p = madd(p, t, -0.82215223f);
  p = madd(p, t, 1.48851587f);
  p = madd(p, t, -1.13520398f);
  p = madd(p, t, 0.27886807f);
  p = madd(p, t, -0.18628806f);
  p = madd(p, t, 0.09678418f);
  p = madd(p, t, 0.37409196f);
  p = madd(p, t, 1.00002368f);
  p = madd(p, t, -1.26551223f);
  const float ans = t * exp(-az * az + p);
  return z >= 0 ? ans : 2.0f - ans;
}

// The standard normal CDF, pdf, and gelu = x * cdf(x) (exact form, PyTorch's default).
static inline float normal_cdf(float x) { return 0.5f * erfc(-0.70710678118654752f * x); }
static inline float normal_pdf(float x) { return 0.39894228040143268f * exp(-0.5f * x * x); }
static inline float gelu(float x) { return x * normal_cdf(x); }
static inline float gelu_grad(float x) { return normal_cdf(x) + x * normal_pdf(x); }

}  // namespace fastmlp::vmath

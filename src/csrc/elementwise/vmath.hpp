// float32 math on packs of vectors, written once over an ISA's vector traits V (the
// native type V::vec is a GCC vector-extension type on every ISA: __m128-sized generic
// vectors, __m256, __m512, so +, *, <, ?: apply lane by lane). A Pack holds U vectors
// and every operation runs on all U one after the other: U independent dependency
// chains interleave, which the out-of-order core overlaps. One chain of exp is a
// long dependency chain that a core's FP scheduler cannot cover with the next
// iterations: gelu, when it was an erfc of an exp, ran 2.7x slower on AVX2 as one vector
// (or as GCC's auto-vectorized scalar code) than as four.
//
// Include only from isa/<name>/config.cpp (through elementwise_impl.hpp): everything is
// instantiated with that ISA's V, so no instance is shared between ISAs.
// Accuracy: a few ulp for exp, sigmoid and tanh; erf(x / sqrt 2), for gelu, has an
// absolute error below 6 units of 2^-24 (see erf_scaled).
#pragma once
#include <cstdint>

// Everything is inlined into the loops of elementwise_impl.hpp: an out-of-line erf or
// exp passes its packs through memory and loses the interleaving with its caller.
#define FASTMLP_VMATH inline __attribute__((always_inline))

namespace fastmlp::vmath {

template <class V, int U>
struct Pack {
  using vec = typename V::vec;
  // The same-sized int32 and uint32 vectors, for exponent-bit arithmetic and masks.
  typedef int32_t ivec __attribute__((vector_size(sizeof(vec))));
  typedef uint32_t uvec __attribute__((vector_size(sizeof(vec))));
  static constexpr int lanes = U * V::width;
  vec v[U];

  FASTMLP_VMATH static Pack load(const float* p) {
    Pack r;
    for (int u = 0; u < U; ++u) r.v[u] = V::loadu(p + u * V::width);
    return r;
  }
  FASTMLP_VMATH void store(float* p) const {
    for (int u = 0; u < U; ++u) V::storeu(p + u * V::width, v[u]);
  }
  FASTMLP_VMATH static Pack splat(float c) {
    Pack r;
    for (int u = 0; u < U; ++u) r.v[u] = V::set1(c);
    return r;
  }
};

// Lane-wise a op b for packs (and a pack with a scalar constant).
#define FASTMLP_PACK_OP(op)                                                        \
  template <class V, int U>                                                        \
  FASTMLP_VMATH Pack<V, U> operator op(const Pack<V, U>& a, const Pack<V, U>& b) { \
    Pack<V, U> r;                                                                  \
    for (int u = 0; u < U; ++u) r.v[u] = a.v[u] op b.v[u];                         \
    return r;                                                                      \
  }                                                                                \
  template <class V, int U>                                                        \
  FASTMLP_VMATH Pack<V, U> operator op(const Pack<V, U>& a, float b) {             \
    return a op Pack<V, U>::splat(b);                                              \
  }                                                                                \
  template <class V, int U>                                                        \
  FASTMLP_VMATH Pack<V, U> operator op(float a, const Pack<V, U>& b) {             \
    return Pack<V, U>::splat(a) op b;                                              \
  }
FASTMLP_PACK_OP(+)
FASTMLP_PACK_OP(-)
FASTMLP_PACK_OP(*)
FASTMLP_PACK_OP(/)
#undef FASTMLP_PACK_OP

// a * b + c, fused where the ISA has FMA (V::fma is a * b + c on the generic vectors).
template <class V, int U>
FASTMLP_VMATH Pack<V, U> madd(const Pack<V, U>& a, const Pack<V, U>& b, float c) {
  Pack<V, U> r;
  const typename V::vec cc = V::set1(c);
  for (int u = 0; u < U; ++u) r.v[u] = V::fma(a.v[u], b.v[u], cc);
  return r;
}
template <class V, int U>
FASTMLP_VMATH Pack<V, U> madd(const Pack<V, U>& a, float b, const Pack<V, U>& c) {
  Pack<V, U> r;
  const typename V::vec bb = V::set1(b);
  for (int u = 0; u < U; ++u) r.v[u] = V::fma(a.v[u], bb, c.v[u]);
  return r;
}
template <class V, int U>
FASTMLP_VMATH Pack<V, U> madd(const Pack<V, U>& a, const Pack<V, U>& b, const Pack<V, U>& c) {
  Pack<V, U> r;
  for (int u = 0; u < U; ++u) r.v[u] = V::fma(a.v[u], b.v[u], c.v[u]);
  return r;
}

// Lane-wise a < b ? x : y.
template <class V, int U>
FASTMLP_VMATH Pack<V, U> if_less(const Pack<V, U>& a, float b, const Pack<V, U>& x, const Pack<V, U>& y) {
  Pack<V, U> r;
  const typename V::vec bb = V::set1(b);
  for (int u = 0; u < U; ++u) r.v[u] = a.v[u] < bb ? x.v[u] : y.v[u];
  return r;
}

// Lane-wise operations of the ISA's vectors on whole packs.
#define FASTMLP_PACK_MAP(name, expr)                   \
  template <class V, int U>                            \
  FASTMLP_VMATH Pack<V, U> name(const Pack<V, U>& x) { \
    Pack<V, U> r;                                      \
    for (int u = 0; u < U; ++u) {                      \
      const typename V::vec a = x.v[u];                \
      r.v[u] = expr;                                   \
    }                                                  \
    return r;                                          \
  }
// |x| and -|x|: the sign bit cleared or set.
FASTMLP_PACK_MAP(abs, (typename V::vec)((typename Pack<V, U>::ivec)a & 0x7FFFFFFF))
FASTMLP_PACK_MAP(neg_abs, (typename V::vec)((typename Pack<V, U>::ivec)a | int32_t(0x80000000u)))
#undef FASTMLP_PACK_MAP

// min(max(x, lo), hi), lane-wise; NaN passes through.
template <class V, int U>
FASTMLP_VMATH Pack<V, U> clamp(const Pack<V, U>& x, float lo, float hi) {
  Pack<V, U> r;
  const typename V::vec l = V::set1(lo), h = V::set1(hi);
  for (int u = 0; u < U; ++u) r.v[u] = V::min(h, V::max(l, x.v[u]));
  return r;
}

// Lane-wise: a where x's sign bit is set (x < 0, or -0), else b.
template <class V, int U>
FASTMLP_VMATH Pack<V, U> if_negative(const Pack<V, U>& x, const Pack<V, U>& a, const Pack<V, U>& b) {
  Pack<V, U> r;
  for (int u = 0; u < U; ++u) r.v[u] = V::select_negative(x.v[u], a.v[u], b.v[u]);
  return r;
}

// e^x: x = n ln2 + r with |r| <= ln2/2, Cephes' degree-7 polynomial for e^r, 2^n via the
// exponent bits. x is clamped to [-87.3, 88] so 2^n stays a normal float: e^x saturates
// at e^88 (callers only need it for sigmoid, tanh, gelu's derivative and max-shifted
// softmax, where that is exact to float precision) and is 0 below the normal range (so
// sigmoid(-1000) is 0, as in PyTorch).
// Written for a short dependency chain (see the top of this file), 19 operations: the
// rounding constant 1.5 * 2^23 + 127 leaves n + 127 in the low bits of x log2(e) + it, so
// one shift makes 2^n; and the polynomial goes by Estrin's scheme (3 dependent steps
// after r, not 6).
template <class V, int U>
FASTMLP_VMATH Pack<V, U> exp(const Pack<V, U>& x_in) {
  using P = Pack<V, U>;
  const P x = clamp(x_in, -87.33654f, 88.0f);
  const float shifter = 12583039.0f;  // 1.5 * 2^23 + 127: adding it rounds to an integer
  const P biased = madd(x, 1.44269504f, P::splat(shifter));  // n + shifter, exactly
  const P n = biased - shifter;
  P r = madd(n, -0.693359375f, x);  // ln2 split in two for an exact first product
  r = madd(n, 2.12194440e-4f, r);
  const P r2 = r * r;
  const P lo = madd(r, 1.6666665459e-1f, P::splat(5.0000001201e-1f));
  const P mid = madd(r, 8.3334519073e-3f, P::splat(4.1665795894e-2f));
  const P hi = madd(r, 1.9875691500e-4f, P::splat(1.3981999507e-3f));
  const P p = madd(madd(hi, r2, mid), r2, lo);
  const P e = madd(p, r2, r) + 1.0f;
  // n + 127 is within [1, 254] after the clamp: biased's low 9 bits, which the shift
  // moves into the exponent field (the rest falls off the top), make 2^n a normal float.
  // (A NaN lane stays NaN: e is NaN there.)
  P scale;
  for (int u = 0; u < U; ++u)
    scale.v[u] = (typename P::vec)((typename P::uvec)biased.v[u] << 23);  // the same bits as floats
  return if_less(x_in, -87.33654f, P::splat(0.0f), e * scale);
}

// Only e^-|x| is computed, never a positive power: 1 / (1 + e) for x >= 0, e / (1 + e)
// below, so large |x| neither overflows nor loses the tiny tail (sigmoid(-1000) is 0).
template <class V, int U>
FASTMLP_VMATH Pack<V, U> sigmoid(const Pack<V, U>& x) {
  const Pack<V, U> e = exp(neg_abs(x));
  const Pack<V, U> r = 1.0f / (1.0f + e);
  return if_negative(x, e * r, r);
}

// tanh: an odd polynomial near 0 (where 1 - 2/(e^2x + 1) would cancel), the exp form
// beyond; both computed, one selected, so there is no branch.
template <class V, int U>
FASTMLP_VMATH Pack<V, U> tanh(const Pack<V, U>& x) {
  using P = Pack<V, U>;
  const P ax = abs(x);
  const P x2 = x * x;
  P p = madd(P::splat(-5.70498872745e-3f), x2, 2.06390887954e-2f);  // Cephes tanhf, |x| < 0.625
  p = madd(p, x2, -5.37397155531e-2f);
  p = madd(p, x2, 1.33314422036e-1f);
  p = madd(p, x2, -3.33332819422e-1f);
  const P small = x + x * x2 * p;
  const P big_abs = 1.0f - 2.0f / (exp(2.0f * ax) + 1.0f);
  const P big = if_negative(x, 0.0f - big_abs, big_abs);
  return if_less(ax, 0.625f, small, big);
}

// erf(x / sqrt 2) = 2 Phi(x) - 1, as x P(x^2) / Q(x^2) with P and Q of degree 5 in x^2,
// fitted by tools/fit_erf.py: minimax absolute error 2e-8 in exact arithmetic on
// |x| <= 5.6, 5.5 units of 2^-24 evaluated in float32 with FMA. 14 multiply-adds and a
// division, no exp: gelu ran 1.7x faster than as the erfc of an exp (Numerical Recipes'
// erfcc), and 1.3x faster than PyTorch's on AVX2 (128 x 1024, one thread, AMD Zen 4).
// Beyond |x| = 5.6, where erf(x / sqrt 2) is 1 - 2e-8, the result is exactly +-1, so
// gelu(-40) is 0 and gelu(40) is 40. The error is absolute, like that of PyTorch's
// polynomial erf: gelu(x) = x (1 + erf) / 2 keeps a few ulp for x >= 0 and an error of
// about 2^-23 |x| for x < 0, where 1 + erf cancels.
template <class V, int U>
FASTMLP_VMATH Pack<V, U> erf_scaled(const Pack<V, U>& x) {
  using P = Pack<V, U>;
  constexpr float cap = 5.6f;
  const P ax = abs(x);
  const P a = clamp(ax, 0.0f, cap);  // |x| beyond the cap would overflow x^10
  const P s = a * a;
  P num = madd(s, 4.429050903809184e-08f, P::splat(1.2713067008007783e-05f));
  num = madd(num, s, 3.4770264755934477e-04f);
  num = madd(num, s, 9.41452570259571e-03f);
  num = madd(num, s, 6.875234097242355e-02f);
  num = madd(num, s, 7.97884464263916e-01f);
  P den = madd(s, 1.1802103472291492e-06f, P::splat(7.510209979955107e-05f));
  den = madd(den, s, 1.91298162098974e-03f);
  den = madd(den, s, 2.8940122574567795e-02f);
  den = madd(den, s, 2.528339922428131e-01f);
  den = madd(den, s, 1.0f);
  const P e = if_less(ax, cap, a * num / den, P::splat(1.0f));
  return if_negative(x, 0.0f - e, e);
}

// gelu = x Phi(x) (the exact form, PyTorch's default) and its derivative
// Phi(x) + x pdf(x), with Phi from erf_scaled.
template <class V, int U>
FASTMLP_VMATH Pack<V, U> gelu(const Pack<V, U>& x) {
  const Pack<V, U> half = x * 0.5f;
  return madd(half, erf_scaled(x), half);
}
template <class V, int U>
FASTMLP_VMATH Pack<V, U> gelu_grad(const Pack<V, U>& x) {
  const Pack<V, U> cdf = madd(erf_scaled(x), 0.5f, Pack<V, U>::splat(0.5f));
  return madd(x * 0.39894228040143268f, exp(-0.5f * x * x), cdf);
}

}  // namespace fastmlp::vmath

#undef FASTMLP_VMATH

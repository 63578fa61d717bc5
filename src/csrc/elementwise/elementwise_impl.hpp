// The loops behind ElementwiseF32, written once over an ISA's vector traits V: include
// only from isa/<name>/config.cpp, compiled with that ISA's flags. Everything here has
// internal linkage or is instantiated with that ISA's V, so no instance is shared
// between ISAs.
#pragma once
#include "elementwise/elementwise.hpp"
#include "elementwise/vmath.hpp"

namespace fastmlp {
namespace {

// y[i] = f(x[i], ...) over one or more inputs, for the packs f takes: U vectors at a
// time (see vmath.hpp), then one vector at a time, then the last partial vector through
// zero-padded lanes. f is inlined (the lambdas below are always_inline): called, it would
// pass the packs through memory, with a vzeroupper at every call.
template <class V, int U, class F, class... In>
void map(float* y, int64_t n, F f, const In*... x) {
  using Wide = vmath::Pack<V, U>;
  using One = vmath::Pack<V, 1>;
  int64_t i = 0;
  for (; i + Wide::lanes <= n; i += Wide::lanes) f(Wide::load(x + i)...).store(y + i);
  for (; i + One::lanes <= n; i += One::lanes) f(One::load(x + i)...).store(y + i);
  if (i < n) {
    const int rest = static_cast<int>(n - i);
    auto partial = [&](const float* p) {
      One in;
      in.v[0] = V::load_partial(p + i, rest);
      return in;
    };
    V::store_partial(y + i, f(partial(x)...).v[0], rest);
  }
}

#define FASTMLP_INLINE_LAMBDA __attribute__((always_inline))

template <class V, int U>
void sigmoid_loop(const float* x, float* y, int64_t n) {
  map<V, U>(y, n, [](const auto& p) FASTMLP_INLINE_LAMBDA { return vmath::sigmoid(p); }, x);
}

template <class V, int U>
void tanh_loop(const float* x, float* y, int64_t n) {
  map<V, U>(y, n, [](const auto& p) FASTMLP_INLINE_LAMBDA { return vmath::tanh(p); }, x);
}

template <class V, int U>
void gelu_loop(const float* x, float* y, int64_t n) {
  map<V, U>(y, n, [](const auto& p) FASTMLP_INLINE_LAMBDA { return vmath::gelu(p); }, x);
}

// out = g * gelu'(x), in one pass.
template <class V, int U>
void gelu_backward_loop(const float* g, const float* x, float* out, int64_t n) {
  map<V, U>(
      out, n, [](const auto& gp, const auto& xp) FASTMLP_INLINE_LAMBDA { return gp * vmath::gelu_grad(xp); },
      g, x);
}

template <class V, int U>
void exp_shifted_loop(const float* x, float shift, float* y, int64_t n) {
  map<V, U>(y, n, [shift](const auto& p) FASTMLP_INLINE_LAMBDA { return vmath::exp(p - shift); }, x);
}

#undef FASTMLP_INLINE_LAMBDA

// Reductions keep 16 running values, one per lane of the widest vector, so they
// vectorize without reassociating (and give one result per ISA, whatever the threads).
constexpr int kLanes = 16;

template <class V, int U>
void softmax_row_loop(const float* x, float* y, int64_t n) {
  if (n == 0) return;
  float lane[kLanes];
  for (int l = 0; l < kLanes; ++l) lane[l] = x[0];
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] = lane[l] > x[i + l] ? lane[l] : x[i + l];
  float mx = x[0];
  for (; i < n; ++i) mx = mx > x[i] ? mx : x[i];
  for (int l = 0; l < kLanes; ++l) mx = mx > lane[l] ? mx : lane[l];

  exp_shifted_loop<V, U>(x, mx, y, n);
  for (int l = 0; l < kLanes; ++l) lane[l] = 0;
  for (i = 0; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] += y[i + l];
  float sum = 0;
  for (; i < n; ++i) sum += y[i];
  for (int l = 0; l < kLanes; ++l) sum += lane[l];

  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < n; ++j) y[j] *= inv;
}

}  // namespace

// U: vectors per pack (vmath.hpp), measured per ISA (isa/<name>/config.cpp).
template <class V, int U>
constexpr ElementwiseF32 make_elementwise_f32() {
  return {&sigmoid_loop<V, U>, &tanh_loop<V, U>, &gelu_loop<V, U>, &gelu_backward_loop<V, U>,
          &softmax_row_loop<V, U>};
}

}  // namespace fastmlp

// The loops behind ActivationGradKernels, written once: include only from
// isa/<name>/config.cpp, where the ISA's flags vectorize them. Everything here has
// internal linkage or is instantiated with that ISA's V, and no FMA is contracted
// (-ffp-contract=off): every ISA computes the same bits as the scalar definitions.
#pragma once
#include <cmath>
#include <cstdint>

#include "elementwise/activation_grad.hpp"
#include "elementwise/elementwise_impl.hpp"

namespace fastmlp {
namespace {

// gelu'(x) = Phi(x) + x phi(x), PyTorch's exact form (approximate='none').
inline double gelu_derivative(double x) {
  const double cdf = 0.5 * (1 + std::erf(x * M_SQRT1_2));
  const double pdf = std::exp(-0.5 * x * x) * (0.5 * M_2_SQRTPI * M_SQRT1_2);
  return cdf + x * pdf;
}

// Adds row[lo, hi) into sums[lo, hi).
template <class T>
inline void add_row(const T* row, int64_t lo, int64_t hi, T* sums) {
  for (int64_t j = lo; j < hi; ++j) sums[j] = sums[j] + row[j];
}

// grad_pre[i, j] = d(grad_y[i, j], s[i, j]) for each row, summed into grad_b on the way.
// d takes loaded values: a load inside its ?: would keep the compiler from turning the
// loop into vector selects (4-5x slower on random signs).
template <class T, class D>
inline __attribute__((always_inline)) void map_rows(const ActivationGradRows<T>& r, int64_t lo, int64_t hi,
                                                    const T* s, D d) {
  T* sums = r.grad_b;
  for (int64_t i = 0; i < r.m; ++i) {
    const T* g = r.grad_y + i * r.n;
    const T* si = s + i * r.n;
    T* out = r.grad_pre + i * r.n;
    if (sums) {
      for (int64_t j = lo; j < hi; ++j) {
        const T v = d(g[j], si[j]);
        out[j] = v;
        sums[j] = sums[j] + v;
      }
    } else {
      for (int64_t j = lo; j < hi; ++j) out[j] = d(g[j], si[j]);
    }
  }
}

#define FASTMLP_ELEMENT __attribute__((always_inline))

template <class T, class V, int U>
void activation_grad_loop(const ActivationGradRows<T>& r, int64_t lo, int64_t hi) {
  if (r.grad_b)
    for (int64_t j = lo; j < hi; ++j) r.grad_b[j] = T(0);
  const T slope = r.negative_slope;
  const T* const s = r.x ? r.x : r.y;  // relu's and leaky_relu's sign: x's, or y's
  switch (r.act) {
    case Activation::identity:
      if (!r.grad_pre) {
        if (r.grad_b)
          for (int64_t i = 0; i < r.m; ++i) add_row(r.grad_y + i * r.n, lo, hi, r.grad_b);
        return;
      }
      map_rows(r, lo, hi, r.grad_y, [](T g, T) FASTMLP_ELEMENT { return g; });
      return;
    case Activation::relu:  // derivative 0 at 0, as PyTorch
      map_rows(r, lo, hi, s, [](T g, T v) FASTMLP_ELEMENT { return v > 0 ? g : T(0); });
      return;
    case Activation::leaky_relu:
      map_rows(r, lo, hi, s, [slope](T g, T v) FASTMLP_ELEMENT { return v > 0 ? g : g * slope; });
      return;
    case Activation::sigmoid:
      map_rows(r, lo, hi, r.y, [](T g, T y) FASTMLP_ELEMENT { return g * y * (T(1) - y); });
      return;
    case Activation::tanh:
      map_rows(r, lo, hi, r.y, [](T g, T y) FASTMLP_ELEMENT { return g * (T(1) - y * y); });
      return;
    case Activation::gelu:
      if constexpr (sizeof(T) == sizeof(float)) {
        for (int64_t i = 0; i < r.m; ++i) {
          const int64_t at = i * r.n + lo;
          gelu_backward_loop<V, U>(r.grad_y + at, r.x + at, r.grad_pre + at, hi - lo);
          if (r.grad_b) add_row(r.grad_pre + i * r.n, lo, hi, r.grad_b);
        }
      } else {
        map_rows(r, lo, hi, r.x, [](T g, T x) FASTMLP_ELEMENT { return g * gelu_derivative(x); });
      }
      return;
    case Activation::softmax:
    case Activation::step:
      return;  // never passed (activation_grad.hpp)
  }
}

#undef FASTMLP_ELEMENT

}  // namespace

// V, U: the float32 gelu's vector traits and pack size (elementwise_impl.hpp).
template <class V, int U>
constexpr ActivationGradKernels make_activation_grad_kernels() {
  return {&activation_grad_loop<float, V, U>, &activation_grad_loop<double, V, U>};
}

}  // namespace fastmlp

#include "activations.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <type_traits>

#include "elementwise/activation_grad.hpp"
#include "elementwise/elementwise.hpp"
#include "isa/dispatch.hpp"
#include "threads.hpp"

namespace fastmlp {
namespace {

struct Named {
  const char* name;
  Activation act;
};
const Named kActivations[] = {
    {"identity", Activation::identity}, {"relu", Activation::relu}, {"leaky_relu", Activation::leaky_relu},
    {"sigmoid", Activation::sigmoid},   {"tanh", Activation::tanh}, {"gelu", Activation::gelu},
    {"softmax", Activation::softmax},   {"step", Activation::step},
};

template <class T>
inline T sigmoid(T x) {
  // Never exponentiates a positive number, so large |x| neither overflows nor loses 1-y.
  if (x >= 0) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

template <class T>
inline T gelu(T x) {  // exact form, PyTorch's default approximate='none'
  return T(0.5) * x * (T(1) + std::erf(x * T(M_SQRT1_2)));
}

template <class T>
void softmax_row(const T* x, T* y, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    elementwise_f32().softmax_row(x, y, n);
  } else {
    if (n == 0) return;
    T mx = x[0];
    for (int64_t j = 1; j < n; ++j) mx = std::max(mx, x[j]);
    T sum = 0;
    for (int64_t j = 0; j < n; ++j) {
      y[j] = std::exp(x[j] - mx);
      sum += y[j];
    }
    const T inv = T(1) / sum;
    for (int64_t j = 0; j < n; ++j) y[j] *= inv;
  }
}

template <class T>
void softmax_backward_row(const T* g, const T* y, T* out, int64_t n) {
  T dot = 0;
  for (int64_t j = 0; j < n; ++j) dot += g[j] * y[j];
  for (int64_t j = 0; j < n; ++j) out[j] = y[j] * (g[j] - dot);
}

}  // namespace

Activation parse_activation(const std::string& name) {
  for (const Named& a : kActivations)
    if (name == a.name) return a.act;
  throw std::invalid_argument("unknown activation '" + name +
                              "' (expected one of: identity, relu, leaky_relu, sigmoid, tanh, "
                              "gelu, softmax, step)");
}

const char* activation_name(Activation act) {
  for (const Named& a : kActivations)
    if (act == a.act) return a.name;
  return "?";
}

bool backward_needs_pre_activation(Activation act, double negative_slope) {
  // With a negative slope, leaky_relu's output no longer tells the sign of its input.
  return act == Activation::gelu || (act == Activation::leaky_relu && negative_slope < 0);
}

template <class T>
void activation_forward(Activation act, T slope, const T* x, T* y, int64_t n) {
  switch (act) {
    case Activation::identity:
      if (x != y) std::copy(x, x + n, y);
      return;
    case Activation::relu:  // NaN propagates, as in PyTorch
      for (int64_t j = 0; j < n; ++j) y[j] = x[j] < 0 ? T(0) : x[j];
      return;
    case Activation::leaky_relu:
      for (int64_t j = 0; j < n; ++j) y[j] = x[j] < 0 ? x[j] * slope : x[j];
      return;
    case Activation::sigmoid:
      if constexpr (std::is_same_v<T, float>)
        elementwise_f32().sigmoid(x, y, n);
      else
        for (int64_t j = 0; j < n; ++j) y[j] = sigmoid(x[j]);
      return;
    case Activation::tanh:
      if constexpr (std::is_same_v<T, float>)
        elementwise_f32().tanh(x, y, n);
      else
        for (int64_t j = 0; j < n; ++j) y[j] = std::tanh(x[j]);
      return;
    case Activation::gelu:
      if constexpr (std::is_same_v<T, float>)
        elementwise_f32().gelu(x, y, n);
      else
        for (int64_t j = 0; j < n; ++j) y[j] = gelu(x[j]);
      return;
    case Activation::step:  // Heaviside with H(0) = 1 (np.heaviside(x, 1)); NaN stays NaN
      for (int64_t j = 0; j < n; ++j) y[j] = x[j] >= 0 ? T(1) : (x[j] < 0 ? T(0) : x[j]);
      return;
    case Activation::softmax:
      softmax_row(x, y, n);
      return;
  }
}

template <class T>
void activation_backward(Activation act, T slope, const T* g, const T* y, const T* x, T* out, int64_t n) {
  if (act == Activation::softmax) throw std::logic_error("activation_backward: softmax works on whole rows");
  if (act == Activation::step) throw std::invalid_argument("activation 'step' has no gradient");
  const ActivationGradRows<T> row{act, slope, g, y, x, out, nullptr, 1, n};
  activation_grad_kernels().fn<T>()(row, 0, n);
}

template <class T>
void activation_forward_2d(Activation act, T slope, const T* x, T* y, int64_t m, int64_t n) {
  if (m == 0 || n == 0) return;
  const int nt = threads_for(m * n, tuning().elementwise_per_thread);
  if (act == Activation::softmax) {
    parallel_ranges(nt, m, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) softmax_row(x + i * n, y + i * n, n);
    });
    return;
  }
  // Elementwise: split the flat array, so one long row is parallel too.
  const int64_t total = m * n;
  parallel_ranges(nt, total,
                  [&](int64_t lo, int64_t hi) { activation_forward(act, slope, x + lo, y + lo, hi - lo); });
}

template <class T>
void activation_backward_2d(Activation act, T slope, const T* g, const T* y, const T* x, T* out, int64_t m,
                            int64_t n) {
  if (m == 0 || n == 0) return;
  if (act == Activation::step) throw std::invalid_argument("activation 'step' has no gradient");
  const int nt = threads_for(m * n, tuning().elementwise_per_thread);
  if (act == Activation::softmax) {
    parallel_ranges(nt, m, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) softmax_backward_row(g + i * n, y + i * n, out + i * n, n);
    });
    return;
  }
  const int64_t total = m * n;
  parallel_ranges(nt, total, [&](int64_t lo, int64_t hi) {
    activation_backward(act, slope, g + lo, y ? y + lo : nullptr, x ? x + lo : nullptr, out + lo, hi - lo);
  });
}

#define FASTMLP_INSTANTIATE(T)                                                                    \
  template void activation_forward<T>(Activation, T, const T*, T*, int64_t);                      \
  template void activation_backward<T>(Activation, T, const T*, const T*, const T*, T*, int64_t); \
  template void activation_forward_2d<T>(Activation, T, const T*, T*, int64_t, int64_t);          \
  template void activation_backward_2d<T>(Activation, T, const T*, const T*, const T*, T*, int64_t, int64_t);
FASTMLP_INSTANTIATE(float)
FASTMLP_INSTANTIATE(double)
#undef FASTMLP_INSTANTIATE

}  // namespace fastmlp

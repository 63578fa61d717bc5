// The backward of the pointwise activations and the bias gradient, one pass over a
// layer's m x n output gradient, compiled per ISA (activation_grad_impl.hpp from
// isa/<name>/config.cpp) and chosen with the GEMM kernels. These loops were compiled for
// the baseline ISA (SSE2 on x86-64) before; with the ISA's vectors the float64 epochs of
// small networks ran 2-8% faster on a Zen 4.
#pragma once
#include <cstdint>

#include "common.hpp"

namespace fastmlp {

// One layer's operands, row-major m x n (row stride n).
template <class T>
struct ActivationGradRows {
  Activation act;  // any but softmax and step (activations.cpp handles or rejects them)
  T negative_slope;
  const T* grad_y;
  const T* y;   // the output, where the derivative needs it (sigmoid, tanh, relu)
  const T* x;   // the pre-activation, or null unless backward_needs_pre_activation
  T* grad_pre;  // grad_y * act'(.); null for identity when only grad_b is wanted
  T* grad_b;    // grad_pre's column sums, or null
  int64_t m, n;
};

template <class T>
using ActivationGradFn = void (*)(const ActivationGradRows<T>& rows, int64_t lo, int64_t hi);

struct ActivationGradKernels {
  // Columns [lo, hi) of every row: grad_pre, then grad_b over them (rows added in order,
  // so the sums do not depend on how the columns are split between threads).
  ActivationGradFn<float> f32;
  ActivationGradFn<double> f64;

  template <class T>
  ActivationGradFn<T> fn() const {
    if constexpr (sizeof(T) == sizeof(float))
      return f32;
    else
      return f64;
  }
};

// The set for the ISA in use (isa/dispatch.cpp).
const ActivationGradKernels& activation_grad_kernels();

}  // namespace fastmlp

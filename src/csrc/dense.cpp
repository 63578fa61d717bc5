#include "dense.hpp"

#include <stdexcept>

#include "activations.hpp"
#include "buffer.hpp"
#include "elementwise/activation_grad.hpp"
#include "gemm/gemm.hpp"
#include "isa/dispatch.hpp"
#include "threads.hpp"

namespace fastmlp {

template <class T>
void dense_forward(int64_t m, int64_t n, int64_t k, MatView<T> x, MatView<T> w, const T* bias,
                   int64_t bias_stride, Activation act, T negative_slope, T* y, T* pre) {
  Epilogue<T> ep;
  ep.bias = bias;
  ep.bias_stride = bias_stride;
  ep.act = act;
  ep.negative_slope = negative_slope;
  ep.pre = pre;
  ep.ldpre = n;
  gemm(m, n, k, x, w.transposed(), y, n, ep);
  if (act == Activation::softmax) activation_forward_2d(act, negative_slope, y, y, m, n);
}

namespace {

// Runs fn(lo, hi) on each thread for a range of whole cache lines of columns of an
// m x n row-major matrix (for_column_lines), an elementwise grain of the m x n each.
template <class T, class Fn>
void for_column_ranges(int64_t m, int64_t n, Fn fn) {
  for_column_lines<T>(n, m * n, tuning().elementwise_per_thread, fn);
}

}  // namespace

template <class T>
void column_sums(const T* a, int64_t m, int64_t n, T* out) {
  const ActivationGradRows<T> rows{Activation::identity, T(0), a, nullptr, nullptr, nullptr, out, m, n};
  const ActivationGradFn<T> sums = activation_grad_kernels().fn<T>();
  for_column_ranges<T>(m, n, [&](int64_t lo, int64_t hi) { sums(rows, lo, hi); });
}

template <class T>
const T* pre_activation_grad(int64_t m, int64_t n, const T* grad_y, const T* y, const T* pre, Activation act,
                             T negative_slope, T* grad_b) {
  if (act == Activation::step) throw std::invalid_argument("activation 'step' has no gradient");
  thread_local AlignedBuffer scratch;  // grad_pre, when it is not grad_y itself
  const T* grad_pre = grad_y;
  if (act == Activation::softmax) {  // couples each row: a row-wise pass, then the sums
    T* buf = scratch.get<T>(m * n);
    activation_backward_2d(act, negative_slope, grad_y, y, pre, buf, m, n);
    grad_pre = buf;
    if (grad_b) column_sums(grad_pre, m, n, grad_b);
  } else if (act != Activation::identity) {
    // grad_pre = grad_y * act'(.) and its column sums (the bias gradient) in one pass.
    T* buf = scratch.get<T>(m * n);
    const ActivationGradRows<T> rows{act, negative_slope, grad_y, y, pre, buf, grad_b, m, n};
    const ActivationGradFn<T> backward = activation_grad_kernels().fn<T>();
    for_column_ranges<T>(m, n, [&](int64_t lo, int64_t hi) { backward(rows, lo, hi); });
    grad_pre = buf;
  } else if (grad_b) {
    column_sums(grad_pre, m, n, grad_b);
  }
  return grad_pre;
}

template <class T>
void dense_backward(int64_t m, int64_t n, int64_t k, const T* grad_y, MatView<T> x, MatView<T> w, const T* y,
                    const T* pre, Activation act, T negative_slope, T* grad_x, T* grad_w, T* grad_b) {
  const T* grad_pre = pre_activation_grad(m, n, grad_y, y, pre, act, negative_slope, grad_b);
  // grad_w (n x k) = grad_pre^T (n x m) x (m x k)
  if (grad_w) gemm<T>(n, k, m, MatView<T>{grad_pre, 1, n}, x, grad_w, k);
  // grad_x (m x k) = grad_pre (m x n) W (n x k)
  if (grad_x) gemm<T>(m, k, n, MatView<T>{grad_pre, n, 1}, w, grad_x, k);
}

#define FASTMLP_INSTANTIATE(T)                                                                           \
  template void dense_forward<T>(int64_t, int64_t, int64_t, MatView<T>, MatView<T>, const T*, int64_t,   \
                                 Activation, T, T*, T*);                                                 \
  template void dense_backward<T>(int64_t, int64_t, int64_t, const T*, MatView<T>, MatView<T>, const T*, \
                                  const T*, Activation, T, T*, T*, T*);                                  \
  template void column_sums<T>(const T*, int64_t, int64_t, T*);                                          \
  template const T* pre_activation_grad<T>(int64_t, int64_t, const T*, const T*, const T*, Activation, T, T*);
FASTMLP_INSTANTIATE(float)
FASTMLP_INSTANTIATE(double)
#undef FASTMLP_INSTANTIATE

}  // namespace fastmlp

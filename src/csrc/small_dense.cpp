#include "small_dense.hpp"

#include <algorithm>

#include "activations.hpp"

namespace fastmlp {

template <class T>
void small_dense_forward(int64_t m, int64_t n, int64_t k, MatView<T> x, const T* w,
                         const T* bias, Activation act, T negative_slope, T* y, T* pre) {
  for (int64_t i = 0; i < m; ++i) {
    T* row = y + i * n;
    for (int64_t j = 0; j < n; ++j) {
      const T* wj = w + j * k;
      T s = 0;
      for (int64_t p = 0; p < k; ++p) s += x(i, p) * wj[p];
      row[j] = bias ? s + bias[j] : s;
    }
  }
  if (pre) std::copy(y, y + m * n, pre);
  if (act == Activation::softmax) {
    for (int64_t i = 0; i < m; ++i) activation_forward(act, negative_slope, y + i * n, y + i * n, n);
  } else {  // elementwise: one call for the whole block
    activation_forward(act, negative_slope, y, y, m * n);
  }
}

template <class T>
void small_dense_backward(int64_t m, int64_t n, int64_t k, const T* grad_y, MatView<T> x,
                          const T* w, const T* y, const T* pre, Activation act,
                          T negative_slope, T* grad_pre, T* grad_x, T* grad_w, T* grad_b) {
  const T* g = grad_y;
  if (act != Activation::identity) {
    activation_backward_2d(act, negative_slope, grad_y, y, pre, grad_pre, m, n);
    g = grad_pre;
  }
  std::fill(grad_w, grad_w + n * k, T(0));
  if (grad_b) std::fill(grad_b, grad_b + n, T(0));
  for (int64_t i = 0; i < m; ++i) {
    const T* gi = g + i * n;
    for (int64_t j = 0; j < n; ++j) {
      T* gw = grad_w + j * k;
      for (int64_t p = 0; p < k; ++p) gw[p] += gi[j] * x(i, p);
      if (grad_b) grad_b[j] += gi[j];
    }
    if (grad_x) {
      T* gx = grad_x + i * k;
      for (int64_t p = 0; p < k; ++p) {
        T s = 0;
        for (int64_t j = 0; j < n; ++j) s += gi[j] * w[j * k + p];
        gx[p] = s;
      }
    }
  }
}

#define FASTMLP_INSTANTIATE(T)                                                                 \
  template void small_dense_forward<T>(int64_t, int64_t, int64_t, MatView<T>, const T*,         \
                                       const T*, Activation, T, T*, T*);                        \
  template void small_dense_backward<T>(int64_t, int64_t, int64_t, const T*, MatView<T>,        \
                                        const T*, const T*, const T*, Activation, T, T*, T*,    \
                                        T*, T*);
FASTMLP_INSTANTIATE(float)
FASTMLP_INSTANTIATE(double)
#undef FASTMLP_INSTANTIATE

}  // namespace fastmlp

#include "small_dense.hpp"

#include <algorithm>
#include <type_traits>

#include "activations.hpp"

namespace fastmlp {

namespace {

// Calls body(cs) with x's column stride, as a compile-time 1 when x's rows are contiguous:
// the loops along a row then vectorise.
template <class T, class Body>
void with_column_stride(const MatView<T>& x, Body&& body) {
  if (x.cs == 1)
    body(std::integral_constant<int64_t, 1>{});
  else
    body(x.cs);
}

// sum_p a[p * a_cs] b[p]: in order for short rows (the tiny layers this path exists for),
// else in eight interleaved partial sums added pairwise at the end, which the compiler
// vectorises without reassociating anything. The order depends on k only.
template <class T, class Stride>
T dot(const T* a, Stride a_cs, const T* b, int64_t k) {
  constexpr int kLanes = 8;
  if (k < 2 * kLanes) {
    T s = 0;
    for (int64_t p = 0; p < k; ++p) s += a[p * a_cs] * b[p];
    return s;
  }
  T part[kLanes] = {};
  int64_t p = 0;
  for (; p + kLanes <= k; p += kLanes)
    for (int l = 0; l < kLanes; ++l) part[l] += a[(p + l) * a_cs] * b[p + l];
  for (int l = 0; p < k; ++p, ++l) part[l] += a[p * a_cs] * b[p];
  for (int width = kLanes / 2; width > 0; width /= 2)
    for (int l = 0; l < width; ++l) part[l] += part[l + width];
  return part[0];
}

}  // namespace

template <class T>
void small_dense_forward(int64_t m, int64_t n, int64_t k, MatView<T> x, const T* w, const T* bias,
                         Activation act, T negative_slope, T* y, T* pre) {
  with_column_stride(x, [&](auto cs) {
    for (int64_t i = 0; i < m; ++i) {
      T* row = y + i * n;
      const T* xi = x.ptr + i * x.rs;
      for (int64_t j = 0; j < n; ++j) {
        const T s = dot(xi, cs, w + j * k, k);
        row[j] = bias ? s + bias[j] : s;
      }
    }
  });
  if (pre) std::copy(y, y + m * n, pre);
  if (act == Activation::softmax) {
    for (int64_t i = 0; i < m; ++i) activation_forward(act, negative_slope, y + i * n, y + i * n, n);
  } else {  // elementwise: one call for the whole block
    activation_forward(act, negative_slope, y, y, m * n);
  }
}

template <class T>
void small_dense_backward(int64_t m, int64_t n, int64_t k, const T* grad_y, MatView<T> x, const T* w,
                          const T* y, const T* pre, Activation act, T negative_slope, T* grad_pre, T* grad_x,
                          T* grad_w, T* grad_b) {
  const T* g = grad_y;
  if (act != Activation::identity) {
    activation_backward_2d(act, negative_slope, grad_y, y, pre, grad_pre, m, n);
    g = grad_pre;
  }
  std::fill(grad_w, grad_w + n * k, T(0));
  if (grad_b) std::fill(grad_b, grad_b + n, T(0));
  with_column_stride(x, [&](auto cs) {
    for (int64_t i = 0; i < m; ++i) {
      const T* gi = g + i * n;
      const T* xi = x.ptr + i * x.rs;
      for (int64_t j = 0; j < n; ++j) {
        T* gw = grad_w + j * k;
        const T gij = gi[j];
        for (int64_t p = 0; p < k; ++p) gw[p] += gij * xi[p * cs];
        if (grad_b) grad_b[j] += gij;
      }
      if (grad_x) {  // row i of g W: each gx[p] summed over j in order, in either loop
        T* gx = grad_x + i * k;
        if (k >= 16) {  // a j at a time for all p: vectorises along the row
          std::fill(gx, gx + k, T(0));
          for (int64_t j = 0; j < n; ++j) {
            const T gij = gi[j];
            const T* wj = w + j * k;
            for (int64_t p = 0; p < k; ++p) gx[p] += gij * wj[p];
          }
        } else {  // short rows: no vector loop to set up per j
          for (int64_t p = 0; p < k; ++p) {
            T s = 0;
            for (int64_t j = 0; j < n; ++j) s += gi[j] * w[j * k + p];
            gx[p] = s;
          }
        }
      }
    }
  });
}

#define FASTMLP_INSTANTIATE(T)                                                                               \
  template void small_dense_forward<T>(int64_t, int64_t, int64_t, MatView<T>, const T*, const T*,            \
                                       Activation, T, T*, T*);                                               \
  template void small_dense_backward<T>(int64_t, int64_t, int64_t, const T*, MatView<T>, const T*, const T*, \
                                        const T*, Activation, T, T*, T*, T*, T*);
FASTMLP_INSTANTIATE(float)
FASTMLP_INSTANTIATE(double)
#undef FASTMLP_INSTANTIATE

}  // namespace fastmlp

// The dense layer y = act(x W^T + b) (W is out_features x in_features, as in
// torch.nn.Linear) and its backward pass, on top of gemm.
#pragma once
#include <cstdint>

#include "common.hpp"

namespace fastmlp {

// x: m x k, w: n x k (any strides); y: m x n row-major; pre (optional): m x n row-major
// pre-activation x W^T + b.
template <class T>
void dense_forward(int64_t m, int64_t n, int64_t k, MatView<T> x, MatView<T> w, const T* bias,
                   int64_t bias_stride, Activation act, T negative_slope, T* y, T* pre);

// The four backprop equations for one layer. grad_y, y, pre: m x n row-major (pre may
// be null unless the activation needs it). Outputs (each may be null to skip it):
// grad_x m x k, grad_w n x k, grad_b n, all row-major:
//   grad_pre = grad_y * act'(.)   grad_w = grad_pre^T x   grad_b = sum_rows grad_pre
//   grad_x = grad_pre W
template <class T>
void dense_backward(int64_t m, int64_t n, int64_t k, const T* grad_y, MatView<T> x, MatView<T> w, const T* y,
                    const T* pre, Activation act, T negative_slope, T* grad_x, T* grad_w, T* grad_b);

// grad_pre = grad_y * act'(.) (m x n row-major) and, if grad_b is not null, its column
// sums (the bias gradient): dense_backward's pass before its products, shared with the
// sparse first layer. Returns grad_y itself for identity, else a buffer of the calling
// thread that its next call reuses.
template <class T>
const T* pre_activation_grad(int64_t m, int64_t n, const T* grad_y, const T* y, const T* pre, Activation act,
                             T negative_slope, T* grad_b);

// out[j] = sum_i a[i*n + j] for an m x n row-major matrix, summed in row order so the
// result does not depend on the number of threads.
template <class T>
void column_sums(const T* a, int64_t m, int64_t n, T* out);

}  // namespace fastmlp

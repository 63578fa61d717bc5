// The first dense layer on CSR input rows: y = act(X W^T + b) and, for training,
// grad_W = grad_pre^T X and grad_b, without densifying X. (The input's own gradient is
// not computed: X is data.) Work is O(nnz x out_features) plus the outputs' size and
// one counting sort of X's entries by column (csr_dense.cpp says why).
//
// Determinism: both kernels thread over W's rows (features out) in whole cache lines
// of them, never over X's rows, and every output element is one sum in an order fixed
// by X alone, whatever the number of threads: y[i, o] over row i's entries by
// increasing column, grad_W[o, j] over X's rows in order (repeats of an index within a
// row, in both, in storage order).
#pragma once
#include <cstdint>

#include "common.hpp"
#include "sparse/csr.hpp"

namespace fastmlp {

// x: m x k CSR (rows 0..m of the view); w: n x k (any strides); y, pre (optional):
// m x n row-major, as dense_forward (dense.hpp).
template <class T>
void csr_dense_forward(int64_t m, int64_t n, const CsrView<T>& x, MatView<T> w, const T* bias,
                       int64_t bias_stride, Activation act, T negative_slope, T* y, T* pre);

// As dense_backward (dense.hpp) without grad_x: grad_y, y, pre m x n row-major (pre
// may be null unless the activation needs it); grad_w n x k row-major, grad_b n (null
// to skip).
template <class T>
void csr_dense_backward(int64_t m, int64_t n, const T* grad_y, const CsrView<T>& x, const T* y, const T* pre,
                        Activation act, T negative_slope, T* grad_w, T* grad_b);

}  // namespace fastmlp

#include "sparse/csr_dense.hpp"

#include <algorithm>

#include "activations.hpp"
#include "dense.hpp"
#include "epilogue.hpp"
#include "isa/dispatch.hpp"
#include "threads.hpp"

namespace fastmlp {
namespace {

// W's rows taken together: one X entry is read once for this many of them (their
// accumulators stay in registers), which cuts the reads of data and indices by as much.
constexpr int64_t kRowsAtOnce = 8;

// Runs fn(lo, hi) on each thread for a share of [0, n) of W's rows, in whole cache lines
// of a row of y (so threads never write one line of y), with at least a
// tuning().elementwise_per_thread multiply-adds of the nnz x n each.
template <class T, class Fn>
void for_output_ranges(int64_t nnz, int64_t n, Fn fn) {
  constexpr int64_t kLine = 64 / sizeof(T);
  const int64_t chunks = ceil_div(n, kLine);
  const int nt = static_cast<int>(
      std::min<int64_t>(threads_for(nnz * n, tuning().elementwise_per_thread), chunks));
  parallel_ranges(nt, chunks, [&](int64_t lo, int64_t hi) {
    lo = std::min(n, lo * kLine);
    hi = std::min(n, hi * kLine);
    if (hi > lo) fn(lo, hi);
  });
}

// y[i, o] = sum_p data[p] w[o, indices[p]] over row i's entries, for W's rows [lo, hi).
template <class T, class I>
void csr_times_wt(int64_t m, int64_t n, const T* data, const I* indices, const I* indptr,
                  MatView<T> w, T* y, int64_t lo, int64_t hi) {
  for (int64_t o0 = lo; o0 < hi; o0 += kRowsAtOnce) {
    const int64_t b = std::min(kRowsAtOnce, hi - o0);
    for (int64_t i = 0; i < m; ++i) {
      T acc[kRowsAtOnce] = {};
      for (int64_t p = indptr[i]; p < indptr[i + 1]; ++p) {
        const T v = data[p];
        const T* wj = w.ptr + int64_t(indices[p]) * w.cs + o0 * w.rs;
        for (int64_t q = 0; q < b; ++q) acc[q] += v * wj[q * w.rs];
      }
      std::copy(acc, acc + b, y + i * n + o0);
    }
  }
}

// grad_w[o, :] = sum_i grad_pre[i, o] X[i, :] for W's rows [lo, hi), X's rows in order.
template <class T, class I>
void csr_weight_grad(int64_t m, int64_t n, int64_t k, const T* grad_pre, const T* data,
                     const I* indices, const I* indptr, T* grad_w, int64_t lo, int64_t hi) {
  std::fill(grad_w + lo * k, grad_w + hi * k, T(0));
  for (int64_t o0 = lo; o0 < hi; o0 += kRowsAtOnce) {
    const int64_t b = std::min(kRowsAtOnce, hi - o0);
    T* g0 = grad_w + o0 * k;
    for (int64_t i = 0; i < m; ++i) {
      const T* gi = grad_pre + i * n + o0;
      for (int64_t p = indptr[i]; p < indptr[i + 1]; ++p) {
        const T v = data[p];
        T* gj = g0 + indices[p];
        for (int64_t q = 0; q < b; ++q) gj[q * k] += gi[q] * v;
      }
    }
  }
}

template <class T>
int64_t stored(const CsrView<T>& x, int64_t m) {
  return x.visit([&](auto, auto indptr) { return int64_t(indptr[m]) - int64_t(indptr[0]); });
}

}  // namespace

template <class T>
void csr_dense_forward(int64_t m, int64_t n, const CsrView<T>& x, MatView<T> w, const T* bias,
                       int64_t bias_stride, Activation act, T negative_slope, T* y, T* pre) {
  if (m == 0 || n == 0) return;
  for_output_ranges<T>(stored(x, m), n, [&](int64_t lo, int64_t hi) {
    x.visit([&](auto indices, auto indptr) {
      csr_times_wt<T>(m, n, x.data, indices, indptr, w, y, lo, hi);
    });
  });
  // The dense path's epilogue on the finished product, a share of its rows per thread.
  Epilogue<T> ep;
  ep.bias = bias;
  ep.bias_stride = bias_stride;
  ep.act = act;
  ep.negative_slope = negative_slope;
  ep.pre = pre;
  ep.ldpre = n;
  parallel_ranges(threads_for(m * n, tuning().elementwise_per_thread), m, [&](int64_t r0, int64_t r1) {
    if (r1 > r0) finish_tile(ep, 0u, y, n, r0, 0, r1 - r0, n);
  });
  if (act == Activation::softmax) activation_forward_2d(act, negative_slope, y, y, m, n);
}

template <class T>
void csr_dense_backward(int64_t m, int64_t n, const T* grad_y, const CsrView<T>& x, const T* y,
                        const T* pre, Activation act, T negative_slope, T* grad_w, T* grad_b) {
  const T* grad_pre = pre_activation_grad(m, n, grad_y, y, pre, act, negative_slope, grad_b);
  if (!grad_w) return;
  const int64_t k = x.cols;
  if (m == 0) {  // no rows: the sum over them is zero
    std::fill(grad_w, grad_w + n * k, T(0));
    return;
  }
  for_output_ranges<T>(stored(x, m), n, [&](int64_t lo, int64_t hi) {
    x.visit([&](auto indices, auto indptr) {
      csr_weight_grad<T>(m, n, k, grad_pre, x.data, indices, indptr, grad_w, lo, hi);
    });
  });
}

#define FASTMLP_INSTANTIATE(T)                                                                  \
  template void csr_dense_forward<T>(int64_t, int64_t, const CsrView<T>&, MatView<T>, const T*,  \
                                     int64_t, Activation, T, T*, T*);                            \
  template void csr_dense_backward<T>(int64_t, int64_t, const T*, const CsrView<T>&, const T*,   \
                                      const T*, Activation, T, T*, T*);
FASTMLP_INSTANTIATE(float)
FASTMLP_INSTANTIATE(double)
#undef FASTMLP_INSTANTIATE

}  // namespace fastmlp

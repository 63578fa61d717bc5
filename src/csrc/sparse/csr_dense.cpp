#include "sparse/csr_dense.hpp"

#include <algorithm>
#include <vector>

#include "activations.hpp"
#include "dense.hpp"
#include "epilogue.hpp"
#include "isa/dispatch.hpp"
#include "threads.hpp"

namespace fastmlp {
namespace {

// W's rows taken together: one X entry is read once for this many of them (their
// accumulators stay in registers), which cuts the reads of the entries by as much.
constexpr int64_t kRowsAtOnce = 8;

// The entries of m rows of X by column, only the columns that have any, in increasing
// column order, each column listing X's rows in order (and repeats within a row in
// storage order): a stable sort. Walking W's and grad_W's rows along increasing
// columns reads and writes them in address order, which the hardware prefetcher
// follows; in X's row order the accesses jump about W, and a minibatch of a wide sparse
// X, which touches most of W's cache lines, waits on memory for each. A counting sort
// costs O(k + nnz); with far fewer entries than columns (a few rows to predict) a
// comparison sort, O(nnz log nnz), avoids the pass over all k columns.
template <class T>
struct ByColumn {
  std::vector<int64_t> columns;  // the columns that have entries, increasing
  std::vector<int64_t> start;    // columns.size() + 1 offsets into row, value
  std::vector<int64_t> row;
  std::vector<T> value;
  std::vector<int64_t> column, slot;  // scratch: each entry's column; the counting sort's slots
  struct Entry {
    int64_t column, row;
    T value;
  };
  std::vector<Entry> entries;  // scratch of the comparison sort

  template <class I>
  void build(int64_t m, int64_t k, const T* data, const I* indices, const I* indptr) {
    const int64_t nnz = int64_t(indptr[m]) - int64_t(indptr[0]);
    column.resize(nnz);
    row.resize(nnz);
    value.resize(nnz);
    if (nnz * 16 < k) {
      entries.clear();
      for (int64_t i = 0; i < m; ++i)
        for (int64_t p = indptr[i]; p < indptr[i + 1]; ++p)
          entries.push_back({int64_t(indices[p]), i, data[p]});
      std::stable_sort(entries.begin(), entries.end(),
                       [](const Entry& a, const Entry& b) { return a.column < b.column; });
      for (int64_t e = 0; e < nnz; ++e) {
        column[e] = entries[e].column;
        row[e] = entries[e].row;
        value[e] = entries[e].value;
      }
    } else {
      slot.assign(k + 1, 0);
      for (int64_t p = indptr[0]; p < indptr[m]; ++p) ++slot[int64_t(indices[p]) + 1];
      for (int64_t j = 0; j < k; ++j) slot[j + 1] += slot[j];  // slot[j]: column j's next
      for (int64_t i = 0; i < m; ++i)
        for (int64_t p = indptr[i]; p < indptr[i + 1]; ++p) {
          const int64_t at = slot[indices[p]]++;
          column[at] = indices[p];
          row[at] = i;
          value[at] = data[p];
        }
    }
    columns.clear();
    start.clear();
    for (int64_t e = 0; e < nnz; ++e)
      if (e == 0 || column[e] != column[e - 1]) {
        columns.push_back(column[e]);
        start.push_back(e);
      }
    start.push_back(nnz);
  }
};

template <class T>
const ByColumn<T>& by_column(const CsrView<T>& x, int64_t m) {
  thread_local ByColumn<T> cols;  // grows to the largest batch, then allocates nothing
  x.visit([&](auto indices, auto indptr) { cols.build(m, x.cols, x.data, indices, indptr); });
  return cols;
}

// Runs fn(lo, hi) on each thread for a share of [0, n) of W's rows, in whole cache lines
// of a row of y (so threads never write one line of y), with at least a
// tuning().elementwise_per_thread multiply-adds of the nnz x n each.
template <class T, class Fn>
void for_output_ranges(int64_t nnz, int64_t n, Fn fn) {
  for_column_lines<T>(n, nnz * n, tuning().elementwise_per_thread, fn);
}

// y[:, lo:hi] = X W[lo:hi]^T: each y[i, o] summed over row i's entries by column.
template <class T>
void csr_times_wt(int64_t m, int64_t n, const ByColumn<T>& x, MatView<T> w, T* y, int64_t lo, int64_t hi) {
  for (int64_t i = 0; i < m; ++i) std::fill(y + i * n + lo, y + i * n + hi, T(0));
  const int64_t ncols = int64_t(x.columns.size());
  for (int64_t o0 = lo; o0 < hi; o0 += kRowsAtOnce) {
    const int64_t b = std::min(kRowsAtOnce, hi - o0);
    for (int64_t c = 0; c < ncols; ++c) {
      const T* wj = w.ptr + x.columns[c] * w.cs + o0 * w.rs;
      T wq[kRowsAtOnce];
      for (int64_t q = 0; q < b; ++q) wq[q] = wj[q * w.rs];
      for (int64_t p = x.start[c]; p < x.start[c + 1]; ++p) {
        const T v = x.value[p];
        T* yi = y + x.row[p] * n + o0;
        for (int64_t q = 0; q < b; ++q) yi[q] += v * wq[q];
      }
    }
  }
}

// grad_w[lo:hi, :] = grad_pre[:, lo:hi]^T X, written in one pass along each row of
// grad_w (zeros where X has no entry), each sum over X's rows in order.
template <class T>
void csr_weight_grad(int64_t n, int64_t k, const T* grad_pre, const ByColumn<T>& x, T* grad_w, int64_t lo,
                     int64_t hi) {
  const int64_t ncols = int64_t(x.columns.size());
  for (int64_t o0 = lo; o0 < hi; o0 += kRowsAtOnce) {
    const int64_t b = std::min(kRowsAtOnce, hi - o0);
    T* g0 = grad_w + o0 * k;
    int64_t done = 0;  // columns [0, done) of the block's rows are written
    for (int64_t c = 0; c < ncols; ++c) {
      const int64_t j = x.columns[c];
      T acc[kRowsAtOnce] = {};
      for (int64_t p = x.start[c]; p < x.start[c + 1]; ++p) {
        const T v = x.value[p];
        const T* gi = grad_pre + x.row[p] * n + o0;
        for (int64_t q = 0; q < b; ++q) acc[q] += gi[q] * v;
      }
      for (int64_t q = 0; q < b; ++q) {
        std::fill(g0 + q * k + done, g0 + q * k + j, T(0));
        g0[q * k + j] = acc[q];
      }
      done = j + 1;
    }
    for (int64_t q = 0; q < b; ++q) std::fill(g0 + q * k + done, g0 + (q + 1) * k, T(0));
  }
}

}  // namespace

template <class T>
void csr_dense_forward(int64_t m, int64_t n, const CsrView<T>& x, MatView<T> w, const T* bias,
                       int64_t bias_stride, Activation act, T negative_slope, T* y, T* pre) {
  if (m == 0 || n == 0) return;
  const ByColumn<T>& cols = by_column(x, m);
  for_output_ranges<T>(int64_t(cols.row.size()), n,
                       [&](int64_t lo, int64_t hi) { csr_times_wt<T>(m, n, cols, w, y, lo, hi); });
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
void csr_dense_backward(int64_t m, int64_t n, const T* grad_y, const CsrView<T>& x, const T* y, const T* pre,
                        Activation act, T negative_slope, T* grad_w, T* grad_b) {
  const T* grad_pre = pre_activation_grad(m, n, grad_y, y, pre, act, negative_slope, grad_b);
  if (!grad_w) return;
  const ByColumn<T>& cols = by_column(x, m);
  // At least a thread per n x k of grad_w to write, however few entries X has.
  for_output_ranges<T>(std::max<int64_t>(int64_t(cols.row.size()), x.cols), n, [&](int64_t lo, int64_t hi) {
    csr_weight_grad<T>(n, x.cols, grad_pre, cols, grad_w, lo, hi);
  });
}

#define FASTMLP_INSTANTIATE(T)                                                                           \
  template void csr_dense_forward<T>(int64_t, int64_t, const CsrView<T>&, MatView<T>, const T*, int64_t, \
                                     Activation, T, T*, T*);                                             \
  template void csr_dense_backward<T>(int64_t, int64_t, const T*, const CsrView<T>&, const T*, const T*, \
                                      Activation, T, T*, T*);
FASTMLP_INSTANTIATE(float)
FASTMLP_INSTANTIATE(double)
#undef FASTMLP_INSTANTIATE

}  // namespace fastmlp

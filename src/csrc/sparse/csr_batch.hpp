// A minibatch of CSR rows gathered from a larger CSR matrix in a given order (the
// epoch's shuffle), into buffers that only grow: the sparse counterpart of copying
// dense rows into a batch buffer.
#pragma once
#include <cstdint>
#include <vector>

#include "sparse/csr.hpp"

namespace fastmlp {

template <class T>
class CsrBatch {
 public:
  // Rows rows[0..m) of x, in that order, as a CSR view valid until the next gather.
  CsrView<T> gather(const CsrView<T>& x, const int64_t* rows, int64_t m) {
    indptr_.resize(m + 1);
    indptr_[0] = 0;
    x.visit([&](auto idx, auto ptr) {
      for (int64_t r = 0; r < m; ++r) indptr_[r + 1] = indptr_[r] + (ptr[rows[r] + 1] - ptr[rows[r]]);
      data_.resize(indptr_[m]);
      indices_.resize(indptr_[m]);
      for (int64_t r = 0; r < m; ++r) {
        const int64_t from = ptr[rows[r]], count = indptr_[r + 1] - indptr_[r];
        for (int64_t p = 0; p < count; ++p) {
          data_[indptr_[r] + p] = x.data[from + p];
          indices_[indptr_[r] + p] = idx[from + p];
        }
      }
    });
    CsrView<T> v;
    v.data = data_.data();
    v.indices = indices_.data();
    v.indptr = indptr_.data();
    v.wide = true;
    v.rows = m;
    v.cols = x.cols;
    return v;
  }

 private:
  std::vector<T> data_;
  std::vector<int64_t> indices_, indptr_;
};

}  // namespace fastmlp

// fastmlp._core.CsrMatrix: the typed seam through which CSR input crosses into C++.
// It holds scipy.sparse's three arrays and the shape, checked once when it is built
// (dtypes, lengths, offsets, every column index in range: a kernel never reads an
// entry these checks have not passed), and hands the kernels a CsrView of them.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <utility>

#include "pyargs.hpp"
#include "sparse/csr.hpp"

namespace fastmlp::pyargs {

class PyCsr {
 public:
  PyCsr(const py::object& data, const py::object& indices, const py::object& indptr,
        std::pair<int64_t, int64_t> shape);

  template <class T>
  CsrView<T> view() const {
    CsrView<T> v;
    v.data = static_cast<const T*>(data_.data());
    v.indices = indices_.data();
    v.indptr = indptr_.data();
    v.wide = wide_;
    v.rows = rows_;
    v.cols = cols_;
    return v;
  }

  DType dtype() const { return dtype_; }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t nnz() const { return nnz_; }
  std::string shape_str() const { return "(" + std::to_string(rows_) + ", " + std::to_string(cols_) + ")"; }
  const py::array& data() const { return data_; }
  const py::array& indices() const { return indices_; }
  const py::array& indptr() const { return indptr_; }

 private:
  py::array data_, indices_, indptr_;
  DType dtype_;
  bool wide_;
  int64_t rows_, cols_, nnz_;
};

void register_csr(py::module_& m);

}  // namespace fastmlp::pyargs

// Bindings of CSR input: the CsrMatrix class (pycsr.hpp) and the first layer on it,
// _sparse_linear and _sparse_linear_backward (fastmlp.sparse wraps them).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "activations.hpp"
#include "pycsr.hpp"
#include "sparse/csr_dense.hpp"

namespace py = pybind11;
using namespace fastmlp;

namespace fastmlp::pyargs {
namespace {

// A 1-D C-contiguous aligned integer array of 4 or 8 bytes (scipy's index dtypes).
py::array index_arg(const py::object& obj, const char* name) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(std::string(name) + " must be a numpy.ndarray, got " +
                         std::string(py::str(py::type::of(obj).attr("__name__"))));
  auto a = py::reinterpret_borrow<py::array>(obj);
  const py::dtype dt = a.dtype();
  if (dt.kind() != 'i' || dt.byteorder() == '>' || (dt.itemsize() != 4 && dt.itemsize() != 8))
    throw py::type_error(std::string(name) + " must have dtype int32 or int64, got " +
                         std::string(py::str(dt)));
  if (a.ndim() != 1 || !c_contiguous(a) || !aligned(a))
    throw py::value_error(std::string(name) + " must be a 1-D C-contiguous array, got shape " + shape_str(a));
  return a;
}

template <class I>
void check_structure(const I* indices, const I* indptr, int64_t rows, int64_t cols, int64_t length) {
  if (indptr[0] != 0) throw py::value_error("indptr[0] must be 0, got " + std::to_string(int64_t(indptr[0])));
  for (int64_t i = 0; i < rows; ++i)
    if (indptr[i + 1] < indptr[i])
      throw py::value_error("indptr must be non-decreasing: indptr[" + std::to_string(i + 1) +
                            "] = " + std::to_string(int64_t(indptr[i + 1])) + " < indptr[" +
                            std::to_string(i) + "] = " + std::to_string(int64_t(indptr[i])));
  if (indptr[rows] > length)
    throw py::value_error("indptr[-1] = " + std::to_string(int64_t(indptr[rows])) +
                          " stored entries, but data and indices have " + std::to_string(length));
  for (int64_t p = 0; p < int64_t(indptr[rows]); ++p)
    if (indices[p] < 0 || indices[p] >= cols)
      throw py::value_error("indices[" + std::to_string(p) + "] = " + std::to_string(int64_t(indices[p])) +
                            " is out of range for " + std::to_string(cols) + " columns");
}

}  // namespace

PyCsr::PyCsr(const py::object& data, const py::object& indices, const py::object& indptr,
             std::pair<int64_t, int64_t> shape)
    : rows_(shape.first), cols_(shape.second) {
  Arg d = array_arg(data, "data");
  if (d.arr.ndim() != 1 || !c_contiguous(d.arr))
    throw py::value_error("data must be a 1-D C-contiguous array, got shape " + pyargs::shape_str(d.arr));
  data_ = d.arr;
  dtype_ = d.dtype;
  indices_ = index_arg(indices, "indices");
  indptr_ = index_arg(indptr, "indptr");
  if (indices_.itemsize() != indptr_.itemsize())
    throw py::type_error("indices (" + std::string(py::str(indices_.dtype())) + ") and indptr (" +
                         std::string(py::str(indptr_.dtype())) + ") must have one dtype");
  wide_ = indices_.itemsize() == 8;
  if (rows_ < 0 || cols_ < 0) throw py::value_error("shape " + shape_str() + " must not be negative");
  if (indptr_.shape(0) != rows_ + 1)
    throw py::value_error("indptr of shape " + pyargs::shape_str(indptr_) + " does not fit shape " +
                          shape_str() + ": expected (" + std::to_string(rows_ + 1) + ",)");
  if (indices_.shape(0) != data_.shape(0))
    throw py::value_error("indices of shape " + pyargs::shape_str(indices_) + " does not fit data of shape " +
                          pyargs::shape_str(data_));
  const int64_t length = data_.shape(0);
  if (wide_)
    check_structure(static_cast<const int64_t*>(indices_.data()), static_cast<const int64_t*>(indptr_.data()),
                    rows_, cols_, length);
  else
    check_structure(static_cast<const int32_t*>(indices_.data()), static_cast<const int32_t*>(indptr_.data()),
                    rows_, cols_, length);
  nnz_ = wide_ ? static_cast<const int64_t*>(indptr_.data())[rows_]
               : static_cast<const int32_t*>(indptr_.data())[rows_];
}

namespace {

const PyCsr& csr_arg(const py::object& x_obj) {
  if (!py::isinstance<PyCsr>(x_obj))
    throw py::type_error(
        "x must be a fastmlp._core.CsrMatrix (fastmlp.sparse builds one from "
        "scipy.sparse), got " +
        std::string(py::str(py::type::of(x_obj).attr("__name__"))));
  return x_obj.cast<const PyCsr&>();
}

void require_dtype(const Arg& a, const PyCsr& x) {
  if (a.dtype != x.dtype())
    throw py::type_error(std::string(a.name) + " is " + dtype_name(a.dtype) + " but x is " +
                         dtype_name(x.dtype()) + "; use one dtype per call (fastmlp never casts implicitly)");
}

py::array sparse_linear(const py::object& x_obj, const py::object& w_obj, const py::object& b_obj,
                        const std::string& activation, double negative_slope, const py::object& pre_out) {
  const PyCsr& x = csr_arg(x_obj);
  Arg w = array_arg(w_obj, "weight");
  require_dtype(w, x);
  require_ndim(w, 2);
  if (w.arr.shape(1) != x.cols())
    throw py::value_error("sparse_linear: x of shape " + x.shape_str() + " does not fit " +
                          described(w.arr, "weight") + " (x.shape[1] != weight.shape[1])");
  const int64_t m = x.rows(), n = w.arr.shape(0);
  Arg b{py::array(), "bias", x.dtype()};
  if (!b_obj.is_none()) {
    b = array_arg(b_obj, "bias");
    require_dtype(b, x);
    if (b.arr.ndim() != 1 || b.arr.shape(0) != n)
      throw py::value_error("sparse_linear: " + described(b.arr, "bias") + " does not fit " +
                            described(w.arr, "weight") + "; expected (" + std::to_string(n) + ",)");
  }
  const Activation act = activation_arg(activation);
  return by_dtype(x.dtype(), [&](auto tag) -> py::array {
    using T = decltype(tag);
    const T slope = slope_arg<T>(negative_slope);
    py::array_t<T> y = pyargs::new_array<T>({m, n});
    T* pre = nullptr;
    if (!pre_out.is_none()) {
      Arg weight_arg = w;
      auto z = output<T>(pre_out, "pre_activation_out", {m, n}, {&weight_arg});
      pre = z.mutable_data();
    }
    const CsrView<T> xv = x.view<T>();
    const MatView<T> wv = view2d<T>(w);
    const T* bp = !b_obj.is_none() ? static_cast<const T*>(b.arr.data()) : nullptr;
    const int64_t bs = !b_obj.is_none() ? elem_stride(b, 0) : 1;
    T* yp = y.mutable_data();
    py::gil_scoped_release nogil;
    csr_dense_forward<T>(m, n, xv, wv, bp, bs, act, slope, yp, pre);
    return y;
  });
}

py::tuple sparse_linear_backward(const py::object& gy_obj, const py::object& x_obj, const py::object& y_obj,
                                 const std::string& activation, const py::object& pre_obj,
                                 double negative_slope) {
  const PyCsr& x = csr_arg(x_obj);
  Arg gy = array_arg(gy_obj, "grad_y"), y = array_arg(y_obj, "y");
  require_dtype(gy, x);
  require_dtype(y, x);
  require_ndim(gy, 2);
  const int64_t m = x.rows(), n = gy.arr.shape(1), k = x.cols();
  std::vector<Arg> rows_args{gy, y};
  if (!pre_obj.is_none()) rows_args.push_back(array_arg(pre_obj, "pre_activation"));
  for (Arg& a : rows_args) {
    require_dtype(a, x);
    if (a.arr.ndim() != 2 || a.arr.shape(0) != m || a.arr.shape(1) != n)
      throw py::value_error("sparse_linear_backward: " + described(a.arr, a.name) + ", expected (" +
                            std::to_string(m) + ", " + std::to_string(n) + ") for x of shape " +
                            x.shape_str() + " and " + described(gy.arr, "grad_y"));
    a.arr = contiguous(a);
  }
  const Activation act = activation_arg(activation);
  if (act == Activation::step)
    throw py::value_error("sparse_linear_backward: activation 'step' has no gradient");
  if (pre_obj.is_none() && backward_needs_pre_activation(act, negative_slope))
    throw py::value_error(std::string("sparse_linear_backward: activation '") + activation +
                          "' needs pre_activation (from sparse_linear(..., pre_activation_out=...))");
  return by_dtype(x.dtype(), [&](auto tag) -> py::tuple {
    using T = decltype(tag);
    const T slope = slope_arg<T>(negative_slope);
    py::array_t<T> gw = pyargs::new_array<T>({n, k}), gb = pyargs::new_array<T>({n});
    const CsrView<T> xv = x.view<T>();
    const T* gyp = static_cast<const T*>(rows_args[0].arr.data());
    const T* yp = static_cast<const T*>(rows_args[1].arr.data());
    const T* pp = rows_args.size() > 2 ? static_cast<const T*>(rows_args[2].arr.data()) : nullptr;
    T *gwp = gw.mutable_data(), *gbp = gb.mutable_data();
    {
      py::gil_scoped_release nogil;
      csr_dense_backward<T>(m, n, gyp, xv, yp, pp, act, slope, gwp, gbp);
    }
    return py::make_tuple(gw, gb);
  });
}

}  // namespace

void register_csr(py::module_& m) {
  py::class_<PyCsr>(m, "CsrMatrix",
                    "A CSR matrix (scipy.sparse's data, indices, indptr and shape) checked once "
                    "for the kernels; fastmlp.sparse.as_csr builds one from scipy.sparse input.")
      .def(py::init<const py::object&, const py::object&, const py::object&, std::pair<int64_t, int64_t>>(),
           py::arg("data"), py::arg("indices"), py::arg("indptr"), py::arg("shape"))
      .def_property_readonly("shape", [](const PyCsr& x) { return py::make_tuple(x.rows(), x.cols()); })
      .def_property_readonly("dtype", [](const PyCsr& x) { return x.data().dtype(); })
      .def_property_readonly("nnz", &PyCsr::nnz)
      .def_property_readonly("data", &PyCsr::data)
      .def_property_readonly("indices", &PyCsr::indices)
      .def_property_readonly("indptr", &PyCsr::indptr)
      .def("__len__", &PyCsr::rows)
      .def("__repr__", [](const PyCsr& x) {
        return "CsrMatrix(shape=" + x.shape_str() + ", nnz=" + std::to_string(x.nnz()) +
               ", dtype=" + dtype_name(x.dtype()) + ")";
      });
  m.def("_sparse_linear", &sparse_linear, py::arg("x"), py::arg("weight"), py::arg("bias") = py::none(),
        py::arg("activation") = "identity", py::arg("negative_slope") = 0.01,
        py::arg("pre_activation_out") = py::none());
  m.def("_sparse_linear_backward", &sparse_linear_backward, py::arg("grad_y"), py::arg("x"), py::arg("y"),
        py::arg("activation") = "identity", py::arg("pre_activation") = py::none(),
        py::arg("negative_slope") = 0.01);
}

}  // namespace fastmlp::pyargs

// Argument checks shared by the pybind11 binding files: errors name the argument and
// the shapes; arrays are viewed without copies.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "activations.hpp"
#include "buffer.hpp"
#include "common.hpp"

namespace fastmlp::pyargs {

namespace py = pybind11;

enum class DType { f32, f64 };

inline std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t d = 0; d < a.ndim(); ++d) {
    if (d) s += ", ";
    s += std::to_string(a.shape(d));
  }
  return s + (a.ndim() == 1 ? ",)" : ")");
}

inline std::string shape_str(const std::vector<py::ssize_t>& shape) {
  std::string s = "(";
  for (size_t d = 0; d < shape.size(); ++d) s += (d ? ", " : "") + std::to_string(shape[d]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

inline std::string described(const py::array& a, const char* name) {
  return std::string(name) + " of shape " + shape_str(a);
}

// An input array argument with its name, for error messages.
struct Arg {
  py::array arr;
  const char* name;
  DType dtype;
};

// Whether the kernels will only read the array, or write into it.
enum class Access { read, write };

// Whether every element of a sits at an address that is a multiple of its item size.
// NumPy allows otherwise (views of byte buffers at odd offsets); the kernels read and
// write elements through typed pointers, which is undefined for a misaligned address.
inline bool aligned(const py::array& a) {
  const auto item = static_cast<uintptr_t>(a.itemsize());
  if (reinterpret_cast<uintptr_t>(a.data()) % item) return false;
  for (py::ssize_t d = 0; d < a.ndim(); ++d)
    if (static_cast<uintptr_t>(a.strides(d)) % item) return false;
  return true;
}

// A misaligned input is read from an aligned copy (made once per call: such arrays are
// rare); an array the kernels write is refused instead, since writes to a copy would be
// lost.
inline Arg array_arg(const py::handle& obj, const char* name, Access access = Access::read) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(std::string(name) + " must be a numpy.ndarray, got " +
                         std::string(py::str(py::type::of(obj).attr("__name__"))));
  auto arr = py::reinterpret_borrow<py::array>(obj);
  const py::dtype dt = arr.dtype();
  const bool native = dt.byteorder() != '>';
  if (dt.kind() != 'f' || !native || (dt.itemsize() != 4 && dt.itemsize() != 8))
    throw py::type_error(std::string(name) + " must have dtype float32 or float64, got " +
                         std::string(py::str(dt)) + " (fastmlp never casts implicitly)");
  if (!aligned(arr)) {
    if (access == Access::write)
      throw py::value_error(std::string(name) + " is not aligned to its item size (" +
                            std::to_string(dt.itemsize()) +
                            " bytes); pass an aligned array, e.g. numpy.ascontiguousarray(" + name + ")");
    arr = py::module_::import("numpy").attr("array")(arr);  // aligned and C-contiguous
  }
  return {arr, name, dt.itemsize() == 4 ? DType::f32 : DType::f64};
}

inline const char* dtype_name(DType d) {
  return d == DType::f32 ? "float32" : "float64";
}

inline void require_same_dtype(const Arg& a, const Arg& b) {
  if (a.dtype != b.dtype)
    throw py::type_error(std::string(a.name) + " is " + dtype_name(a.dtype) + " but " + b.name + " is " +
                         dtype_name(b.dtype) + "; use one dtype per call (fastmlp never casts implicitly)");
}

inline void require_ndim(const Arg& a, int ndim) {
  if (a.arr.ndim() != ndim)
    throw py::value_error(std::string(a.name) + " must be " + std::to_string(ndim) + "-D, got shape " +
                          shape_str(a.arr));
}

// Exact: array_arg leaves only aligned arrays, whose strides are multiples of the item size.
inline int64_t elem_stride(const Arg& a, int dim) {
  return a.arr.strides(dim) / a.arr.itemsize();
}

template <class T>
MatView<T> view2d(const Arg& a) {
  return {static_cast<const T*>(a.arr.data()), elem_stride(a, 0), elem_stride(a, 1)};
}

inline bool c_contiguous(const py::array& a) {
  return a.flags() & py::array::c_style;
}

// [lo, hi) byte range an array's elements occupy (conservative for strided arrays).
inline std::pair<const char*, const char*> extent(const py::array& a) {
  const char* lo = static_cast<const char*>(a.data());
  const char* hi = lo;
  for (py::ssize_t d = 0; d < a.ndim(); ++d) {
    if (a.shape(d) == 0) return {lo, lo};
    const py::ssize_t span = (a.shape(d) - 1) * a.strides(d);
    (span < 0 ? lo : hi) += span;
  }
  return {lo, hi + a.itemsize()};
}

inline bool overlaps(const py::array& a, const py::array& b) {
  auto [alo, ahi] = extent(a);
  auto [blo, bhi] = extent(b);
  return alo < ahi && blo < bhi && alo < bhi && blo < ahi;
}

// A new C-contiguous array whose data start on a cache line. NumPy starts its own on any
// 16-byte boundary, where every 64-byte vector store of a tile straddles two lines
// (matmul 1024 x 32 @ 32 x 1024 into such an out: 8% slower, Zen 4); see
// fastmlp/_aligned.py for the parameters. Freed with the array (its base, a capsule).
template <class T>
py::array_t<T> new_array(const std::vector<py::ssize_t>& shape) {
  constexpr int64_t kLine = 64;
  int64_t count = 1;
  for (py::ssize_t d : shape) count *= d;  // NumPy has checked the sizes of its inputs
  void* data = count <= (std::numeric_limits<int64_t>::max() - kLine) / int64_t(sizeof(T))
                   ? aligned_bytes(round_up(std::max<int64_t>(count * sizeof(T), 1), kLine))
                   : nullptr;
  if (!data) {
    char gib[32];
    std::snprintf(gib, sizeof gib, "%.1f", double(count) * double(sizeof(T)) / double(int64_t(1) << 30));
    const std::string what = std::string("cannot allocate ") + gib + " GiB for a " +
                             (sizeof(T) == 4 ? "float32" : "float64") + " array of shape " + shape_str(shape);
    PyErr_SetString(PyExc_MemoryError, what.c_str());
    throw py::error_already_set();
  }
  py::capsule owner;
  try {
    owner = py::capsule(data, [](void* p) { std::free(p); });
  } catch (...) {
    std::free(data);
    throw;
  }
  return py::array_t<T>(shape, static_cast<T*>(data), owner);
}

// The output array: a new C-contiguous one, or `out` after checking it can take the result.
template <class T>
py::array_t<T> output(const py::object& out, const char* name, const std::vector<py::ssize_t>& shape,
                      const std::vector<const Arg*>& inputs) {
  if (out.is_none()) return new_array<T>(shape);
  Arg o = array_arg(out, name, Access::write);
  if (o.dtype != (sizeof(T) == 4 ? DType::f32 : DType::f64))
    throw py::type_error(std::string(name) + " is " + dtype_name(o.dtype) + " but the result is " +
                         (sizeof(T) == 4 ? "float32" : "float64"));
  std::vector<py::ssize_t> got(o.arr.shape(), o.arr.shape() + o.arr.ndim());
  if (got != shape)
    throw py::value_error(std::string(name) + " has shape " + shape_str(o.arr) + ", expected " +
                          shape_str(shape));
  if (!c_contiguous(o.arr)) throw py::value_error(std::string(name) + " must be C-contiguous");
  if (!o.arr.writeable()) throw py::value_error(std::string(name) + " is not writeable");
  for (const Arg* in : inputs)
    if (overlaps(o.arr, in->arr))
      throw py::value_error(std::string(name) + " overlaps input " + in->name + "; pass a separate array");
  return py::reinterpret_borrow<py::array_t<T>>(o.arr);
}

// A C-contiguous version of a (copying only when it is not one already).
inline py::array contiguous(const Arg& a) {
  if (c_contiguous(a.arr)) return a.arr;
  return py::module_::import("numpy").attr("ascontiguousarray")(a.arr);
}

// negative_slope as a T: a finite number that stays finite in T (1e39 is inf in float32).
template <class T>
T slope_arg(double s) {
  if (!std::isfinite(s) || std::fabs(s) > double(std::numeric_limits<T>::max()))
    throw py::value_error("negative_slope must be a finite " +
                          std::string(sizeof(T) == 4 ? "float32" : "float64") + " number, got " +
                          std::to_string(s));
  return T(s);
}

template <class F>
auto by_dtype(DType d, F&& f) {
  return d == DType::f32 ? f(float{}) : f(double{});
}

inline Activation activation_arg(const std::string& name) {
  try {
    return parse_activation(name);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(std::string("activation: ") + e.what());
  }
}

}  // namespace fastmlp::pyargs

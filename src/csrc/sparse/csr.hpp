// A read-only view of a CSR (compressed sparse row) matrix as scipy.sparse stores it:
// row i's values are data[indptr[i] .. indptr[i+1]) at columns indices[same range].
// Indices may be unsorted within a row and may repeat (repeats add up, as in scipy).
// The bindings (pycsr.hpp) check offsets and column indices before a kernel reads one.
#pragma once
#include <cstdint>

namespace fastmlp {

template <class T>
struct CsrView {
  const T* data = nullptr;
  const void* indices = nullptr;  // int32 or int64, as `wide` says (scipy uses either)
  const void* indptr = nullptr;   // rows + 1 offsets into data and indices, same type
  bool wide = false;              // int64 indices and indptr, else int32
  int64_t rows = 0, cols = 0;

  // Rows r0.. of this matrix: the offsets are absolute, so only indptr moves.
  CsrView rows_from(int64_t r0) const {
    CsrView v = *this;
    v.indptr = static_cast<const char*>(indptr) + r0 * (wide ? 8 : 4);
    v.rows = rows - r0;
    return v;
  }

  // f(indices, indptr) with the typed pointers; kernels are templates on the index type.
  template <class F>
  decltype(auto) visit(F&& f) const {
    if (wide) return f(static_cast<const int64_t*>(indices), static_cast<const int64_t*>(indptr));
    return f(static_cast<const int32_t*>(indices), static_cast<const int32_t*>(indptr));
  }
};

}  // namespace fastmlp

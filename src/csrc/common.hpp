// Types shared by every kernel: strided matrix views, activations, the GEMM epilogue.
#pragma once
#include <cstdint>

namespace fastmlp {

// A read-only matrix given by element strides (any layout: C, F, strided, negative,
// zero for broadcast). Packing reads through it, so the kernels never need a copy.
template <class T>
struct MatView {
  const T* ptr;
  int64_t rs;  // stride between rows, in elements
  int64_t cs;  // stride between columns, in elements
  const T& operator()(int64_t i, int64_t j) const { return ptr[i * rs + j * cs]; }
  MatView transposed() const { return {ptr, cs, rs}; }
  bool row_contiguous() const { return cs == 1; }
};

enum class Activation : int { identity, relu, leaky_relu, sigmoid, tanh, gelu, softmax, step };

// What a GEMM does to C = A B when it stores a tile: C = act(A B + bias), optionally
// keeping the pre-activation A B + bias in `pre` for the backward pass.
template <class T>
struct Epilogue {
  const T* bias = nullptr;  // one value per column of C
  int64_t bias_stride = 1;
  Activation act = Activation::identity;
  T negative_slope = T(0.01);  // leaky_relu
  T* pre = nullptr;            // optional pre-activation output, row-major
  int64_t ldpre = 0;
};

inline int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}
inline int64_t round_up(int64_t a, int64_t b) {
  return ceil_div(a, b) * b;
}

}  // namespace fastmlp

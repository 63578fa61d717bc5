// Vectorized float32 elementwise kernels for the transcendental activations, one set per
// ISA (isa/<name>/config.cpp, each compiled with its own flags), chosen with the GEMM's.
// float64 keeps libm's functions: its users want the last digits.
#pragma once
#include <cstdint>

namespace fastmlp {

struct ElementwiseF32 {
  void (*sigmoid)(const float* x, float* y, int64_t n);
  void (*tanh)(const float* x, float* y, int64_t n);
  void (*gelu)(const float* x, float* y, int64_t n);
  // out = g * gelu'(x)
  void (*gelu_backward)(const float* g, const float* x, float* out, int64_t n);
  // y = softmax(x) over n values, max-subtracted (x may equal y)
  void (*softmax_row)(const float* x, float* y, int64_t n);
};

// The set for the ISA in use (isa/dispatch.cpp).
const ElementwiseF32& elementwise_f32();

}  // namespace fastmlp

// The loops behind ElementwiseF32, written once: include only from elementwise_<isa>.cpp,
// where the ISA's flags make the compiler vectorize them. All `static` (see vmath.hpp),
// and no std:: templates, whose instances would be merged across ISAs the same way.
#pragma once
#include "elementwise/elementwise.hpp"
#include "elementwise/vmath.hpp"

namespace fastmlp {
namespace {

void sigmoid_loop(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = vmath::sigmoid(x[i]);
}

void tanh_loop(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = vmath::tanh(x[i]);
}

void gelu_loop(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = vmath::gelu(x[i]);
}

void gelu_backward_loop(const float* g, const float* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = g[i] * vmath::gelu_grad(x[i]);
}

float exp_shifted_sum_loop(const float* x, float shift, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = vmath::exp(x[i] - shift);
  // 16 running sums, one per lane of the widest vector: vectorizes without reassociating.
  float lane[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) lane[l] += y[i + l];
  float sum = 0;
  for (; i < n; ++i) sum += y[i];
  for (int l = 0; l < 16; ++l) sum += lane[l];
  return sum;
}

}  // namespace

constexpr ElementwiseF32 make_elementwise_f32() {
  return {&sigmoid_loop, &tanh_loop, &gelu_loop, &gelu_backward_loop, &exp_shifted_sum_loop};
}

}  // namespace fastmlp

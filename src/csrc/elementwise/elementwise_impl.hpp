// The loops behind ElementwiseF32, written once: include only from isa/<name>/config.cpp,
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

// Reductions keep 16 running values, one per lane of the widest vector, so they
// vectorize without reassociating (and give one result per ISA, whatever the threads).
constexpr int kLanes = 16;

void softmax_row_loop(const float* x, float* y, int64_t n) {
  if (n == 0) return;
  float lane[kLanes];
  for (int l = 0; l < kLanes; ++l) lane[l] = x[0];
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] = lane[l] > x[i + l] ? lane[l] : x[i + l];
  float mx = x[0];
  for (; i < n; ++i) mx = mx > x[i] ? mx : x[i];
  for (int l = 0; l < kLanes; ++l) mx = mx > lane[l] ? mx : lane[l];

  for (int64_t j = 0; j < n; ++j) y[j] = vmath::exp(x[j] - mx);
  for (int l = 0; l < kLanes; ++l) lane[l] = 0;
  for (i = 0; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] += y[i + l];
  float sum = 0;
  for (; i < n; ++i) sum += y[i];
  for (int l = 0; l < kLanes; ++l) sum += lane[l];

  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < n; ++j) y[j] *= inv;
}

}  // namespace

constexpr ElementwiseF32 make_elementwise_f32() {
  return {&sigmoid_loop, &tanh_loop, &gelu_loop, &gelu_backward_loop, &softmax_row_loop};
}

}  // namespace fastmlp

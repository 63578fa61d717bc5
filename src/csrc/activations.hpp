// Activation functions, forward and backward, with PyTorch's definitions.
#pragma once
#include <cstdint>
#include <string>

#include "common.hpp"

namespace fastmlp {

// Throws std::invalid_argument naming the valid activations.
Activation parse_activation(const std::string& name);
const char* activation_name(Activation act);
// Whether the backward pass needs the pre-activation x rather than the output y.
bool backward_needs_pre_activation(Activation act, double negative_slope);

// y = act(x) elementwise on n contiguous values (x may equal y); not softmax.
template <class T>
void activation_forward(Activation act, T negative_slope, const T* x, T* y, int64_t n);

// grad_x = grad_y * act'(.) elementwise on n contiguous values; not softmax (whose
// derivative couples a row), not step. x (pre-activation) may be null unless
// backward_needs_pre_activation says otherwise.
template <class T>
void activation_backward(Activation act, T negative_slope, const T* grad_y, const T* y, const T* x, T* grad_x,
                         int64_t n);

// y = act(x) on an m x n row-major matrix, softmax row-wise; parallel over rows.
template <class T>
void activation_forward_2d(Activation act, T negative_slope, const T* x, T* y, int64_t m, int64_t n);

// grad_x = grad_y * act'(.) on an m x n row-major matrix (softmax: the row-wise
// vector-Jacobian product). y is the forward output; x the pre-activation, needed
// only where backward_needs_pre_activation says so (else may be null).
template <class T>
void activation_backward_2d(Activation act, T negative_slope, const T* grad_y, const T* y, const T* x,
                            T* grad_x, int64_t m, int64_t n);

}  // namespace fastmlp

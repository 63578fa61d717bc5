// Losses on the network output with their gradients, with PyTorch's definitions:
// MSELoss, CrossEntropyLoss (on logits, via log-sum-exp; class labels or probability
// targets) and BCEWithLogitsLoss.
#pragma once
#include <cstdint>
#include <string>

namespace fastmlp {

enum class LossKind { mse, cross_entropy, bce };
enum class Reduction { mean, sum };

// Throws std::invalid_argument naming the valid names.
LossKind parse_loss(const std::string& name);
Reduction parse_reduction(const std::string& name);

// What a loss compares the output with: an m x width row-major array of values, or
// (cross_entropy only) m class labels in [0, width).
template <class T>
struct Targets {
  const T* values = nullptr;
  const int64_t* labels = nullptr;
};

// The number a "mean" reduction divides the summed loss of m x n outputs by.
double loss_denominator(LossKind kind, int64_t m, int64_t n);

// Unreduced loss of an m x n output, summed in row order (the same for any thread
// count), accumulated in double. If grad is not null it receives
// grad_scale * d(sum)/d(output), m x n row-major. Throws std::out_of_range for a
// label outside [0, n).
template <class T>
double loss_sum(LossKind kind, int64_t m, int64_t n, const T* output, Targets<T> target,
                T* grad, T grad_scale);

}  // namespace fastmlp

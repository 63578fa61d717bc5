// Losses on the network output with their gradients, with PyTorch's definitions:
// MSELoss, CrossEntropyLoss (on logits, via log-sum-exp; class labels or probability
// targets) and BCEWithLogitsLoss; and the half Poisson deviance on log-rates
// (scikit-learn's HalfPoissonLoss: exp(x) - t x + t log t - t, which is
// torch.nn.PoissonNLLLoss(log_input=True, full=False) plus a term free of x, so that
// it is 0 at the optimum x = log t, as scikit-learn's MLPRegressor(loss="poisson")
// reports it).
#pragma once
#include <cstdint>
#include <string>

namespace fastmlp {

enum class LossKind { mse, cross_entropy, bce, poisson };
enum class Reduction { mean, sum };

// Throws std::invalid_argument naming the valid names.
LossKind parse_loss(const std::string& name);
Reduction parse_reduction(const std::string& name);

// What a loss compares the output with: an m x width row-major array of values, or
// (cross_entropy only) m class labels in [0, width); optionally a non-negative weight
// per row (sample_weight), which travels with its row through shuffles and batches.
template <class T>
struct Targets {
  const T* values = nullptr;
  const int64_t* labels = nullptr;
  const T* weights = nullptr;  // m values, or null: every row weighs 1
};

// The weight of m rows: their number, or the sum of their weights in row order (in
// double, so the same for any thread count and exactly m for unit weights).
template <class T>
double rows_weight(int64_t m, const T* weights);

// The number a "mean" reduction divides the summed loss of rows of total weight
// `weight` (rows_weight) with n outputs each by: weight for cross-entropy, weight * n
// for the elementwise losses. Unweighted, this is PyTorch's (samples, resp. elements);
// weighted, it normalises by the weights' sum as torch.nn.CrossEntropyLoss with class
// weights does, and as scikit-learn's MLP (sum_i w_i l_i / sum_i w_i per minibatch).
double loss_denominator(LossKind kind, double weight, int64_t n);

// Weighted loss sum_i w_i l_i of an m x n output (w_i = 1 without weights), summed
// in row order (the same for any thread count), accumulated in double. If grad is
// not null it receives grad_scale * d(sum)/d(output), m x n row-major. Throws
// std::out_of_range for a label outside [0, n), naming its row as first_row + i (the
// rows' place in the caller's batch).
template <class T>
double loss_sum(LossKind kind, int64_t m, int64_t n, const T* output, Targets<T> target, T* grad,
                T grad_scale, int64_t first_row = 0);

}  // namespace fastmlp

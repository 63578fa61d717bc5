// Optimizer updates with torch.optim's formulas (its single-tensor CPU code path,
// operation for operation), plus an optional L1 penalty.
#pragma once
#include <cstdint>
#include <string>

namespace fastmlp {

enum class OptimKind { sgd, adam, adamw, rmsprop };

// Throws std::invalid_argument naming the valid names.
OptimKind parse_optimizer(const std::string& name);

// Arrays of per-parameter state an optimizer keeps (each the size of the parameter):
// sgd: momentum buffer; adam, adamw: exp_avg, exp_avg_sq; rmsprop: square_avg,
// momentum buffer, grad_avg.
int optimizer_state_slots(OptimKind kind);

struct OptimConfig {
  OptimKind kind = OptimKind::adam;
  double lr = 1e-3;
  double weight_decay = 0;            // L2: coupled (added to the gradient), decoupled for adamw
  double l1 = 0;                      // adds l1 * sign(p) to the gradient, before weight decay
  double momentum = 0;                // sgd, rmsprop
  double dampening = 0;               // sgd
  bool nesterov = false;              // sgd
  double beta1 = 0.9, beta2 = 0.999;  // adam, adamw
  double eps = 1e-8;                  // adam, adamw, rmsprop
  double alpha = 0.99;                // rmsprop
  bool centered = false;              // rmsprop
  // False: weight_decay and l1 leave biases (1-D parameters) alone, as scikit-learn's
  // alpha, which penalises coefs_ only. torch.optim's default (one group) decays all.
  bool decay_bias = true;
  // True: weight_decay and l1 are terms of each batch's summed loss, so a "mean"
  // reduction divides them by the batch's denominator like the loss (its samples, or
  // its sum of sample weights): scikit-learn's alpha, whose batch objective is
  // (sum_i w_i l_i + alpha/2 ||W||^2) / sum_i w_i. False: torch.optim's, added to
  // the reduced gradient as they are.
  bool penalty_in_loss = false;
  // adam, adamw. True: eps is Kingma & Ba's epsilon-hat (the reordered update before
  // their section 2.1, as scikit-learn's and Keras's Adam):
  //   p -= lr sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps).
  // False: torch.optim.Adam's (their Algorithm 1), eps added to sqrt(v) / sqrt(1 - beta2^t).
  bool eps_hat = false;
};

// The configuration for biases: c itself, or c without weight_decay and l1.
inline OptimConfig bias_config(const OptimConfig& c) {
  if (c.decay_bias) return c;
  OptimConfig b = c;
  b.weight_decay = 0;
  b.l1 = 0;
  return b;
}

// One step of an optimizer: its configuration and the scalars of the step, computed
// in double as Python computes them in torch.optim, then rounded to T as PyTorch's
// kernels do with Python-number arguments. Built once per step, used for every
// parameter array. penalty_scale multiplies weight_decay and l1 for this step (see
// OptimConfig::penalty_in_loss).
template <class T>
struct OptimStep {
  OptimStep(const OptimConfig& c, int64_t step, double penalty_scale = 1.0);
  OptimConfig cfg;
  bool first;  // the first update: SGD's momentum buffer starts as the gradient
  T lr, wd, l1, momentum, one_minus_dampening, lerp1, beta2, one_minus_beta2, eps;
  T step_size, bias_correction2_sqrt, decay_factor, alpha, one_minus_alpha;
};

// Update n parameters p in place from their gradient g (left unchanged); state holds
// optimizer_state_slots(kind) arrays of n values, zero before the first step.
// Elementwise, so threads split the range and the result does not depend on their
// number.
// Update parameters [lo, hi) in place (the loops of optim_update/, one set per ISA), from
// the gradient g, or g + g2 (added in that order, as a halved step's two halves) when g2
// is given.
template <class T>
using UpdateRangeFn = void (*)(const OptimStep<T>& s, T* p, const T* g, const T* g2, T* const* state,
                               int64_t lo, int64_t hi);
// Sum of squares and sum of absolute values of n parameters, in double (the L2 and L1
// penalties); the same bits on every ISA.
struct NormSums {
  double squares = 0, absolute = 0;
};
template <class T>
using NormSumsFn = NormSums (*)(const T* p, int64_t n);
struct OptimUpdateKernels {
  UpdateRangeFn<float> f32;
  UpdateRangeFn<double> f64;
  NormSumsFn<float> norms_f32;
  NormSumsFn<double> norms_f64;
};
// The set for the ISA in use (isa/dispatch.cpp).
const OptimUpdateKernels& optim_update_kernels();

template <class T>
void optimizer_update(const OptimStep<T>& s, T* p, const T* g, T* const* state, int64_t n);
// The same on [lo, hi) only, on the calling thread: for callers that split the
// parameters between their own threads; from g + g2 when g2 is given (UpdateRangeFn).
template <class T>
void optimizer_update_range(const OptimStep<T>& s, T* p, const T* g, const T* g2, T* const* state, int64_t lo,
                            int64_t hi);

// NormSums of p[0, n) with the loop of the ISA in use.
template <class T>
NormSums norm_sums(const T* p, int64_t n);

}  // namespace fastmlp

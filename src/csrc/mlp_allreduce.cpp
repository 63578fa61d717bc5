// The data-parallel training step of Mlp::train_epoch (mlp.hpp, step_allreduce.hpp):
// each process computes the unreduced gradient of its rows, one all-reduce sums the
// gradients with the losses, weights and stop flags of all processes, and every process
// then divides by the global batch's denominator and applies the same update.
#include <algorithm>
#include <cmath>
#include <exception>

#include "mlp.hpp"

namespace fastmlp {

template <class T>
BatchLoss Mlp<T>::allreduce_step(const StepAllreduce<T>& allreduce, const LossSpec& loss, int64_t m,
                                 Input<T> x, Targets<T> target, const RandomKey* dropout_key, int64_t row0,
                                 bool local_stop, bool* stopped) {
  T* const span = param_grads_[0];
  const int64_t count = (step_tail_ + tail_size) - span;
  // Summed, not reduced: only the global batch's weight, known after the all-reduce,
  // gives the mean's denominator.
  const LossSpec summed{loss.kind, Reduction::sum};
  BatchLoss local{0.0, 0.0, 1.0};
  std::exception_ptr error;
  if (!local_stop && m > 0 && (!target.weights || rows_weight(m, target.weights) != 0)) {
    // An error here must still reach the all-reduce that the other processes wait in.
    try {
      local = forward_backward(summed, m, x, target, dropout_key, row0, param_grads_.data(), false);
    } catch (...) {
      error = std::current_exception();
    }
  }
  if (local.weight == 0 || error) std::fill(span, step_tail_, T(0));  // nothing to add
  step_tail_[tail_loss_sum] = T(local.sum);
  step_tail_[tail_weight] = T(local.weight);
  step_tail_[tail_stop] = T(local_stop || error ? 1 : 0);
  allreduce.sum(span, count);
  if (error) std::rethrow_exception(error);
  if (step_tail_[tail_stop] != 0) {
    *stopped = true;
    return {0.0, 0.0, 0.0};
  }
  const double weight = double(step_tail_[tail_weight]);
  if (weight == 0) return {0.0, 0.0, 0.0};
  const double denom =
      loss.reduction == Reduction::mean ? loss_denominator(loss.kind, weight, out_features()) : 1.0;
  const BatchLoss global{double(step_tail_[tail_loss_sum]), weight, denom};
  if (denom != 1.0 && std::isfinite(global.sum)) {
    const T scale = T(1.0 / denom);  // the factor a single process applies to the loss gradient
    for (int64_t p = 0; p < n_params_; ++p) {
      T* g = param_grads_[p];
      for (int64_t i = 0; i < param_sizes_[p]; ++i) g[i] *= scale;
    }
  }
  return global;
}

#define FASTMLP_INSTANTIATE(T)                                                                           \
  template BatchLoss Mlp<T>::allreduce_step(const StepAllreduce<T>&, const LossSpec&, int64_t, Input<T>, \
                                            Targets<T>, const RandomKey*, int64_t, bool, bool*);
FASTMLP_INSTANTIATE(float)
FASTMLP_INSTANTIATE(double)
#undef FASTMLP_INSTANTIATE

}  // namespace fastmlp

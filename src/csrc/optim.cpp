#include "optim.hpp"

#include <cmath>
#include <stdexcept>
#include <type_traits>

#include "isa/dispatch.hpp"
#include "threads.hpp"

namespace fastmlp {

OptimKind parse_optimizer(const std::string& name) {
  if (name == "sgd") return OptimKind::sgd;
  if (name == "adam") return OptimKind::adam;
  if (name == "adamw") return OptimKind::adamw;
  if (name == "rmsprop") return OptimKind::rmsprop;
  throw std::invalid_argument("unknown optimizer '" + name + "' (expected sgd, adam, adamw or rmsprop)");
}

int optimizer_state_slots(OptimKind kind) {
  switch (kind) {
    case OptimKind::sgd:
      return 1;
    case OptimKind::adam:
    case OptimKind::adamw:
      return 2;
    case OptimKind::rmsprop:
      return 3;
  }
  return 0;
}

namespace {

// c with weight_decay and l1 scaled for one step; a zero penalty stays exactly zero.
OptimConfig scaled_penalty(OptimConfig c, double scale) {
  c.weight_decay *= scale;
  c.l1 *= scale;
  return c;
}

}  // namespace

template <class T>
OptimStep<T>::OptimStep(const OptimConfig& config, int64_t step, double penalty_scale)
    : cfg(scaled_penalty(config, penalty_scale)), first(step == 1) {
  const OptimConfig& c = cfg;
  lr = T(c.lr);
  wd = T(c.weight_decay);
  l1 = T(c.l1);
  momentum = T(c.momentum);
  one_minus_dampening = T(1 - c.dampening);
  lerp1 = T(1 - c.beta1);
  beta2 = T(c.beta2);
  one_minus_beta2 = T(1 - c.beta2);
  eps = T(c.eps);
  const double bias_correction1 = 1 - std::pow(c.beta1, double(step));
  const double bias_correction2_root = std::sqrt(1 - std::pow(c.beta2, double(step)));
  if (c.eps_hat) {
    // scikit-learn's AdamOptimizer: the bias corrections in the step size, and the
    // denominator sqrt(v) + eps (dividing by 1 is exact, so the same loop serves).
    step_size = T(c.lr * bias_correction2_root / bias_correction1);
    bias_correction2_sqrt = T(1);
  } else {
    step_size = T(c.lr / bias_correction1);
    bias_correction2_sqrt = T(bias_correction2_root);
  }
  decay_factor = T(1 - c.lr * c.weight_decay);
  alpha = T(c.alpha);
  one_minus_alpha = T(1 - c.alpha);
}

template <class T>
void optimizer_update_range(const OptimStep<T>& s, T* p, const T* g, const T* g2, T* const* state, int64_t lo,
                            int64_t hi) {
  const OptimUpdateKernels& kernels = optim_update_kernels();
  if constexpr (std::is_same_v<T, float>)
    kernels.f32(s, p, g, g2, state, lo, hi);
  else
    kernels.f64(s, p, g, g2, state, lo, hi);
}

template <class T>
void optimizer_update(const OptimStep<T>& s, T* p, const T* g, T* const* state, int64_t n) {
  const int nt = threads_for(n, tuning().optim_params_per_thread);
  parallel_ranges(nt, n, [&](int64_t lo, int64_t hi) {
    optimizer_update_range(s, p, g, static_cast<const T*>(nullptr), state, lo, hi);
  });
}

template <class T>
NormSums norm_sums(const T* p, int64_t n) {
  const OptimUpdateKernels& kernels = optim_update_kernels();
  if constexpr (std::is_same_v<T, float>)
    return kernels.norms_f32(p, n);
  else
    return kernels.norms_f64(p, n);
}

template struct OptimStep<float>;
template struct OptimStep<double>;
template void optimizer_update_range<float>(const OptimStep<float>&, float*, const float*, const float*,
                                            float* const*, int64_t, int64_t);
template void optimizer_update_range<double>(const OptimStep<double>&, double*, const double*, const double*,
                                             double* const*, int64_t, int64_t);
template void optimizer_update<float>(const OptimStep<float>&, float*, const float*, float* const*, int64_t);
template void optimizer_update<double>(const OptimStep<double>&, double*, const double*, double* const*,
                                       int64_t);
template NormSums norm_sums<float>(const float*, int64_t);
template NormSums norm_sums<double>(const double*, int64_t);

}  // namespace fastmlp

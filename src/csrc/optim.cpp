#include "optim.hpp"

#include <cmath>
#include <stdexcept>

#include "threads.hpp"

namespace fastmlp {

OptimKind parse_optimizer(const std::string& name) {
  if (name == "sgd") return OptimKind::sgd;
  if (name == "adam") return OptimKind::adam;
  if (name == "adamw") return OptimKind::adamw;
  if (name == "rmsprop") return OptimKind::rmsprop;
  throw std::invalid_argument("unknown optimizer '" + name +
                              "' (expected sgd, adam, adamw or rmsprop)");
}

int optimizer_state_slots(OptimKind kind) {
  switch (kind) {
    case OptimKind::sgd: return 1;
    case OptimKind::adam:
    case OptimKind::adamw: return 2;
    case OptimKind::rmsprop: return 3;
  }
  return 0;
}

namespace {

constexpr int64_t kParamsPerThread = 1 << 15;

// torch.lerp: start + w (end - start), computed from the nearer end for accuracy.
template <class T>
inline T lerp(T start, T end, T w) {
  return std::abs(w) < T(0.5) ? start + w * (end - start) : end - (end - start) * (T(1) - w);
}

template <class T>
inline T sign(T x) {
  return T((x > 0) - (x < 0));
}

// Calls f(i, g) for i in [lo, hi) with the gradient after the L1 and coupled L2 terms.
template <class T, class F>
inline void for_each_gradient(const OptimStep<T>& s, const T* p, const T* g, int64_t lo, int64_t hi,
                              F&& f) {
  const bool l1 = s.cfg.l1 != 0;
  const bool coupled_decay = s.cfg.weight_decay != 0 && s.cfg.kind != OptimKind::adamw;
  for (int64_t i = lo; i < hi; ++i) {
    T grad = g[i];
    if (l1) grad = grad + s.l1 * sign(p[i]);
    if (coupled_decay) grad = grad + s.wd * p[i];
    f(i, grad);
  }
}

// One loop per optimizer (the switch outside), so that each loop can be vectorised.
template <class T>
void update_range(const OptimStep<T>& s, T* p, const T* g, T* const* st, int64_t lo, int64_t hi) {
  const OptimConfig& c = s.cfg;
  switch (c.kind) {
    case OptimKind::sgd:  // torch.optim.SGD
      if (c.momentum == 0) {
        for_each_gradient(s, p, g, lo, hi, [&](int64_t i, T grad) { p[i] = p[i] + (-s.lr) * grad; });
        return;
      }
      for_each_gradient(s, p, g, lo, hi, [&](int64_t i, T grad) {
        T& buf = st[0][i];
        buf = s.first ? grad : buf * s.momentum + s.one_minus_dampening * grad;
        grad = c.nesterov ? grad + s.momentum * buf : buf;
        p[i] = p[i] + (-s.lr) * grad;
      });
      return;
    case OptimKind::adam:   // torch.optim.Adam
    case OptimKind::adamw:  // torch.optim.AdamW: decoupled decay first
      if (c.kind == OptimKind::adamw && c.weight_decay != 0)
        for (int64_t i = lo; i < hi; ++i) p[i] = p[i] * s.decay_factor;
      for_each_gradient(s, p, g, lo, hi, [&](int64_t i, T grad) {
        T& m = st[0][i];
        T& v = st[1][i];
        m = lerp(m, grad, s.lerp1);
        v = v * s.beta2 + s.one_minus_beta2 * grad * grad;
        const T denom = std::sqrt(v) / s.bias_correction2_sqrt + s.eps;
        p[i] = p[i] + (-s.step_size) * m / denom;
      });
      return;
    case OptimKind::rmsprop:  // torch.optim.RMSprop
      for_each_gradient(s, p, g, lo, hi, [&](int64_t i, T grad) {
        T& sq = st[0][i];
        sq = sq * s.alpha + s.one_minus_alpha * grad * grad;
        T avg;
        if (c.centered) {
          T& ga = st[2][i];
          ga = lerp(ga, grad, s.one_minus_alpha);
          avg = std::sqrt(sq + T(-1) * ga * ga);
        } else {
          avg = std::sqrt(sq);
        }
        avg = avg + s.eps;
        if (c.momentum > 0) {
          T& buf = st[1][i];
          buf = buf * s.momentum + grad / avg;
          p[i] = p[i] + (-s.lr) * buf;
        } else {
          p[i] = p[i] + (-s.lr) * grad / avg;
        }
      });
      return;
  }
}

}  // namespace

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
void optimizer_update(const OptimStep<T>& s, T* p, const T* g, T* const* state, int64_t n) {
  const int nt = threads_for(n, kParamsPerThread);
  parallel(nt, [&](int t, int tn) { update_range(s, p, g, state, n * t / tn, n * (t + 1) / tn); });
}

template struct OptimStep<float>;
template struct OptimStep<double>;
template void optimizer_update<float>(const OptimStep<float>&, float*, const float*, float* const*,
                                      int64_t);
template void optimizer_update<double>(const OptimStep<double>&, double*, const double*,
                                       double* const*, int64_t);

}  // namespace fastmlp

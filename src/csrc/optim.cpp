#include "optim.hpp"

#include <cmath>
#include <stdexcept>
#include <type_traits>

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

// The per-element bodies below are lambdas called from several loop variants; GCC
// would otherwise call them out of line, once per element, and nothing vectorises.
#define FASTMLP_ELEMENT __attribute__((always_inline))

// torch.lerp: start + w (end - start), computed from the nearer end for accuracy.
// Both ends are computed and one selected, so that loops over it stay branch-free
// (and vectorise); `near_start` is |w| < 0.5, the same for every element.
template <class T>
inline T lerp(T start, T end, T w, bool near_start) {
  const T from_start = start + w * (end - start);
  const T from_end = end - (end - start) * (T(1) - w);
  return near_start ? from_start : from_end;
}

template <class T>
inline T sign(T x) {
  return T((x > 0) - (x < 0));
}

// Calls f(i, g) for i in [lo, hi) with the gradient after the L1 and coupled L2 terms.
// The terms a step does not use are compiled out (one loop per combination), so that
// the loop body has no branch and vectorises.
template <class T, class F>
inline void for_each_gradient(const OptimStep<T>& s, const T* p, const T* g, int64_t lo, int64_t hi,
                              F&& f) {
  auto loop = [&](auto l1, auto coupled_decay) FASTMLP_ELEMENT {
    for (int64_t i = lo; i < hi; ++i) {
      T grad = g[i];
      if constexpr (decltype(l1)::value) grad = grad + s.l1 * sign(p[i]);
      if constexpr (decltype(coupled_decay)::value) grad = grad + s.wd * p[i];
      f(i, grad);
    }
  };
  using yes = std::true_type;
  using no = std::false_type;
  const bool l1 = s.cfg.l1 != 0;
  const bool coupled_decay = s.cfg.weight_decay != 0 && s.cfg.kind != OptimKind::adamw;
  if (l1 && coupled_decay) loop(yes{}, yes{});
  else if (l1) loop(yes{}, no{});
  else if (coupled_decay) loop(no{}, yes{});
  else loop(no{}, no{});
}

// One loop per optimizer (the switch outside), so that each loop can be vectorised.
template <class T>
void update_range(const OptimStep<T>& step, T* p, const T* g, T* const* st, int64_t lo, int64_t hi) {
  // Local copies: the compiler then knows that stores to p and the state cannot
  // change them, and keeps them in registers (vectorised loops).
  const OptimStep<T> s = step;
  const OptimConfig& c = s.cfg;
  T* const s0 = st[0];
  T* const s1 = optimizer_state_slots(c.kind) > 1 ? st[1] : nullptr;
  T* const s2 = optimizer_state_slots(c.kind) > 2 ? st[2] : nullptr;
  const bool lerp1_near_start = std::abs(s.lerp1) < T(0.5);
  const bool one_minus_alpha_near_start = std::abs(s.one_minus_alpha) < T(0.5);
  switch (c.kind) {
    case OptimKind::sgd:  // torch.optim.SGD
      if (c.momentum == 0) {
        for_each_gradient(s, p, g, lo, hi, [&](int64_t i, T grad) FASTMLP_ELEMENT { p[i] = p[i] + (-s.lr) * grad; });
        return;
      }
      for_each_gradient(s, p, g, lo, hi, [&](int64_t i, T grad) FASTMLP_ELEMENT {
        T& buf = s0[i];
        buf = s.first ? grad : buf * s.momentum + s.one_minus_dampening * grad;
        grad = c.nesterov ? grad + s.momentum * buf : buf;
        p[i] = p[i] + (-s.lr) * grad;
      });
      return;
    case OptimKind::adam:   // torch.optim.Adam
    case OptimKind::adamw:  // torch.optim.AdamW: decoupled decay first
      if (c.kind == OptimKind::adamw && c.weight_decay != 0)
        for (int64_t i = lo; i < hi; ++i) p[i] = p[i] * s.decay_factor;
      {
        auto adam = [&](auto eps_hat) FASTMLP_ELEMENT {
          for_each_gradient(s, p, g, lo, hi, [&](int64_t i, T grad) FASTMLP_ELEMENT {
            T& m = s0[i];
            T& v = s1[i];
            m = lerp(m, grad, s.lerp1, lerp1_near_start);
            v = v * s.beta2 + s.one_minus_beta2 * grad * grad;
            // eps_hat: sklearn's sqrt(v) + eps (bias_correction2_sqrt is 1 then: the
            // division, exact anyway, is left out).
            T denom;
            if constexpr (decltype(eps_hat)::value) denom = std::sqrt(v) + s.eps;
            else denom = std::sqrt(v) / s.bias_correction2_sqrt + s.eps;
            p[i] = p[i] + (-s.step_size) * m / denom;
          });
        };
        if (c.eps_hat) adam(std::true_type{});
        else adam(std::false_type{});
      }
      return;
    case OptimKind::rmsprop:  // torch.optim.RMSprop
      for_each_gradient(s, p, g, lo, hi, [&](int64_t i, T grad) FASTMLP_ELEMENT {
        T& sq = s0[i];
        sq = sq * s.alpha + s.one_minus_alpha * grad * grad;
        T avg;
        if (c.centered) {
          T& ga = s2[i];
          ga = lerp(ga, grad, s.one_minus_alpha, one_minus_alpha_near_start);
          avg = std::sqrt(sq + T(-1) * ga * ga);
        } else {
          avg = std::sqrt(sq);
        }
        avg = avg + s.eps;
        if (c.momentum > 0) {
          T& buf = s1[i];
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

#undef FASTMLP_ELEMENT

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

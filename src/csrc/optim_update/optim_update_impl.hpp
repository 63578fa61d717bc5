// The optimizer update loops (torch.optim's formulas, operation for operation), written
// once: include only from isa/<name>/config.cpp, where the ISA's flags vectorize them.
// Everything here has internal linkage and uses no std:: function templates, so no
// instance compiled for one ISA can be merged into another's (see elementwise/vmath.hpp).
// No FMA contraction (-ffp-contract=off), so every ISA computes the same bits.
#pragma once
#include <cstdint>
#include <type_traits>

#include "optim.hpp"

namespace fastmlp {
namespace {

template <class T>
inline T root(T x) {
  if constexpr (std::is_same_v<T, float>)
    return __builtin_sqrtf(x);
  else
    return __builtin_sqrt(x);
}

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

// Calls f(i, g) for i in [lo, hi) with the gradient (g, or g + g2) after the L1 and
// coupled L2 terms. The terms a step does not use are compiled out (one loop per
// combination), so that the loop body has no branch and vectorises.
template <class T, class F>
inline void for_each_gradient(const OptimStep<T>& s, const T* p, const T* g, const T* g2, int64_t lo,
                              int64_t hi, F&& f) {
  auto loop = [&](auto l1, auto coupled_decay, auto halves) FASTMLP_ELEMENT {
    for (int64_t i = lo; i < hi; ++i) {
      T grad = g[i];
      if constexpr (decltype(halves)::value) grad = grad + g2[i];
      if constexpr (decltype(l1)::value) grad = grad + s.l1 * sign(p[i]);
      if constexpr (decltype(coupled_decay)::value) grad = grad + s.wd * p[i];
      f(i, grad);
    }
  };
  using yes = std::true_type;
  using no = std::false_type;
  const bool l1 = s.cfg.l1 != 0;
  const bool coupled_decay = s.cfg.weight_decay != 0 && s.cfg.kind != OptimKind::adamw;
  auto with_terms = [&](auto halves) FASTMLP_ELEMENT {
    if (l1 && coupled_decay)
      loop(yes{}, yes{}, halves);
    else if (l1)
      loop(yes{}, no{}, halves);
    else if (coupled_decay)
      loop(no{}, yes{}, halves);
    else
      loop(no{}, no{}, halves);
  };
  if (g2)
    with_terms(yes{});
  else
    with_terms(no{});
}

// One loop per optimizer (the switch outside), so that each loop can be vectorised.
template <class T>
void update_range(const OptimStep<T>& step, T* p, const T* g, const T* g2, T* const* st, int64_t lo,
                  int64_t hi) {
  // Local copies: the compiler then knows that stores to p and the state cannot
  // change them, and keeps them in registers (vectorised loops).
  const OptimStep<T> s = step;
  const OptimConfig& c = s.cfg;
  T* const s0 = st[0];
  T* const s1 = optimizer_state_slots(c.kind) > 1 ? st[1] : nullptr;
  T* const s2 = optimizer_state_slots(c.kind) > 2 ? st[2] : nullptr;
  const bool lerp1_near_start = (s.lerp1 < 0 ? -s.lerp1 : s.lerp1) < T(0.5);
  const bool one_minus_alpha_near_start =
      (s.one_minus_alpha < 0 ? -s.one_minus_alpha : s.one_minus_alpha) < T(0.5);
  switch (c.kind) {
    case OptimKind::sgd:  // torch.optim.SGD
      if (c.momentum == 0) {
        for_each_gradient(s, p, g, g2, lo, hi,
                          [&](int64_t i, T grad) FASTMLP_ELEMENT { p[i] = p[i] + (-s.lr) * grad; });
        return;
      }
      for_each_gradient(s, p, g, g2, lo, hi, [&](int64_t i, T grad) FASTMLP_ELEMENT {
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
          for_each_gradient(s, p, g, g2, lo, hi, [&](int64_t i, T grad) FASTMLP_ELEMENT {
            T& m = s0[i];
            T& v = s1[i];
            m = lerp(m, grad, s.lerp1, lerp1_near_start);
            v = v * s.beta2 + s.one_minus_beta2 * grad * grad;
            // eps_hat: sklearn's sqrt(v) + eps (bias_correction2_sqrt is 1 then: the
            // division, exact anyway, is left out).
            T denom;
            if constexpr (decltype(eps_hat)::value)
              denom = root(v) + s.eps;
            else
              denom = root(v) / s.bias_correction2_sqrt + s.eps;
            p[i] = p[i] + (-s.step_size) * m / denom;
          });
        };
        if (c.eps_hat)
          adam(std::true_type{});
        else
          adam(std::false_type{});
      }
      return;
    case OptimKind::rmsprop:  // torch.optim.RMSprop
      for_each_gradient(s, p, g, g2, lo, hi, [&](int64_t i, T grad) FASTMLP_ELEMENT {
        T& sq = s0[i];
        sq = sq * s.alpha + s.one_minus_alpha * grad * grad;
        T avg;
        if (c.centered) {
          T& ga = s2[i];
          ga = lerp(ga, grad, s.one_minus_alpha, one_minus_alpha_near_start);
          avg = root(sq + T(-1) * ga * ga);
        } else {
          avg = root(sq);
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

// Eight interleaved partial sums (one AVX-512 vector of doubles, two AVX2 ones: written
// as a vector type because GCC turns the equivalent scalar loop into shuffles) combined in
// a fixed order: without FMA contraction, the same bits on every ISA.
template <class T>
NormSums norm_sums_loop(const T* p, int64_t n) {
  constexpr int kLanes = 8;
  typedef double lanes __attribute__((vector_size(kLanes * sizeof(double))));
  typedef T chunk __attribute__((vector_size(kLanes * sizeof(T))));
  lanes sq = {}, abs = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    chunk c;
    __builtin_memcpy(&c, p + i, sizeof c);  // an unaligned load
    const lanes v = __builtin_convertvector(c, lanes);
    sq = sq + v * v;
    abs = abs + (v < 0 ? -v : v);
  }
  for (int j = 0; i < n; ++i, ++j) {
    const double v = double(p[i]);
    sq[j] = sq[j] + v * v;
    abs[j] = abs[j] + __builtin_fabs(v);
  }
  for (int width = kLanes / 2; width > 0; width /= 2)  // pairwise: lane j += lane j + width
    for (int j = 0; j < width; ++j) {
      sq[j] = sq[j] + sq[j + width];
      abs[j] = abs[j] + abs[j + width];
    }
  return {sq[0], abs[0]};
}

#undef FASTMLP_ELEMENT

}  // namespace

constexpr OptimUpdateKernels make_optim_update_kernels() {
  return {&update_range<float>, &update_range<double>, &norm_sums_loop<float>, &norm_sums_loop<double>};
}

}  // namespace fastmlp

#include "loss.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace fastmlp {

LossKind parse_loss(const std::string& name) {
  if (name == "mse") return LossKind::mse;
  if (name == "cross_entropy") return LossKind::cross_entropy;
  if (name == "bce") return LossKind::bce;
  if (name == "poisson") return LossKind::poisson;
  throw std::invalid_argument("unknown loss '" + name + "' (expected mse, cross_entropy, bce or poisson)");
}

Reduction parse_reduction(const std::string& name) {
  if (name == "mean") return Reduction::mean;
  if (name == "sum") return Reduction::sum;
  throw std::invalid_argument("unknown reduction '" + name + "' (expected mean or sum)");
}

template <class T>
double rows_weight(int64_t m, const T* weights) {
  if (!weights) return double(m);
  double s = 0;
  for (int64_t i = 0; i < m; ++i) s += double(weights[i]);
  return s;
}

double loss_denominator(LossKind kind, double weight, int64_t n) {
  // As PyTorch: cross-entropy averages over samples, the elementwise losses over elements.
  return kind == LossKind::cross_entropy ? weight : weight * double(n);
}

namespace {

template <class T>
double mse_row(const T* out, const T* t, T* grad, T scale, int64_t n) {
  double s = 0;
  for (int64_t j = 0; j < n; ++j) {
    const T d = out[j] - t[j];
    s += double(d * d);
    if (grad) grad[j] = (T(2) * scale) * d;  // as torch: (2 / N) * (x - y)
  }
  return s;
}

// -log softmax(out)[target], with softmax(out) - target as its gradient; target is a
// label (one-hot) or a probability row.
// The gradient row first holds exp(out - max), so that each exp is computed once; the
// softmax is then exp(out - max) / sum.
template <class T>
double cross_entropy_row(const T* out, Targets<T> t, int64_t i, T* grad, T scale, int64_t n,
                         int64_t row_number) {
  T mx = out[0];
  for (int64_t j = 1; j < n; ++j) mx = std::max(mx, out[j]);
  T sum = 0;
  if (grad) {
    for (int64_t j = 0; j < n; ++j) {
      grad[j] = std::exp(out[j] - mx);
      sum += grad[j];
    }
  } else {
    for (int64_t j = 0; j < n; ++j) sum += std::exp(out[j] - mx);
  }
  const T lse = mx + std::log(sum);
  const T inv_sum = T(1) / sum;
  if (t.labels) {
    const int64_t c = t.labels[i];
    if (c < 0 || c >= n)
      throw std::out_of_range("label " + std::to_string(c) + " of row " + std::to_string(row_number) +
                              " is outside [0, " + std::to_string(n) + ")");
    if (grad) {
      for (int64_t j = 0; j < n; ++j) grad[j] = grad[j] * inv_sum * scale;
      grad[c] -= scale;
    }
    return double(lse - out[c]);
  }
  const T* p = t.values + i * n;
  double s = 0;
  T mass = 0;
  for (int64_t j = 0; j < n; ++j) {
    s -= double(p[j] * (out[j] - lse));
    mass += p[j];
  }
  if (grad)
    for (int64_t j = 0; j < n; ++j) grad[j] = (mass * (grad[j] * inv_sum) - p[j]) * scale;
  return s;
}

// max(x, 0) - x t + log(1 + exp(-|x|)): never exponentiates a positive number.
template <class T>
double bce_row(const T* out, const T* t, T* grad, T scale, int64_t n) {
  double s = 0;
  for (int64_t j = 0; j < n; ++j) {
    const T x = out[j];
    const T e = std::exp(-std::abs(x));
    s += double(std::max(x, T(0)) - x * t[j] + std::log1p(e));
    if (grad) {
      const T sig = x >= 0 ? T(1) / (T(1) + e) : e / (T(1) + e);
      grad[j] = (sig - t[j]) * scale;
    }
  }
  return s;
}

// Half Poisson deviance of the rate exp(x) against a count t >= 0:
// exp(x) - t x + (t log t - t), with t log t = 0 at t = 0; gradient exp(x) - t.
// The term in parentheses does not depend on x (no gradient), computed in double.
template <class T>
double poisson_row(const T* out, const T* t, T* grad, T scale, int64_t n) {
  double s = 0;
  for (int64_t j = 0; j < n; ++j) {
    const T rate = std::exp(out[j]);
    const double tj = double(t[j]);
    s += double(rate - t[j] * out[j]) + (tj > 0 ? tj * std::log(tj) - tj : -tj);
    if (grad) grad[j] = (rate - t[j]) * scale;
  }
  return s;
}

}  // namespace

template <class T>
double loss_sum(LossKind kind, int64_t m, int64_t n, const T* output, Targets<T> target, T* grad,
                T grad_scale, int64_t first_row) {
  double total = 0;
  for (int64_t i = 0; i < m; ++i) {
    const T* out = output + i * n;
    T* g = grad ? grad + i * n : nullptr;
    // The weight scales the row's gradient through its scale (exactly grad_scale for
    // a unit weight, so unit weights train bit-identically to no weights).
    const T w = target.weights ? target.weights[i] : T(1);
    const T scale = grad_scale * w;
    double row = 0;
    switch (kind) {
      case LossKind::mse:
        row = mse_row(out, target.values + i * n, g, scale, n);
        break;
      case LossKind::cross_entropy:
        row = cross_entropy_row(out, target, i, g, scale, n, first_row + i);
        break;
      case LossKind::bce:
        row = bce_row(out, target.values + i * n, g, scale, n);
        break;
      case LossKind::poisson:
        row = poisson_row(out, target.values + i * n, g, scale, n);
        break;
    }
    // A zero weight removes the row even if its loss is not finite (as a repeated-rows
    // count of 0 would).
    if (target.weights) row = w == T(0) ? 0.0 : row * double(w);
    total += row;
  }
  return total;
}

template double rows_weight<float>(int64_t, const float*);
template double rows_weight<double>(int64_t, const double*);
template double loss_sum<float>(LossKind, int64_t, int64_t, const float*, Targets<float>, float*, float,
                                int64_t);
template double loss_sum<double>(LossKind, int64_t, int64_t, const double*, Targets<double>, double*, double,
                                 int64_t);

}  // namespace fastmlp

#include "mlp.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include "activations.hpp"
#include "dense.hpp"
#include "rng.hpp"
#include "small_dense.hpp"
#include "threads.hpp"

namespace fastmlp {
namespace {

// Rows per pass of predict/evaluate: bounds the workspace, not the GEMM efficiency.
constexpr int64_t kInferenceRows = 2048;

// Forward multiply-adds of a training step below which the whole step runs on the calling
// thread. Its ops then take microseconds each, and one split across cores must first move
// the weights and activations that the ops before it (the last update, the layer below)
// left in this core's cache. Measured with the scikit-learn estimators on 2 cores, float32:
// digits 64-100-10 at batch 16-128 and diabetes 10-64-64-1 at batch 16-200 train 4-25%
// faster on one thread; 64-256-256-10 at batch 16 (1.3M) gains 7% from the second.
constexpr int64_t kThreadedStepMadds = int64_t(1) << 20;

template <class T>
Targets<T> rows_from(Targets<T> t, int64_t row0, int64_t width) {
  if (t.values) t.values += row0 * width;
  if (t.labels) t.labels += row0;
  if (t.weights) t.weights += row0;
  return t;
}

// A row copy that stays inline for the tiny rows of small networks, where a memcpy
// call would cost more than the copy.
template <class T>
inline void copy_row(const T* src, int64_t n, T* dst) {
  if (n > 16) {
    std::memcpy(dst, src, sizeof(T) * n);
    return;
  }
  for (int64_t c = 0; c < n; ++c) dst[c] = src[c];
}

template <class T>
MatView<T> rows_of(MatView<T> x, int64_t row0) {
  return {x.ptr + row0 * x.rs, x.rs, x.cs};
}

}  // namespace

template <class T>
Mlp<T>::Mlp(std::vector<LayerRef<T>> layers, T negative_slope, double dropout)
    : layers_(std::move(layers)), slope_(negative_slope), dropout_(dropout) {
  if (layers_.empty()) throw std::invalid_argument("an MLP needs at least one layer");
  for (size_t l = 1; l < layers_.size(); ++l)
    if (layers_[l].in != layers_[l - 1].out)
      throw std::invalid_argument("layer " + std::to_string(l) + " does not take the output of layer " +
                                  std::to_string(l - 1));
  n_params_ = 0;
  weights_ = 0;
  for (const auto& l : layers_) {
    n_params_ += l.bias ? 2 : 1;
    weights_ += l.out * l.in;
  }
  const size_t n = layers_.size();
  act_.assign(n, nullptr);
  pre_.assign(n, nullptr);
  mask_.assign(n, nullptr);
  dropped_.assign(n, nullptr);
  param_grads_.assign(n_params_, nullptr);
}

template <class T>
bool Mlp<T>::needs_pre(const LayerRef<T>& l) const {
  return backward_needs_pre_activation(l.act, double(slope_));
}

template <class T>
int Mlp<T>::step_thread_cap(int64_t m) const {
  return m * weights_ < kThreadedStepMadds ? 1 : 0;
}

template <class T>
void Mlp<T>::reserve(int64_t m, bool training) {
  if (m <= capacity_rows_ && (!training || capacity_training_)) return;
  m = std::max(m, capacity_rows_);
  training = training || capacity_training_;
  // Two passes over the same layout: the first measures, the second hands out pointers.
  T* base = nullptr;
  size_t used = 0;
  auto take = [&](int64_t count) -> T* {
    T* p = base ? base + used : nullptr;
    used += round_up(count, 64 / sizeof(T));  // every buffer on its own cache lines
    return p;
  };
  for (int pass = 0; pass < 2; ++pass) {
    used = 0;
    int64_t widest = 0;
    for (size_t l = 0; l < layers_.size(); ++l) {
      const LayerRef<T>& L = layers_[l];
      const bool hidden = l + 1 < layers_.size();
      widest = std::max(widest, L.out);
      act_[l] = take(m * L.out);
      pre_[l] = training && needs_pre(L) ? take(m * L.out) : nullptr;
      const bool drop = training && hidden && dropout_ > 0;
      mask_[l] = drop ? take(m * L.out) : nullptr;
      dropped_[l] = drop ? take(m * L.out) : nullptr;
    }
    grad_a_ = take(m * widest);
    grad_b_ = take(m * widest);
    grad_pre_ = training ? take(m * widest) : nullptr;
    grad_out_ = take(m * out_features());
    batch_x_ = take(m * in_features());
    batch_t_ = take(m * out_features());
    batch_w_ = take(m);
    size_t i = 0;
    for (const LayerRef<T>& L : layers_) {
      param_grads_[i++] = training ? take(L.out * L.in) : nullptr;
      if (L.bias) param_grads_[i++] = training ? take(L.out) : nullptr;
    }
    if (pass == 0) base = arena_.get<T>(used);
  }
  batch_labels_.resize(m);
  capacity_rows_ = m;
  capacity_training_ = training;
}

template <class T>
void Mlp<T>::forward(int64_t m, MatView<T> x, bool keep_pre, const RandomKey* dropout_key,
                     int64_t row0) {
  dropout_applied_ = dropout_key != nullptr && dropout_ > 0;
  MatView<T> in = x;
  for (size_t l = 0; l < layers_.size(); ++l) {
    const LayerRef<T>& L = layers_[l];
    T* pre = keep_pre ? pre_[l] : nullptr;
    if (use_small_dense(m, L.out, L.in))
      small_dense_forward<T>(m, L.out, L.in, in, L.weight, L.bias, L.act, slope_, act_[l], pre);
    else
      dense_forward<T>(m, L.out, L.in, in, MatView<T>{L.weight, L.in, 1}, L.bias, 1, L.act, slope_,
                       act_[l], pre);
    const T* next = act_[l];
    if (dropout_applied_ && mask_[l]) {
      // Inverted dropout as torch.nn.Dropout: keep with probability 1 - p, scale by
      // 1 / (1 - p). Keyed by the row's position in the epoch, so masks do not depend
      // on threads or batch boundaries.
      const CounterRng rng(dropout_key->seed, RngStream::dropout, dropout_key->pass, l);
      const T keep_scale = T(1) / T(1 - dropout_);
      const int64_t count = m * L.out;
      const uint64_t first = uint64_t(row0) * uint64_t(L.out);
      for (int64_t i = 0; i < count; ++i) {
        mask_[l][i] = rng.uniform(first + i) >= dropout_ ? keep_scale : T(0);
        dropped_[l][i] = act_[l][i] * mask_[l][i];
      }
      next = dropped_[l];
    }
    in = MatView<T>{next, L.out, 1};
  }
}

template <class T>
BatchLoss Mlp<T>::loss_gradient(const LossSpec& loss, int64_t m, Targets<T> target) {
  const int64_t n = out_features();
  const double weight = rows_weight(m, target.weights);
  if (weight == 0) return {0.0, 0.0, 0.0};
  const double denom =
      loss.reduction == Reduction::mean ? loss_denominator(loss.kind, weight, n) : 1.0;
  return {loss_sum(loss.kind, m, n, act_.back(), target, grad_out_, T(1.0 / denom)), weight, denom};
}

template <class T>
void Mlp<T>::backward(int64_t m, MatView<T> x, T* const* grads) {
  const T* grad_y = grad_out_;
  int64_t p = n_params_;
  for (size_t l = layers_.size(); l-- > 0;) {
    const LayerRef<T>& L = layers_[l];
    T* grad_b = L.bias ? grads[--p] : nullptr;
    T* grad_w = grads[--p];
    const bool first = l == 0;
    T* grad_x = first ? nullptr : (grad_y == grad_a_ ? grad_b_ : grad_a_);
    const bool dropped = !first && dropout_applied_ && mask_[l - 1];
    const MatView<T> in = first ? x : MatView<T>{dropped ? dropped_[l - 1] : act_[l - 1], L.in, 1};
    if (use_small_dense(m, L.out, L.in))
      small_dense_backward<T>(m, L.out, L.in, grad_y, in, L.weight, act_[l], pre_[l], L.act, slope_,
                              grad_pre_, grad_x, grad_w, grad_b);
    else
      dense_backward<T>(m, L.out, L.in, grad_y, in, MatView<T>{L.weight, L.in, 1}, act_[l],
                        pre_[l], L.act, slope_, grad_x, grad_w, grad_b);
    if (dropped) {  // through the dropout of the layer below
      const int64_t count = m * L.in;
      for (int64_t i = 0; i < count; ++i) grad_x[i] *= mask_[l - 1][i];
    }
    grad_y = grad_x;
  }
}

template <class T>
void Mlp<T>::apply_optimizer(OptimState<T>& opt, const BatchLoss& batch) {
  const double penalty_scale = opt.config.penalty_in_loss ? 1.0 / batch.denominator : 1.0;
  const OptimStep<T> step(opt.config, ++opt.step, penalty_scale);
  const OptimStep<T> bias_step(bias_config(opt.config), opt.step, penalty_scale);
  int64_t p = 0;
  for (const LayerRef<T>& L : layers_) {
    optimizer_update(step, L.weight, param_grads_[p], opt.state[p].data(), L.out * L.in);
    ++p;
    if (L.bias) {
      optimizer_update(bias_step, L.bias, param_grads_[p], opt.state[p].data(), L.out);
      ++p;
    }
  }
}

template <class T>
double Mlp<T>::penalty(const OptimConfig& config) const {
  auto of = [](const OptimConfig& c, const T* p, int64_t n) {
    if (c.weight_decay == 0 && c.l1 == 0) return 0.0;
    const NormSums sums = norm_sums(p, n);
    return 0.5 * c.weight_decay * sums.squares + c.l1 * sums.absolute;
  };
  const OptimConfig bias = bias_config(config);
  double total = 0;
  for (const LayerRef<T>& L : layers_) {
    total += of(config, L.weight, L.out * L.in);
    if (L.bias) total += of(bias, L.bias, L.out);
  }
  return total;
}

template <class T>
void Mlp<T>::predict(int64_t m, MatView<T> x, T* y) {
  const int64_t n = out_features();
  for (int64_t r0 = 0; r0 < m; r0 += kInferenceRows) {
    const int64_t rows = std::min(kInferenceRows, m - r0);
    reserve(rows, false);
    forward(rows, rows_of(x, r0), false, nullptr, 0);
    std::memcpy(y + r0 * n, act_.back(), sizeof(T) * rows * n);
  }
}

template <class T>
double Mlp<T>::evaluate(LossKind kind, int64_t m, MatView<T> x, Targets<T> target) {
  const int64_t n = out_features();
  double total = 0;
  for (int64_t r0 = 0; r0 < m; r0 += kInferenceRows) {
    const int64_t rows = std::min(kInferenceRows, m - r0);
    reserve(rows, false);
    forward(rows, rows_of(x, r0), false, nullptr, 0);
    total += loss_sum<T>(kind, rows, n, act_.back(), rows_from(target, r0, n), nullptr, T(1));
  }
  return total;
}

template <class T>
double Mlp<T>::loss_and_grads(const LossSpec& loss, int64_t m, MatView<T> x, Targets<T> target,
                              T* const* grads) {
  const ThreadCap cap(step_thread_cap(m));
  reserve(m, true);
  forward(m, x, true, nullptr, 0);
  const BatchLoss b = loss_gradient(loss, m, target);
  if (b.denominator == 0) throw std::invalid_argument("sample_weight sums to zero: no loss to differentiate");
  backward(m, x, grads);
  return b.reduced();
}

template <class T>
double Mlp<T>::train_step(const LossSpec& loss, OptimState<T>& opt, int64_t m, MatView<T> x,
                          Targets<T> target, RandomKey key) {
  const ThreadCap cap(step_thread_cap(m));
  reserve(m, true);
  forward(m, x, true, &key, 0);
  const BatchLoss b = loss_gradient(loss, m, target);
  if (b.denominator == 0) throw std::invalid_argument("sample_weight sums to zero: no loss to train on");
  if (std::isfinite(b.sum)) {
    backward(m, x, param_grads_.data());
    apply_optimizer(opt, b);
  }
  return b.reduced();
}

template <class T>
EpochResult Mlp<T>::train_epoch(const LossSpec& loss, OptimState<T>& opt, int64_t n, const T* x,
                                Targets<T> target, int64_t batch_size, bool shuffle,
                                RandomKey key) {
  const int64_t in = in_features(), width = out_features();
  const ThreadCap cap(step_thread_cap(std::min(batch_size, n)));
  reserve(std::min(batch_size, n), true);
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), int64_t(0));
  if (shuffle) {  // Fisher-Yates, the i-th swap drawn from counter i
    const CounterRng rng(key.seed, RngStream::shuffle, key.pass);
    for (int64_t i = n - 1; i > 0; --i) std::swap(order_[i], order_[rng.below(i, i + 1)]);
  }
  EpochResult result;
  const int64_t n_batches = (n + batch_size - 1) / batch_size;
  result.batch_loss.reserve(n_batches);
  result.batch_weight.reserve(n_batches);
  result.batch_penalty.reserve(n_batches);
  for (int64_t start = 0; start < n; start += batch_size) {
    const int64_t m = std::min(batch_size, n - start);
    MatView<T> xb{x + start * in, in, 1};
    Targets<T> tb = rows_from(target, start, width);
    if (shuffle) {  // gather the batch's rows; GEMM packing then reads them contiguously
      for (int64_t r = 0; r < m; ++r) {
        const int64_t src = order_[start + r];
        copy_row(x + src * in, in, batch_x_ + r * in);
        if (target.values) copy_row(target.values + src * width, width, batch_t_ + r * width);
        if (target.labels) batch_labels_[r] = target.labels[src];
        if (target.weights) batch_w_[r] = target.weights[src];
      }
      xb = MatView<T>{batch_x_, in, 1};
      tb = Targets<T>{target.values ? batch_t_ : nullptr, target.labels ? batch_labels_.data() : nullptr,
                      target.weights ? batch_w_ : nullptr};
    }
    if (target.weights && rows_weight(m, tb.weights) == 0) {  // no sample in this batch: skip it
      result.batch_loss.push_back(0.0);
      result.batch_weight.push_back(0.0);
      result.batch_penalty.push_back(0.0);
      result.rows += m;
      continue;
    }
    forward(m, xb, true, dropout_ > 0 ? &key : nullptr, start);
    const BatchLoss b = loss_gradient(loss, m, tb);
    if (!std::isfinite(b.sum)) {
      result.finite = false;
      break;
    }
    backward(m, xb, param_grads_.data());
    result.batch_penalty.push_back(opt.config.penalty_in_loss ? penalty(opt.config) / b.denominator : 0.0);
    apply_optimizer(opt, b);
    result.loss_sum += b.sum;
    result.weight += b.weight;
    result.batch_loss.push_back(b.reduced());
    result.batch_weight.push_back(b.weight);
    result.rows += m;
  }
  return result;
}

template class Mlp<float>;
template class Mlp<double>;

}  // namespace fastmlp

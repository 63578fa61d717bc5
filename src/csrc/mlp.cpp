#include "mlp.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <numeric>
#include <optional>
#include <stdexcept>

#include "activations.hpp"
#include "dense.hpp"
#include "isa/dispatch.hpp"
#include "rng.hpp"
#include "small_dense.hpp"
#include "sparse/csr_dense.hpp"
#include "threads.hpp"

namespace fastmlp {
namespace {

// How a training step uses threads, by its forward multiply-adds (batch rows x weights),
// with the thresholds of isa/tuning.hpp:
// - below threaded_step_madds (float64 ones counting twice; short_step_madds for steps
//   of fewer than short_step_rows rows), all of it on the calling thread. Its ops take
//   microseconds each, and splitting one across cores first moves the weights and
//   activations that the ops before it left in one core's cache: such steps were 4-25%
//   slower on two threads than on one;
// - up to halved_step_madds, as two fixed halves of its rows, each propagated forward
//   and backward on one thread, their gradients then added in order and the optimizer
//   update made, the threads sharing its chunks (below): one OpenMP region per step
//   instead of one per op, whose ops at these sizes gained little from a second thread.
//   (Fixed halves, whatever the thread count, keep results thread-independent; one
//   thread runs them one after the other, 0-10% slower than unhalved.)
// - above, each op threaded on its own (a whole step's work is then large enough to
//   spread over any number of cores). Halves use two threads at most, so on a CPU with
//   more cores the halved range costs more than it did on the two cores it was measured
//   on; it is kept as small as those measurements allow.
// predict and evaluate run inference_rows rows per pass, which bounds their workspace.

// A halved step's update runs over the parameter arrays end to end in chunks of
// kUpdateChunk values. Each thread owns half of the chunks; the one whose half of the
// batch finished first takes kUpdateSteal chunks at a time from the back of the other's
// (about half a microsecond of Adam on a Zen 4) instead of waiting for it. The update is
// elementwise: the same bits whoever makes it. The halves' passes differ by 10-30 us a
// step on this VM (2-256-256-256-1 Adam b128: 590 us a step). Zen 4, 2 threads, five
// A/B runs of 5-8 alternating processes each, best per run: that epoch 73.1-74.0 ->
// 72.5-72.9 ms (0.3-2.0% faster in all five); scikit-learn's digits fits in float64
// (64-100-10 at batch 32 and 200, 64-256-128-10 at batch 64) level, within +-3%.
constexpr int64_t kUpdateChunk = 256, kUpdateSteal = 4;

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
  widest_ = 0;
  for (const auto& l : layers_) {
    n_params_ += l.bias ? 2 : 1;
    weights_ += l.out * l.in;
    widest_ = std::max(widest_, l.out);
  }
  const size_t n = layers_.size();
  act_.assign(n, nullptr);
  pre_.assign(n, nullptr);
  mask_.assign(n, nullptr);
  dropped_.assign(n, nullptr);
  param_grads_.assign(n_params_, nullptr);
  half_grads_.assign(n_params_, nullptr);
  for (auto& half : norm_halves_) half.assign(n_params_, NormSums{});
  // Each array starts on a whole line of values, as the arrays do in memory (_aligned.py):
  // chunk boundaries then never split a line between two threads.
  constexpr int64_t line = 64 / sizeof(T);
  param_starts_.push_back(0);
  for (const auto& l : layers_) {
    params_.push_back(l.weight);
    param_sizes_.push_back(l.out * l.in);
    param_is_bias_.push_back(false);
    param_starts_.push_back(round_up(param_starts_.back() + l.out * l.in, line));
    if (!l.bias) continue;
    params_.push_back(l.bias);
    param_sizes_.push_back(l.out);
    param_is_bias_.push_back(true);
    param_starts_.push_back(round_up(param_starts_.back() + l.out, line));
  }
}

template <class T>
bool Mlp<T>::needs_pre(const LayerRef<T>& l) const {
  return backward_needs_pre_activation(l.act, double(slope_));
}

template <class T>
int Mlp<T>::step_thread_cap(int64_t m) const {
  // A float64 multiply-add takes a float32 one's time twice (half the lanes): the work
  // that pays a second thread is in float32 multiply-adds (tuning.hpp).
  const Tuning& t = tuning();
  const int64_t bound = m < t.short_step_rows ? t.short_step_madds : t.threaded_step_madds;
  return m * weights_ * int64_t(sizeof(T) / sizeof(float)) < bound ? 1 : 0;
}

template <class T>
bool Mlp<T>::halved_step(int64_t m) const {
  return m >= 2 && step_thread_cap(m) == 0 && m * weights_ < tuning().halved_step_madds;
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
    for (size_t l = 0; l < layers_.size(); ++l) {
      const LayerRef<T>& L = layers_[l];
      const bool hidden = l + 1 < layers_.size();
      act_[l] = take(m * L.out);
      pre_[l] = training && needs_pre(L) ? take(m * L.out) : nullptr;
      const bool drop = training && hidden && dropout_ > 0;
      mask_[l] = drop ? take(m * L.out) : nullptr;
      dropped_[l] = drop ? take(m * L.out) : nullptr;
    }
    grad_a_ = take(m * widest_);
    grad_b_ = take(m * widest_);
    grad_pre_ = training ? take(m * widest_) : nullptr;
    grad_out_ = take(m * out_features());
    batch_t_ = take(m * out_features());
    batch_w_ = take(m);
    // The gradients, then the step tail, in one span: a data-parallel step sums it with
    // one all-reduce (step_allreduce.hpp).
    for (int64_t p = 0; p < n_params_; ++p) param_grads_[p] = training ? take(param_sizes_[p]) : nullptr;
    step_tail_ = training ? take(tail_size) : nullptr;
    for (int64_t p = 0; p < n_params_; ++p) half_grads_[p] = training ? take(param_sizes_[p]) : nullptr;
    if (pass == 0) base = arena_.get<T>(used);
  }
  if (training)  // the padding between gradients is summed too: zeros, not garbage
    std::fill(param_grads_[0], step_tail_ + tail_size, T(0));
  batch_labels_.resize(m);
  capacity_rows_ = m;
  capacity_training_ = training;
}

template <class T>
void Mlp<T>::forward(Rows rows, Input<T> x, bool keep_pre, const RandomKey* dropout_key, int64_t row0) {
  const int64_t m = rows.count();
  const Input<T> x_rows = x.rows_from(rows.r0);
  MatView<T> in = x_rows.dense;
  for (size_t l = 0; l < layers_.size(); ++l) {
    const LayerRef<T>& L = layers_[l];
    const int64_t at = rows.r0 * L.out;
    T* act = act_[l] + at;
    T* pre = keep_pre && pre_[l] ? pre_[l] + at : nullptr;
    if (l == 0 && x.sparse)
      csr_dense_forward<T>(m, L.out, x_rows.csr, MatView<T>{L.weight, L.in, 1}, L.bias, 1, L.act, slope_, act,
                           pre);
    else if (use_small_dense(m, L.out, L.in))
      small_dense_forward<T>(m, L.out, L.in, in, L.weight, L.bias, L.act, slope_, act, pre);
    else
      dense_forward<T>(m, L.out, L.in, in, MatView<T>{L.weight, L.in, 1}, L.bias, 1, L.act, slope_, act, pre);
    const T* next = act;
    if (dropout_applied_ && mask_[l]) {
      // Inverted dropout as torch.nn.Dropout: keep with probability 1 - p, scale by
      // 1 / (1 - p). Keyed by the row's position in the epoch, so masks do not depend
      // on threads or batch boundaries.
      const CounterRng rng(dropout_key->seed, RngStream::dropout, dropout_key->pass, l);
      const T keep_scale = T(1) / T(1 - dropout_);
      const int64_t count = m * L.out;
      const uint64_t first = uint64_t(row0 + rows.r0) * uint64_t(L.out);
      T* mask = mask_[l] + at;
      T* dropped = dropped_[l] + at;
      for (int64_t i = 0; i < count; ++i) {
        mask[i] = rng.uniform(first + i) >= dropout_ ? keep_scale : T(0);
        dropped[i] = act[i] * mask[i];
      }
      next = dropped;
    }
    in = MatView<T>{next, L.out, 1};
  }
}

template <class T>
void Mlp<T>::inference_pass(int64_t m, Input<T> x) {
  dropout_applied_ = false;
  forward({0, m}, x, false, nullptr, 0);
}

template <class T>
void Mlp<T>::backward(Rows rows, Input<T> x, T* const* grads) {
  const int64_t m = rows.count(), scratch = rows.r0 * widest_;
  T* const grad_a = grad_a_ + scratch;
  T* const grad_b = grad_b_ + scratch;
  const T* grad_y = grad_out_ + rows.r0 * out_features();
  int64_t p = n_params_;
  for (size_t l = layers_.size(); l-- > 0;) {
    const LayerRef<T>& L = layers_[l];
    T* grad_bias = L.bias ? grads[--p] : nullptr;
    T* grad_w = grads[--p];
    const bool first = l == 0;
    T* grad_x = first ? nullptr : (grad_y == grad_a ? grad_b : grad_a);
    const bool dropped = !first && dropout_applied_ && mask_[l - 1];
    const int64_t at = rows.r0 * L.out, below = rows.r0 * L.in;
    const MatView<T> in = first ? x.rows_from(rows.r0).dense
                                : MatView<T>{(dropped ? dropped_[l - 1] : act_[l - 1]) + below, L.in, 1};
    const T* pre = pre_[l] ? pre_[l] + at : nullptr;
    if (first && x.sparse)
      csr_dense_backward<T>(m, L.out, grad_y, x.rows_from(rows.r0).csr, act_[l] + at, pre, L.act, slope_,
                            grad_w, grad_bias);
    else if (use_small_dense(m, L.out, L.in))
      small_dense_backward<T>(m, L.out, L.in, grad_y, in, L.weight, act_[l] + at, pre, L.act, slope_,
                              grad_pre_ + scratch, grad_x, grad_w, grad_bias);
    else
      dense_backward<T>(m, L.out, L.in, grad_y, in, MatView<T>{L.weight, L.in, 1}, act_[l] + at, pre, L.act,
                        slope_, grad_x, grad_w, grad_bias);
    if (dropped) {  // through the dropout of the layer below
      const T* mask = mask_[l - 1] + below;
      const int64_t count = m * L.in;
      for (int64_t i = 0; i < count; ++i) grad_x[i] *= mask[i];
    }
    grad_y = grad_x;
  }
}

template <class T>
BatchLoss Mlp<T>::forward_backward(const LossSpec& loss, int64_t m, Input<T> x, Targets<T> target,
                                   const RandomKey* dropout_key, int64_t row0, T* const* grads,
                                   bool backward_if_not_finite, OptimState<T>* update,
                                   const StepChores* chores) {
  const int64_t n = out_features();
  const double weight = rows_weight(m, target.weights);
  if (weight == 0) return {0.0, 0.0, 0.0};
  const double denom = loss.reduction == Reduction::mean ? loss_denominator(loss.kind, weight, n) : 1.0;
  dropout_applied_ = dropout_key != nullptr && dropout_ > 0;
  // The rows' chores, forward pass and loss (its gradient into grad_out_).
  auto forward_loss = [&](Rows rows) {
    if (chores && chores->order) gather_rows(*chores, rows);
    forward(rows, x, true, dropout_key, row0);
    return loss_sum(loss.kind, rows.count(), n, act_.back() + rows.r0 * n, rows_from(target, rows.r0, n),
                    grad_out_ + rows.r0 * n, T(1.0 / denom), rows.r0);
  };
  const OptimConfig* penalised = chores ? chores->penalty : nullptr;
  if (!halved_step(m)) {
    const double step_penalty = penalised ? penalty(*penalised) : 0.0;  // before the caller's update
    const double sum = forward_loss({0, m});
    if (backward_if_not_finite || std::isfinite(sum)) backward({0, m}, x, grads);
    return {sum, weight, denom, false, step_penalty};
  }
  const Rows halves[2] = {{0, (m + 1) / 2}, {(m + 1) / 2, m}};
  double sums[2] = {0.0, 0.0};
  // The optimizer step, fused: the threads update the parameters' chunks from the two
  // halves' gradients, added in the update's own loop (the sum is not stored: a pass
  // of its own took 5% of a one-thread 64-100-10 float64 epoch at batch 32), instead of
  // one more parallel region per parameter array after this one (the update is
  // elementwise: the same bits).
  // On two threads its cost is cross-core traffic, not arithmetic: each thread reads the
  // other's half of the gradient from the other core's cache, and writes parameters the
  // other core holds (it read them all in its half). 2-256-256-256-1 Adam b128 on a Zen 4:
  // the sum and update take 59 us a step, a second pass over the same data 37 us; on one
  // thread both passes take the same time. Replacing a division by a multiplication,
  // summing into the buffer the thread wrote itself, or prefetching the share (prefetchw
  // on the parameters, the moments a chunk ahead) changed nothing. Nor did packing each
  // thread's rows of the weights here, once, for both halves' next forward (the same
  // bits): the halves' own packing, 3.8% of the epoch when skipped outright, came back
  // as reads of the panels the other core had packed.
  std::optional<StepSettings> fused;  // the settings, when update is given
  if (update) {
    if (grads != param_grads_.data())
      throw std::logic_error("forward_backward: an update needs param_grads_");
    fused = next_step(*update, denom);
  }
  // An exception must not leave an OpenMP region (that terminates the process), nor skip
  // a barrier the other thread waits at: the first is kept and rethrown after the region.
  std::exception_ptr error;
  auto guarded = [&](auto&& work) {
    try {
      work();
    } catch (...) {
#pragma omp critical(fastmlp_halved_step_error)
      if (!error) error = std::current_exception();
    }
  };
  // The update's chunks (kUpdateChunk): each thread's share of them, the rest stolen.
  const int64_t chunks = ceil_div(param_starts_.back(), kUpdateChunk);
  WorkShare shares[2];
  parallel(std::min(2, max_threads()), [&](int t, int nt) {
    const ThreadCap one(1);                                   // each half's ops on its own thread
    shares[t].reset(chunks * t / nt, chunks * (t + 1) / nt);  // taken after the barrier below
    // A half's backward needs only its own forward, so no barrier between them: the two
    // halves' passes differ by some microseconds from step to step (this VM: 4-15 us of
    // 580 at 2-256-256-256-1 b128), and a barrier there made both wait for the slower
    // forward and then again for the slower backward. A half whose loss is not finite
    // skips its backward (unless asked for it); the other half's gradient is then never
    // used, as the update below needs both losses finite.
    guarded([&] {
      for (int h = t; h < 2; h += nt) {
        sums[h] = forward_loss(halves[h]);
        if (backward_if_not_finite || std::isfinite(sums[h]))
          backward(halves[h], x, h == 0 ? grads : half_grads_.data());
        if (penalised) norm_half(*penalised, h);  // before the update below
      }
    });
    team_barrier(nt);
    if (error) return;
    const bool update_here = fused && std::isfinite(sums[0] + sums[1]);
    work_and_steal(shares, t, nt, chunks, kUpdateSteal, [&](int64_t c0, int64_t c1) {
      const int64_t v0 = c0 * kUpdateChunk, v1 = c1 * kUpdateChunk;
      for (int64_t i = 0; i < n_params_; ++i) {  // the arrays that [v0, v1) overlaps
        const int64_t lo = std::max(v0, param_starts_[i]) - param_starts_[i];
        const int64_t hi = std::min(v1 - param_starts_[i], param_sizes_[i]);
        if (lo >= hi) continue;
        if (update_here)  // from both halves, in the update's own loop (the sum is not kept)
          update_params(*fused, *update, i, lo, hi);
        else
          for (int64_t j = lo; j < hi; ++j) grads[i][j] += half_grads_[i][j];
      }
    });
  });
  if (error) std::rethrow_exception(error);
  const double sum = sums[0] + sums[1];
  const bool updated = fused && std::isfinite(sum);
  if (updated) ++update->step;
  return {sum, weight, denom, updated, penalised ? penalty_of_halves(*penalised) : 0.0};
}

template <class T>
typename Mlp<T>::StepSettings Mlp<T>::next_step(const OptimState<T>& opt, double denominator) const {
  const double penalty_scale = opt.config.penalty_in_loss ? 1.0 / denominator : 1.0;
  return {OptimStep<T>(opt.config, opt.step + 1, penalty_scale),
          OptimStep<T>(bias_config(opt.config), opt.step + 1, penalty_scale)};
}

template <class T>
void Mlp<T>::update_params(const StepSettings& s, OptimState<T>& opt, int64_t p, int64_t lo, int64_t hi) {
  optimizer_update_range(param_is_bias_[p] ? s.bias : s.weight, params_[p], param_grads_[p], half_grads_[p],
                         opt.state[p].data(), lo, hi);
}

template <class T>
void Mlp<T>::apply_optimizer(OptimState<T>& opt, const BatchLoss& batch) {
  if (batch.updated) return;
  const StepSettings s = next_step(opt, batch.denominator);
  ++opt.step;
  for (int64_t p = 0; p < n_params_; ++p)
    optimizer_update(param_is_bias_[p] ? s.bias : s.weight, params_[p], param_grads_[p], opt.state[p].data(),
                     param_sizes_[p]);
}

namespace {
bool penalises(const OptimConfig& c) {
  return c.weight_decay != 0 || c.l1 != 0;
}
}  // namespace

template <class T>
void Mlp<T>::norm_half(const OptimConfig& config, int h) {
  const OptimConfig bias = bias_config(config);
  for (int64_t p = 0; p < n_params_; ++p) {
    if (!penalises(param_is_bias_[p] ? bias : config)) continue;
    const int64_t size = param_sizes_[p], lo = h == 0 ? 0 : size / 2, hi = h == 0 ? size / 2 : size;
    norm_halves_[h][p] = norm_sums(params_[p] + lo, hi - lo);
  }
}

template <class T>
double Mlp<T>::penalty_of_halves(const OptimConfig& config) const {
  const OptimConfig bias = bias_config(config);
  double total = 0;
  for (int64_t p = 0; p < n_params_; ++p) {
    const OptimConfig& c = param_is_bias_[p] ? bias : config;
    if (!penalises(c)) continue;
    const NormSums &first = norm_halves_[0][p], &second = norm_halves_[1][p];
    total +=
        0.5 * c.weight_decay * (first.squares + second.squares) + c.l1 * (first.absolute + second.absolute);
  }
  return total;
}

template <class T>
double Mlp<T>::penalty(const OptimConfig& config) {
  norm_half(config, 0);
  norm_half(config, 1);
  return penalty_of_halves(config);
}

template <class T>
void Mlp<T>::gather_rows(const StepChores& chores, Rows rows) {
  const int64_t in = in_features(), width = out_features();
  for (int64_t r = rows.r0; r < rows.r1; ++r) {
    const int64_t src = chores.order[r];
    if (chores.x) copy_row(chores.x + src * in, in, batch_x_ + r * in);
    if (chores.values) copy_row(chores.values + src * width, width, batch_t_ + r * width);
  }
}

template <class T>
void Mlp<T>::predict(int64_t m, Input<T> x, T* y) {
  const int64_t n = out_features();
  const int64_t pass = tuning().inference_rows;
  for (int64_t r0 = 0; r0 < m; r0 += pass) {
    const int64_t rows = std::min(pass, m - r0);
    reserve(rows, false);
    inference_pass(rows, x.rows_from(r0));
    std::memcpy(y + r0 * n, act_.back(), sizeof(T) * rows * n);
  }
}

template <class T>
double Mlp<T>::evaluate(LossKind kind, int64_t m, Input<T> x, Targets<T> target) {
  const int64_t n = out_features();
  double total = 0;
  const int64_t pass = tuning().inference_rows;
  for (int64_t r0 = 0; r0 < m; r0 += pass) {
    const int64_t rows = std::min(pass, m - r0);
    reserve(rows, false);
    inference_pass(rows, x.rows_from(r0));
    total += loss_sum<T>(kind, rows, n, act_.back(), rows_from(target, r0, n), nullptr, T(1), r0);
  }
  return total;
}

template <class T>
double Mlp<T>::loss_and_grads(const LossSpec& loss, int64_t m, Input<T> x, Targets<T> target,
                              T* const* grads) {
  const ThreadCap cap(step_thread_cap(m));
  reserve(m, true);
  const BatchLoss b = forward_backward(loss, m, x, target, nullptr, 0, grads, true);
  if (b.denominator == 0) throw std::invalid_argument("sample_weight sums to zero: no loss to differentiate");
  return b.reduced();
}

template <class T>
double Mlp<T>::train_step(const LossSpec& loss, OptimState<T>& opt, int64_t m, Input<T> x, Targets<T> target,
                          RandomKey key) {
  const ThreadCap cap(step_thread_cap(m));
  reserve(m, true);
  const BatchLoss b = forward_backward(loss, m, x, target, &key, 0, param_grads_.data(), false, &opt);
  if (b.denominator == 0) throw std::invalid_argument("sample_weight sums to zero: no loss to train on");
  if (std::isfinite(b.sum)) apply_optimizer(opt, b);
  return b.reduced();
}

template <class T>
EpochResult Mlp<T>::train_epoch(const LossSpec& loss, OptimState<T>& opt, int64_t n, Input<T> x,
                                Targets<T> target, int64_t batch_size, bool shuffle, RandomKey key,
                                const std::function<bool()>& interrupt, const StepAllreduce<T>* allreduce) {
  // Asked between minibatches, every tuning().interrupt_poll_madds forward multiply-adds.
  const int64_t poll_madds = tuning().interrupt_poll_madds;
  int64_t madds_since_poll = 0;
  const int64_t in = in_features(), width = out_features();
  const ThreadCap cap(step_thread_cap(std::min(batch_size, n)));
  reserve(std::min(batch_size, n), true);
  if (shuffle && !x.sparse) batch_x_ = batch_x_arena_.get<T>(std::min(batch_size, n) * in);
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), int64_t(0));
  if (shuffle) {  // Fisher-Yates, the i-th swap drawn from counter i
    const CounterRng rng(key.seed, RngStream::shuffle, key.pass);
    for (int64_t i = n - 1; i > 0; --i) std::swap(order_[i], order_[rng.below(i, i + 1)]);
  }
  EpochResult result;
  const int64_t n_batches = allreduce ? allreduce->steps : (n + batch_size - 1) / batch_size;
  result.batch_loss.reserve(n_batches);
  result.batch_weight.reserve(n_batches);
  result.batch_penalty.reserve(n_batches);
  for (int64_t batch = 0; batch < n_batches; ++batch) {
    const int64_t start = std::min(batch * batch_size, n);  // = n: a data-parallel shard ran out
    const int64_t m = std::min(batch_size, n - start);
    bool stop = false;
    if (interrupt && madds_since_poll >= poll_madds) {
      madds_since_poll = 0;
      stop = interrupt();
      if (stop && !allreduce) {
        result.interrupted = true;
        break;
      }
    }
    madds_since_poll += m * weights_;
    Input<T> xb = x.rows_from(start);
    Targets<T> tb = rows_from(target, start, width);
    // The penalty is of the parameters before this step's update, which forward_backward
    // may make. The batch's rows are gathered (GEMM packing then reads them contiguously)
    // by forward_backward, but for the labels and weights (one value a row) and CSR rows.
    StepChores chores;
    chores.penalty = opt.config.penalty_in_loss ? &opt.config : nullptr;
    if (shuffle) {
      chores.order = order_.data() + start;
      chores.x = x.sparse ? nullptr : x.dense.ptr;
      chores.values = target.values;
      if (x.sparse) xb = batch_csr_.gather(x.csr, chores.order, m);
      for (int64_t r = 0; r < m; ++r) {
        const int64_t src = chores.order[r];
        if (target.labels) batch_labels_[r] = target.labels[src];
        if (target.weights) batch_w_[r] = target.weights[src];
      }
      if (!x.sparse) xb = MatView<T>{batch_x_, in, 1};
      tb = Targets<T>{target.values ? batch_t_ : nullptr, target.labels ? batch_labels_.data() : nullptr,
                      target.weights ? batch_w_ : nullptr};
    }
    const RandomKey* dropout_key = dropout_ > 0 ? &key : nullptr;
    BatchLoss b{0.0, 0.0, 0.0};
    if (allreduce) {
      bool stopped = false;
      if (chores.order) gather_rows(chores, {0, m});  // a data-parallel step does no chores
      const double step_penalty = chores.penalty ? penalty(*chores.penalty) : 0.0;
      b = allreduce_step(*allreduce, loss, m, xb, tb, dropout_key, start, stop, &stopped);
      b.penalty = step_penalty;
      if (stopped) {
        (stop ? result.interrupted : result.peer_stopped) = true;
        break;
      }
    } else if (!target.weights || rows_weight(m, tb.weights) != 0) {
      b = forward_backward(loss, m, xb, tb, dropout_key, start, param_grads_.data(), false, &opt, &chores);
    }
    if (b.weight == 0) {  // no sample in this batch: skip it
      result.batch_loss.push_back(0.0);
      result.batch_weight.push_back(0.0);
      result.batch_penalty.push_back(0.0);
      result.rows += m;
      continue;
    }
    if (!std::isfinite(b.sum)) {
      result.finite = false;
      break;
    }
    result.batch_penalty.push_back(b.penalty / b.denominator);
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

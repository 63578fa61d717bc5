// A whole multilayer perceptron in C++: inference, gradients, and training steps and
// epochs in one call each, so that Python overhead is paid per epoch, not per op.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "buffer.hpp"
#include "common.hpp"
#include "loss.hpp"
#include "optim.hpp"
#include "sparse/csr.hpp"
#include "sparse/csr_batch.hpp"
#include "step_allreduce.hpp"

namespace fastmlp {

// One dense layer y = act(x W^T + b); the parameters belong to the caller (NumPy
// arrays that the training updates in place).
template <class T>
struct LayerRef {
  T* weight;  // out x in, row-major
  T* bias;    // out values, or null
  int64_t in, out;
  Activation act;
};

// The network's input rows: dense (any strides) or CSR. Only the first layer reads
// them (a CSR input through sparse/csr_dense.hpp); the layers above see dense
// activations either way.
template <class T>
struct Input {
  MatView<T> dense{nullptr, 0, 0};
  CsrView<T> csr;
  bool sparse = false;
  Input(MatView<T> x) : dense(x) {}
  Input(const CsrView<T>& x) : csr(x), sparse(true) {}
  Input rows_from(int64_t r0) const {
    if (sparse) return Input(csr.rows_from(r0));
    return Input(MatView<T>{dense.ptr + r0 * dense.rs, dense.rs, dense.cs});
  }
};

struct LossSpec {
  LossKind kind;
  Reduction reduction;
};

// Optimizer state the caller owns and keeps between calls: for parameter i (in the
// order w0, b0, w1, b1, ...; no b if the layers have none), slot s is state[i][s].
template <class T>
struct OptimState {
  OptimConfig config;
  std::vector<std::vector<T*>> state;
  int64_t step = 0;  // updates done so far
};

struct EpochResult {
  double loss_sum = 0;  // weighted loss sum_i w_i l_i over the rows trained on
  double weight = 0;    // their weight (rows_weight)
  int64_t rows = 0;     // rows trained on (fewer than all if the loss became non-finite
                        // or the epoch was interrupted)
  bool finite = true;
  bool interrupted = false;   // stopped early because the interrupt callback said so
  bool peer_stopped = false;  // a data-parallel epoch that another process stopped
  // Per minibatch trained on: its reduced loss (as train_step returns it), its weight,
  // and, if the optimizer puts its penalty in the loss (penalty_in_loss), the reduced
  // penalty (weight_decay/2 ||p||^2 + l1 |p|_1 over the penalised parameters, before
  // the batch's update, divided by the batch's denominator; else 0). A batch whose
  // weights are all zero holds no sample: it is skipped (no update, no step counted)
  // and reported with loss, weight and penalty 0.
  std::vector<double> batch_loss, batch_weight, batch_penalty;
};

// The loss of one batch: its weighted sum, its weight, and what its reduction divides by.
struct BatchLoss {
  double sum;
  double weight;
  double denominator;
  bool updated = false;  // the optimizer step is done too (forward_backward's update)
  double penalty = 0;    // of the parameters before the step, if asked (StepChores)
  double reduced() const { return sum / denominator; }
};

// Where randomness of a training pass comes from: (seed, pass) keys the counter-based
// generator, pass being the epoch (or, for single steps, the step number).
struct RandomKey {
  uint64_t seed;
  uint64_t pass;
};

template <class T>
class Mlp {
 public:
  Mlp(std::vector<LayerRef<T>> layers, T negative_slope, double dropout);

  int64_t in_features() const { return layers_.front().in; }
  int64_t out_features() const { return layers_.back().out; }

  // y (m x out, row-major) = network(x) without dropout; x is m x in, any strides.
  void predict(int64_t m, Input<T> x, T* y);

  // Unreduced loss of the network on (x, target), without dropout, in batches.
  double evaluate(LossKind kind, int64_t m, Input<T> x, Targets<T> target);

  // Reduced loss of one batch and its gradient with respect to every parameter,
  // written to grads (in parameter order, each the shape of its parameter). No dropout.
  // Throws std::invalid_argument if the batch's weights sum to zero (as below).
  double loss_and_grads(const LossSpec& loss, int64_t m, Input<T> x, Targets<T> target, T* const* grads);

  // One optimizer step on one batch, with dropout; returns its reduced loss (the
  // parameters are not updated if it is not finite).
  double train_step(const LossSpec& loss, OptimState<T>& opt, int64_t m, Input<T> x, Targets<T> target,
                    RandomKey key);

  // One epoch over n rows of x (C-contiguous n x in if dense) in minibatches of batch_size (the
  // last one partial), in a seeded random order if shuffle. Stops at the first batch
  // whose loss is not finite, before updating with it. Between minibatches, every few
  // milliseconds of work (kInterruptPollMadds), asks interrupt (if given) whether to
  // stop, e.g. for a pending Ctrl-C; if it says so, stops there, after a completed
  // update (result.interrupted).
  // With allreduce, the epoch is one process's part of a data-parallel epoch: it runs
  // allreduce->steps steps, each summed over the processes (step_allreduce.hpp) before
  // the same update on all of them; the loss, weight and batch_* it reports are those of
  // the global batches, and a stop (error, interrupt) on any process stops all of them at
  // the same step, before its update (the others report peer_stopped).
  EpochResult train_epoch(const LossSpec& loss, OptimState<T>& opt, int64_t n, Input<T> x, Targets<T> target,
                          int64_t batch_size, bool shuffle, RandomKey key,
                          const std::function<bool()>& interrupt = {},
                          const StepAllreduce<T>* allreduce = nullptr);

 private:
  // Buffers for batches of up to m rows, carved from one allocation that only grows.
  void reserve(int64_t m, bool training);
  // Rows [r0, r1) of a batch. In the per-layer buffers they start at row r0 of the
  // layer's width; in the scratch buffers (grad_a_, grad_b_, grad_pre_) at r0 * widest_,
  // so that two row ranges never share memory whatever the layers' widths.
  struct Rows {
    int64_t r0, r1;
    int64_t count() const { return r1 - r0; }
  };
  // Forward pass of the given rows of the batch x (whose row 0 is batch row 0), keeping
  // the pre-activations backward needs if keep_pre; with dropout_applied_, applies
  // dropout masks keyed by (dropout_key, row0 + row).
  void forward(Rows rows, Input<T> x, bool keep_pre, const RandomKey* dropout_key, int64_t row0);
  // Forward pass of m rows without dropout, for predict and evaluate.
  void inference_pass(int64_t m, Input<T> x);
  // Backward pass of those rows of the last forward pass, from grad_out_ into grads.
  void backward(Rows rows, Input<T> x, T* const* grads);
  // What a training step of train_epoch does besides, in the same threads: copying its
  // shuffled rows into the batch buffers, each half on the thread that runs it (the copy
  // is then neither serial nor read from the other core's cache), and the penalty of the
  // parameters before the update (BatchLoss::penalty; 0 without one).
  struct StepChores {
    const int64_t* order = nullptr;        // batch row r is source row order[r]
    const T* x = nullptr;                  // dense rows (in_features) to gather into batch_x_
    const T* values = nullptr;             // target rows (out_features) to gather into batch_t_
    const OptimConfig* penalty = nullptr;  // the penalty's optimizer settings
  };
  // Forward pass, loss (its reduced gradient into grad_out_) and, if the loss is finite
  // or backward_if_not_finite, backward pass of a batch of m rows into grads. Halved
  // steps (halved_step) run the two halves of the rows on two threads. The denominator
  // is 0, and nothing is computed, if the batch's weights sum to zero. With update, a
  // halved step whose loss is finite also makes the optimizer step in the same threads,
  // from both halves' gradients (BatchLoss::updated; grads then holds the first half's
  // only); the caller makes it otherwise (apply_optimizer). With chores, it does those too.
  BatchLoss forward_backward(const LossSpec& loss, int64_t m, Input<T> x, Targets<T> target,
                             const RandomKey* dropout_key, int64_t row0, T* const* grads,
                             bool backward_if_not_finite, OptimState<T>* update = nullptr,
                             const StepChores* chores = nullptr);
  // Rows of the batch copied as chores says.
  void gather_rows(const StepChores& chores, Rows rows);
  // One update from param_grads_ (unless batch.updated); penalty_scale multiplies
  // weight_decay and l1 (the reduction's 1 / denominator when the optimizer puts its
  // penalty in the loss).
  void apply_optimizer(OptimState<T>& opt, const BatchLoss& batch);
  // The next step of opt for a batch of that denominator, and its parameter p's update on
  // [lo, hi) from a halved step's gradients, param_grads_ + half_grads_ (weights and
  // biases may differ: OptimConfig::decay_bias).
  struct StepSettings {
    OptimStep<T> weight, bias;
  };
  StepSettings next_step(const OptimState<T>& opt, double denominator) const;
  void update_params(const StepSettings& s, OptimState<T>& opt, int64_t p, int64_t lo, int64_t hi);
  bool needs_pre(const LayerRef<T>& l) const;
  // The thread cap for a training step on m rows (ThreadCap: 0 for none).
  int step_thread_cap(int64_t m) const;
  // Whether a training step on m rows runs as two halves (see mlp.cpp); a
  // matter of the shape only, so that results do not depend on the number of threads.
  bool halved_step(int64_t m) const;
  // A data-parallel step (mlp_allreduce.cpp): this process's batch of m rows (m may be
  // 0) summed over the processes; returns the global batch's loss, with the global
  // gradient (reduced as loss.reduction says) in param_grads_. Sets *stopped and returns
  // a zero BatchLoss if a process stops here (local_stop on this one); rethrows this
  // process's error after the others have been told.
  BatchLoss allreduce_step(const StepAllreduce<T>& allreduce, const LossSpec& loss, int64_t m, Input<T> x,
                           Targets<T> target, const RandomKey* dropout_key, int64_t row0, bool local_stop,
                           bool* stopped);
  // weight_decay/2 ||p||^2 + l1 |p|_1 over the parameters config penalises, in double.
  // Each array's norms are taken as two fixed halves (norm_half, into norm_halves_),
  // added in order: a halved step's two threads take one half each, and the bits do not
  // depend on the number of threads.
  double penalty(const OptimConfig& config);
  void norm_half(const OptimConfig& config, int h);
  double penalty_of_halves(const OptimConfig& config) const;

  std::vector<LayerRef<T>> layers_;
  T slope_;
  double dropout_;
  int64_t n_params_;  // parameter arrays: 2 per layer with bias, else 1
  int64_t weights_;   // weights of all layers: the forward pass's multiply-adds per row
  int64_t widest_;    // the widest layer's outputs

  AlignedBuffer arena_;
  int64_t capacity_rows_ = -1;
  bool capacity_training_ = false;
  bool dropout_applied_ = false;                // by the last forward pass
  std::vector<T*> act_, pre_, mask_, dropped_;  // per layer, m x out each (or null)
  T* grad_a_ = nullptr;                         // ping-pong gradients, m x widest
  T* grad_b_ = nullptr;
  T* grad_pre_ = nullptr;        // small layers' activation gradient
  T* grad_out_ = nullptr;        // loss gradient, m x out_features
  AlignedBuffer batch_x_arena_;  // gathered dense rows of an epoch
  T* batch_x_ = nullptr;
  CsrBatch<T> batch_csr_;  // or gathered CSR rows
  T* batch_t_ = nullptr;
  T* batch_w_ = nullptr;               // and their sample weights
  std::vector<T*> param_grads_;        // training only, one contiguous span
  T* step_tail_ = nullptr;             // right after it: a StepTail (training only)
  std::vector<T*> half_grads_;         // a halved step's second half (training only)
  std::vector<int64_t> param_sizes_;   // values per parameter array
  std::vector<int64_t> param_starts_;  // the arrays end to end, each from a line (+ the end)
  std::vector<T*> params_;             // the parameter arrays, in order (weight, bias)
  std::vector<bool> param_is_bias_;
  std::array<std::vector<NormSums>, 2> norm_halves_;  // per parameter array (penalty)
  std::vector<int64_t> batch_labels_, order_;
};

}  // namespace fastmlp

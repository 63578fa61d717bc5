// The seam through which a data-parallel fit (fastmlp.distributed, over MPI) sums each
// training step of an epoch over its processes. The engine knows nothing of MPI: it hands
// the caller one contiguous buffer per step and trains on what comes back.
#pragma once
#include <cstdint>
#include <functional>

namespace fastmlp {

// What one process of a data-parallel epoch contributes to a step, as laid out in the
// buffer that StepAllreduce::sum reduces: its parameter gradients (unreduced, i.e. the
// gradient of sum_i w_i l_i over its rows, in parameter order w0, b0, w1, ..., with
// zeros between arrays where they are padded to cache lines), then the tail below.
enum StepTail : int64_t {
  tail_loss_sum = 0,  // sum_i w_i l_i over its rows of the step
  tail_weight = 1,    // their weight (rows, or sum of sample weights)
  tail_stop = 2,      // 1 if it stops the epoch here (an error or an interrupt), else 0
  tail_size = 3,
};

template <class T>
struct StepAllreduce {
  // Steps the epoch runs on every process: the most minibatches any process's shard has.
  // A process whose shard has run out takes part with an empty batch (zeros).
  int64_t steps = 0;
  // Sums buffer (count values) element-wise over the processes, in place, with the same
  // result on every process (an MPI all-reduce). Called once per step, on the thread that
  // runs the epoch; it may throw, which ends the epoch.
  std::function<void(T* buffer, int64_t count)> sum;
};

}  // namespace fastmlp

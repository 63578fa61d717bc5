// A forked child runs fastmlp's kernels on one thread.
//
// libgomp's thread pool does not survive fork(): the child inherits the pool's
// bookkeeping but not its threads, so the first parallel region with more than one
// thread waits forever for workers that do not exist (multiprocessing's "fork" start
// method, joblib's and Pool's workers after the parent ran a kernel). A child that never
// opens such a region is safe, so the handler caps fastmlp's threads at 1 in the child
// (as PyTorch does for its own pool). fastmlp.set_num_threads(n) in the child lifts the
// cap again, at the caller's risk.
#pragma once

namespace fastmlp {

// Registers the pthread_atfork child handler; later calls do nothing.
void install_fork_guard();

}  // namespace fastmlp

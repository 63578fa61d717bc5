#include "fork_guard.hpp"

#include <pthread.h>

#include <mutex>

#include "threads.hpp"

namespace fastmlp {
namespace {

// Runs in the child right after fork, while it is still single-threaded: it may only
// touch plain memory (no OpenMP call, no allocation).
void single_threaded_child() {
  thread_limit().store(1, std::memory_order_relaxed);
}

}  // namespace

void install_fork_guard() {
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(nullptr, nullptr, single_threaded_child); });
}

}  // namespace fastmlp

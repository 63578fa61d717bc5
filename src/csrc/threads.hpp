// How many OpenMP threads a kernel may use. Honours OMP_NUM_THREADS and threadpoolctl
// (both act on omp_get_max_threads()) and fastmlp.set_num_threads (which caps it for
// every calling thread, not only the one that set it).
#pragma once
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>

#include "common.hpp"

namespace fastmlp {

inline std::atomic<int>& thread_limit() {
  static std::atomic<int> limit{0};  // 0: no limit set
  return limit;
}

// A further cap for the kernels the calling thread runs while a ThreadCap lives (0: none).
inline int& local_thread_cap() {
  thread_local int cap = 0;
  return cap;
}

// The threads a kernel may plan for: the team a new region would get. Within the thread
// limit (OMP_THREAD_LIMIT), and one inside an OpenMP region once the runtime allows no
// further active level (a call from another library's region): there a region of more
// threads gets only the one.
inline int max_threads() {
  if (omp_get_active_level() >= omp_get_max_active_levels()) return 1;
  int n = std::min(omp_get_max_threads(), omp_get_thread_limit());
  const int lim = thread_limit().load(std::memory_order_relaxed);
  if (lim > 0) n = std::min(n, lim);
  if (local_thread_cap() > 0) n = std::min(n, local_thread_cap());
  return n;
}

// Caps the threads of the calling thread's kernels at n while it lives (n <= 0: no cap;
// nested caps keep the smallest).
class ThreadCap {
 public:
  explicit ThreadCap(int n) : saved_(local_thread_cap()) {
    if (n > 0 && (saved_ == 0 || n < saved_)) local_thread_cap() = n;
  }
  ~ThreadCap() { local_thread_cap() = saved_; }
  ThreadCap(const ThreadCap&) = delete;
  ThreadCap& operator=(const ThreadCap&) = delete;

 private:
  int saved_;
};

inline void set_max_threads(int n) {
  thread_limit().store(n, std::memory_order_relaxed);
  omp_set_num_threads(n);
}

// Runs body(thread, threads) on nt OpenMP threads; with one thread, directly: an OpenMP
// region costs about a microsecond even then, which small layers cannot afford.
// The bodies plan for nt threads (their shares, grids and barriers), so all nt must run:
// the runtime may not drop some for load (OMP_DYNAMIC, off for this region), nt comes
// from max_threads(), and a team that still comes out smaller runs nothing and throws
// (with fewer threads, the tiles of the missing ones were left unwritten).
template <class Body>
void parallel(int nt, Body&& body) {
  if (nt <= 1) {
    body(0, 1);
    return;
  }
  const int dynamic = omp_get_dynamic();
  if (dynamic) omp_set_dynamic(0);
  int team = nt;
#pragma omp parallel num_threads(nt)
  {
    if (omp_get_num_threads() == nt)
      body(omp_get_thread_num(), nt);
    else if (omp_get_thread_num() == 0)
      team = omp_get_num_threads();
  }
  if (dynamic) omp_set_dynamic(dynamic);
  if (team != nt)
    throw std::runtime_error("OpenMP started " + std::to_string(team) + " of the " + std::to_string(nt) +
                             " threads a kernel asked for");
}

// A barrier among the nt threads of a parallel() body. With one thread it does nothing:
// that body runs directly, perhaps inside another region (a halved training step, whose
// halves each run their kernels on one thread), whose team an orphaned barrier would
// wait for.
inline void team_barrier(int nt) {
  if (nt > 1) {
#pragma omp barrier
  }
}

// Runs fn(lo, hi) on nt threads, each with an equal contiguous share of [0, count).
template <class Fn>
void parallel_ranges(int nt, int64_t count, Fn&& fn) {
  parallel(nt, [&](int t, int tn) { fn(count * t / tn, count * (t + 1) / tn); });
}

// A thread's share [front, back) of some work items (fewer than 2^32), in one word: its
// owner takes items from the front, threads done with their own shares steal from the
// back. A thread on a busy or slower core (another process on it, an efficiency core of
// a hybrid CPU, a VM's busy host) then leaves the rest of its share to the others
// instead of holding them at the end. Who runs an item must not change its result.
class WorkShare {
 public:
  void reset(int64_t front, int64_t back) { word_.store(pack(front, back), std::memory_order_relaxed); }
  // Items [lo, hi): for the owner from the front, half of what is left clamped to
  // [least, most]; for a thief least from the back. lo == hi: none left.
  std::pair<int64_t, int64_t> take(int64_t most, int64_t least, bool owner) {
    uint64_t w = word_.load(std::memory_order_relaxed);
    for (;;) {
      const int64_t front = int64_t(w >> 32), back = int64_t(w & 0xffffffffu);
      if (front >= back) return {0, 0};
      const int64_t lo = owner ? front : std::max(front, back - least);
      const int64_t hi = owner ? std::min(back, front + std::clamp((back - front) / 2, least, most)) : back;
      if (word_.compare_exchange_weak(w, owner ? pack(hi, back) : pack(front, lo), std::memory_order_relaxed))
        return {lo, hi};
    }
  }

 private:
  static uint64_t pack(int64_t front, int64_t back) { return uint64_t(front) << 32 | uint64_t(back); }
  std::atomic<uint64_t> word_{0};
};

// Thread tid of nt: fn(lo, hi) on the items of its share (shares[tid]), then on what it
// steals from the others' (take's most and least).
template <class Fn>
void work_and_steal(WorkShare* shares, int tid, int nt, int64_t most, int64_t least, Fn&& fn) {
  for (int o = 0; o < nt; ++o) {
    WorkShare& from = shares[(tid + o) % nt];
    for (auto [lo, hi] = from.take(most, least, o == 0); lo < hi;
         std::tie(lo, hi) = from.take(most, least, o == 0))
      fn(lo, hi);
  }
}

// Threads worth starting for `work` units when one thread should get at least `grain`.
inline int threads_for(int64_t work, int64_t grain) {
  const int64_t useful = std::max<int64_t>(1, work / std::max<int64_t>(1, grain));
  if (useful == 1) return 1;  // without asking the runtime: a microsecond op has no time for it
  return static_cast<int>(std::min<int64_t>(max_threads(), useful));
}

// Runs fn(lo, hi) on threads for shares of the columns [0, n) of a row-major matrix of
// T, in whole cache lines (so no two threads write one line, and a per-column reduction
// keeps one order for any number of threads), one thread per `grain` of the `work`.
template <class T, class Fn>
void for_column_lines(int64_t n, int64_t work, int64_t grain, Fn&& fn) {
  constexpr int64_t kLine = 64 / sizeof(T);
  const int64_t lines = ceil_div(n, kLine);
  const int nt = static_cast<int>(std::min<int64_t>(threads_for(work, grain), lines));
  parallel_ranges(nt, lines, [&](int64_t line_lo, int64_t line_hi) {
    const int64_t lo = std::min(n, line_lo * kLine), hi = std::min(n, line_hi * kLine);
    if (hi > lo) fn(lo, hi);
  });
}

}  // namespace fastmlp

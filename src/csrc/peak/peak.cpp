#include "peak/peak.hpp"

#include "isa/dispatch.hpp"
#include "threads.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <vector>

namespace fastmlp {

double peak_gflops(const char* isa, bool f64, int threads, double seconds) {
  const PeakLoops* loops = nullptr;
  for (Isa i : available_isas())
    if (!std::strcmp(isa, isa_name(i))) loops = &kernel_set(i).peak;
  if (!loops) throw std::invalid_argument(std::string("isa '") + isa + "' is not available on this CPU");
  const FmaLoopFn fn = f64 ? loops->f64 : loops->f32;
  using clock = std::chrono::steady_clock;
  const auto stop = clock::now() + std::chrono::duration<double>(seconds);
  double best = 0;
  const int64_t iters = 1 << 20;
  std::vector<double> madds(std::max(threads, 1), 0.0);  // each thread's, every round
  do {  // best of short rounds: another process stealing a core only lowers some rounds
    // Through parallel(), as the kernels run: the whole team or an error, also under
    // OMP_DYNAMIC, which could otherwise start fewer threads and report a lower peak.
    const auto t0 = clock::now();
    parallel(threads, [&](int t, int) { madds[t] = fn(iters); });
    const double dt = std::chrono::duration<double>(clock::now() - t0).count();
    best = std::max(best, 2 * std::accumulate(madds.begin(), madds.end(), 0.0) / dt / 1e9);
  } while (clock::now() < stop);
  return best;
}

}  // namespace fastmlp

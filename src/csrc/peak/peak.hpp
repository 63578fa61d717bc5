// A probe of the machine's FMA peak, so benchmarks can state figures as a share of it.
#pragma once
#include <cstdint>

namespace fastmlp {

// Multiply-adds per call of the per-ISA loops below: `iters` rounds of independent
// FMA chains, enough of them to hide the FMA latency on every current core.
using FmaLoopFn = double (*)(int64_t iters);
struct PeakLoops {
  FmaLoopFn f32, f64;
};

// Best GFLOP/s (2 per FMA) of `threads` threads running the loop of `isa` in the
// dtype for about `seconds`.
double peak_gflops(const char* isa, bool f64, int threads, double seconds);

}  // namespace fastmlp

// The FMA loop of the peak probe, instantiated per ISA by isa/<name>/config.cpp.
#pragma once
#include <cstdint>

#include "peak/peak.hpp"

namespace fastmlp {

template <class V>
double fma_loop(int64_t iters) {
  using vec = typename V::vec;
  // >= FMA latency (4) x pipes (2) with margin, yet with the two constants within the
  // 16 registers AVX2 and SSE have (more chains spill and halve the measured peak).
  constexpr int kChains = 12;
  vec acc[kChains];
  const vec x = V::set1(typename V::T(0.999999)), y = V::set1(typename V::T(1e-7));
#pragma GCC unroll 12
  for (int c = 0; c < kChains; ++c) acc[c] = V::set1(typename V::T(c));
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = V::fma(acc[c], x, y);
    __asm__ volatile("" : "+x"(acc[0]), "+x"(acc[1]));  // keep the loop from being folded
  }
  typename V::T sink[V::width];
  vec sum = acc[0];
#pragma GCC unroll 12
  for (int c = 1; c < kChains; ++c) sum = V::fma(sum, x, acc[c]);
  V::storeu(sink, sum);
  __asm__ volatile("" : : "r"(sink) : "memory");
  return double(iters) * kChains * V::width;
}

template <class Vf, class Vd>
constexpr PeakLoops make_peak_loops() {
  return {&fma_loop<Vf>, &fma_loop<Vd>};
}

}  // namespace fastmlp

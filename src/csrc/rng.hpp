// A counter-based random generator: every number is a pure function of
// (seed, stream, a, b, counter), so shuffles and dropout masks do not depend on the
// order in which they are drawn, nor on how many threads draw them.
#pragma once
#include <cstdint>

namespace fastmlp {

// SplitMix64's output function: a bijective mix of 64 bits that passes BigCrush
// when fed a Weyl sequence, which is how CounterRng uses it.
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Streams of one seed, so shuffling and dropout never reuse each other's numbers.
enum class RngStream : uint64_t { shuffle = 1, dropout = 2 };

class CounterRng {
 public:
  CounterRng(uint64_t seed, RngStream stream, uint64_t a, uint64_t b = 0) {
    uint64_t k = mix64(seed + kGolden);
    k = mix64(k ^ static_cast<uint64_t>(stream));
    k = mix64(k ^ (a + kGolden));
    key_ = mix64(k ^ (b + kGolden));
  }
  // The counter-th number of the SplitMix64 sequence that starts at key.
  uint64_t bits(uint64_t counter) const { return mix64(key_ + (counter + 1) * kGolden); }
  // Uniform in [0, 1) with 53 random bits.
  double uniform(uint64_t counter) const { return static_cast<double>(bits(counter) >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n) by the multiply-high method (bias below n / 2^64).
  uint64_t below(uint64_t counter, uint64_t n) const {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(bits(counter)) * n) >> 64);
  }

 private:
  static constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;
  uint64_t key_;
};

}  // namespace fastmlp

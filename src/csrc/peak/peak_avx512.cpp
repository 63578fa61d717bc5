// Peak-probe FMA loops for avx512 (compiled with that ISA's flags).
#include "peak/peak_impl.hpp"
#include "simd/vec_avx512.hpp"

namespace fastmlp {
const PeakLoops peak_avx512 = make_peak_loops<simd::Avx512<float>, simd::Avx512<double>>();
}  // namespace fastmlp

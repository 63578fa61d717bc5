// Peak-probe FMA loops for avx2 (compiled with that ISA's flags).
#include "peak/peak_impl.hpp"
#include "simd/vec_avx2.hpp"

namespace fastmlp {
const PeakLoops peak_avx2 = make_peak_loops<simd::Avx2<float>, simd::Avx2<double>>();
}  // namespace fastmlp

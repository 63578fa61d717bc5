// Peak-probe FMA loops for generic (compiled with that ISA's flags).
#include "peak/peak_impl.hpp"
#include "simd/vec_generic.hpp"

namespace fastmlp {
const PeakLoops peak_generic = make_peak_loops<simd::Generic<float>, simd::Generic<double>>();
}  // namespace fastmlp

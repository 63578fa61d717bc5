// Vectorized float32 activations for avx2 (compiled with that ISA's flags).
#include "elementwise/elementwise_impl.hpp"

namespace fastmlp {
const ElementwiseF32 elementwise_f32_avx2 = make_elementwise_f32();
}  // namespace fastmlp

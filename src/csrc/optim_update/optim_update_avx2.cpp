// Optimizer update loops for avx2 (compiled with that ISA's flags).
#include "optim_update/optim_update_impl.hpp"

namespace fastmlp {
const OptimUpdateKernels optim_update_avx2 = make_optim_update_kernels();
}  // namespace fastmlp

// One instruction set's kernels and numbers, as BLIS's config/<arch>/ holds them: each
// isa/<name>/config.cpp, compiled with that ISA's flags only, defines one KernelSet; the
// dispatch (isa/dispatch.hpp) picks one at import. Adding an ISA is a folder with its
// vector traits (vec.hpp) and its config.cpp, an Isa value and a CMake line.
#pragma once
#include <cstdint>

#include "elementwise/activation_grad.hpp"
#include "elementwise/elementwise.hpp"
#include "gemm/ukernel.hpp"
#include "isa/tuning.hpp"
#include "optim.hpp"
#include "peak/peak.hpp"

namespace fastmlp {

struct KernelSet {
  const char* name;
  GemmKernel<float> gemm_f32;
  GemmKernel<double> gemm_f64;
  ElementwiseF32 elementwise_f32;
  ActivationGradKernels activation_grad;
  OptimUpdateKernels optim_update;
  PeakLoops peak;
  Tuning tuning;

  template <class T>
  const GemmKernel<T>& gemm() const;
};
template <>
inline const GemmKernel<float>& KernelSet::gemm<float>() const {
  return gemm_f32;
}
template <>
inline const GemmKernel<double>& KernelSet::gemm<double>() const {
  return gemm_f64;
}

// Declared everywhere (so that each definition has external linkage), defined only
// where the build compiles that ISA (the AVX sets on x86 only).
extern const KernelSet kernels_generic;
extern const KernelSet kernels_avx2;
extern const KernelSet kernels_avx512;

}  // namespace fastmlp

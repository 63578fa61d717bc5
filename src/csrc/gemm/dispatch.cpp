#include "gemm/dispatch.hpp"

#include "elementwise/elementwise.hpp"
#include "optim.hpp"

#include <atomic>
#include <cstdlib>
#include <stdexcept>

namespace fastmlp {
namespace {

std::atomic<int> g_isa{static_cast<int>(Isa::generic)};

bool cpu_has(Isa isa) {
  switch (isa) {
    case Isa::generic:
      return true;
#if defined(FASTMLP_X86)
    // libgcc's checks include the OS's support for saving the wide registers.
    case Isa::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
             __builtin_cpu_supports("fma");
#endif
    default:
      return false;
  }
}

const Isa kAllIsas[] = {Isa::generic, Isa::avx2, Isa::avx512};

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::generic: return "generic";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "?";
}

std::vector<Isa> available_isas() {
  std::vector<Isa> out;
  for (Isa isa : kAllIsas)
    if (cpu_has(isa)) out.push_back(isa);
  return out;
}

Isa current_isa() { return static_cast<Isa>(g_isa.load(std::memory_order_relaxed)); }

void set_isa(const std::string& name) {
  for (Isa isa : kAllIsas) {
    if (name != isa_name(isa)) continue;
    if (!cpu_has(isa))
      throw std::invalid_argument("FASTMLP_ISA=" + name +
                                  ": this CPU (or this build) does not support it");
    g_isa.store(static_cast<int>(isa), std::memory_order_relaxed);
    return;
  }
  throw std::invalid_argument("FASTMLP_ISA=" + name +
                              ": unknown instruction set (expected generic, avx2 or avx512)");
}

void init_isa_from_environment() {
  const char* env = std::getenv("FASTMLP_ISA");
  if (env && *env) {
    set_isa(env);
  } else {
    g_isa.store(static_cast<int>(available_isas().back()), std::memory_order_relaxed);
  }
}

// The member of a per-ISA set (name_generic, name_avx2, name_avx512) for the ISA in use;
// only x86 builds compile the AVX sets (and set_isa refuses them elsewhere).
#if defined(FASTMLP_X86)
namespace {
template <class K>
const K& for_isa(const K& generic, const K& avx2, const K& avx512) {
  switch (current_isa()) {
    case Isa::avx512: return avx512;
    case Isa::avx2: return avx2;
    default: return generic;
  }
}
}  // namespace
#define FASTMLP_FOR_ISA(name) for_isa(name##_generic, name##_avx2, name##_avx512)
#else
#define FASTMLP_FOR_ISA(name) name##_generic
#endif

template <>
const GemmKernel<float>& gemm_kernel<float>() {
  return FASTMLP_FOR_ISA(gemm_f32);
}

template <>
const GemmKernel<double>& gemm_kernel<double>() {
  return FASTMLP_FOR_ISA(gemm_f64);
}

const ElementwiseF32& elementwise_f32() { return FASTMLP_FOR_ISA(elementwise_f32); }

const OptimUpdateKernels& optim_update_kernels() { return FASTMLP_FOR_ISA(optim_update); }

#undef FASTMLP_FOR_ISA

}  // namespace fastmlp

// The run-time choice, made once at import and in one place: the kernel set of an
// instruction set (the best the CPU supports, or the one FASTMLP_ISA names), the caches
// that the GEMM's blocking follows (detected, or FASTMLP_CACHES), and the blocking
// itself (the model's, or FASTMLP_BLOCKING). Every kernel reads them through the
// accessors below; a change (the tests' _set_isa, _set_caches) swaps one immutable
// configuration (RunConfig) for another.
#pragma once
#include <string>
#include <vector>

#include "cpu/blocking.hpp"
#include "cpu/cpu.hpp"
#include "isa/kernel_set.hpp"

namespace fastmlp {

enum class Isa : int { generic, avx2, avx512 };

const char* isa_name(Isa isa);
std::vector<Isa> available_isas();  // those this CPU and build can run, best last
// Throws std::invalid_argument for an unknown name or one the CPU lacks.
void set_isa(const std::string& name);
// FASTMLP_CACHES-style spec applied to the detected caches ("" : as detected), and a
// FASTMLP_BLOCKING-style spec replacing the model's blocks ("" : the model's). Both
// throw std::invalid_argument for a bad spec, leaving the configuration as it was.
void set_cache_spec(const std::string& spec);
void set_blocking_spec(const std::string& spec);
// FASTMLP_ISA (else the best ISA), FASTMLP_CACHES and FASTMLP_BLOCKING; throws
// std::invalid_argument naming the variable.
void init_from_environment();

const KernelSet& kernel_set(Isa isa);

// Everything a kernel reads from the run-time choice, immutable once published. A
// kernel that needs several parts (the micro-kernel and its blocks) reads them from one
// snapshot, so that a switch meanwhile cannot pair one ISA's kernel with another's
// blocks; the accessors below are shorthands for a single part.
struct RunConfig {
  Isa isa;
  const KernelSet* kernels;
  std::string cache_spec, blocking_spec;  // as given ("" : none)
  Caches caches;
  Blocking f32, f64;

  template <class T>
  const Blocking& blocking() const;
  const char* blocking_source() const { return blocking_spec.empty() ? "model" : "FASTMLP_BLOCKING"; }
};
template <>
inline const Blocking& RunConfig::blocking<float>() const {
  return f32;
}
template <>
inline const Blocking& RunConfig::blocking<double>() const {
  return f64;
}

const RunConfig& run_config();

inline const KernelSet& kernel_set() {
  return *run_config().kernels;
}
inline Isa current_isa() {
  return run_config().isa;
}
template <class T>
const GemmKernel<T>& gemm_kernel() {
  return kernel_set().gemm<T>();
}
inline const Tuning& tuning() {
  return kernel_set().tuning;
}

}  // namespace fastmlp

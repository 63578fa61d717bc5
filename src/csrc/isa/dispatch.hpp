// The run-time choice, made once at import and in one place: the kernel set of an
// instruction set (the best the CPU supports, or the one FASTMLP_ISA names), the caches
// that the GEMM's blocking follows (detected, or FASTMLP_CACHES), and the blocking
// itself (the model's, or FASTMLP_BLOCKING). Every kernel reads them through the
// accessors below; a change (the tests' _set_isa, _set_caches) swaps one immutable
// configuration for another, so a kernel running meanwhile keeps a consistent one.
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
Isa current_isa();
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

const KernelSet& kernel_set();  // the set in use
const KernelSet& kernel_set(Isa isa);
const Caches& caches_in_use();
const std::string& blocking_source();  // "model" or "FASTMLP_BLOCKING"

template <class T>
const GemmKernel<T>& gemm_kernel() {
  return kernel_set().gemm<T>();
}
template <class T>
const Blocking& gemm_blocking();
inline const Tuning& tuning() { return kernel_set().tuning; }

}  // namespace fastmlp

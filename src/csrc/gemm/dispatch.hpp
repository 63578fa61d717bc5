// Run-time choice of the micro-kernel set: the best the CPU supports, picked once at
// import, or the one FASTMLP_ISA names.
#pragma once
#include <string>
#include <vector>

#include "gemm/ukernel.hpp"

namespace fastmlp {

enum class Isa : int { generic, avx2, avx512 };

const char* isa_name(Isa isa);
std::vector<Isa> available_isas();  // those this CPU and build can run, best last
Isa current_isa();
// Throws std::invalid_argument for an unknown name or one the CPU lacks.
void set_isa(const std::string& name);
// Applies FASTMLP_ISA if set, else the best available ISA.
void init_isa_from_environment();

template <class T>
const GemmKernel<T>& gemm_kernel();

}  // namespace fastmlp

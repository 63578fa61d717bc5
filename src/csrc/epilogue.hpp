// The part of the epilogue that runs on a finished tile while it is still in L1:
// keep the pre-activation if asked, then apply the activation. Bias and ReLU are
// folded into the micro-kernel itself (see ukernel_flags); softmax, which needs the
// whole row, runs after the GEMM.
#pragma once
#include <cstdint>

#include "common.hpp"

namespace fastmlp {

// Whether the micro-kernel applies the activation in registers (relu, unless the
// pre-activation must be kept first).
template <class T>
inline bool activation_in_ukernel(const Epilogue<T>& ep) {
  return ep.act == Activation::relu && ep.pre == nullptr;
}

// Tile [i0, i0+mr) x [j0, j0+nr) of C has its final value A B + bias.
template <class T>
void finish_tile(const Epilogue<T>& ep, T* c, int64_t ldc, int64_t i0, int64_t j0, int64_t mr,
                 int64_t nr);

}  // namespace fastmlp

// The part of the epilogue that runs on a finished tile while it is still in cache: add
// the bias, keep the pre-activation if asked, apply the activation — each unless the
// micro-kernel already did it in registers. Softmax, which needs whole rows, runs after
// the GEMM (dense.cpp).
#pragma once
#include <cstdint>

#include "common.hpp"

namespace fastmlp {

// What the micro-kernel has already applied to a tile.
enum EpilogueDone : unsigned {
  kBiasAdded = 1u,
  kActivationApplied = 2u,
};

// Whether the packed micro-kernel applies the activation in registers (relu, unless the
// pre-activation must be kept first).
template <class T>
inline bool activation_in_ukernel(const Epilogue<T>& ep) {
  return ep.act == Activation::relu && ep.pre == nullptr;
}

// Tile [i0, i0+mr) x [j0, j0+nr) of C holds A B (plus what `done` says).
template <class T>
void finish_tile(const Epilogue<T>& ep, unsigned done, T* c, int64_t ldc, int64_t i0, int64_t j0, int64_t mr,
                 int64_t nr);

}  // namespace fastmlp

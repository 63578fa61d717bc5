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

// What a tile of C that holds A B plus what `done` says still needs: its bias, its
// activation (softmax runs after the GEMM), or either or the pre-activation kept.
template <class T>
inline bool bias_left(const Epilogue<T>& ep, unsigned done) {
  return ep.bias && !(done & kBiasAdded);
}
template <class T>
inline bool activation_left(const Epilogue<T>& ep, unsigned done) {
  return !(done & kActivationApplied) && ep.act != Activation::identity && ep.act != Activation::softmax;
}
template <class T>
inline bool epilogue_left(const Epilogue<T>& ep, unsigned done) {
  return bias_left(ep, done) || ep.pre || activation_left(ep, done);
}

// The epilogue of tile [i0, i0+mr) x [j0, j0+nr) of C, which holds A B (plus what `done`
// says). Out of line, and called only when epilogue_left: a call per tile that had
// nothing left to do (a fused bias and ReLU) took 1.7% of a 2-256-256-256-1 epoch on its
// prologue alone.
template <class T>
void finish_tile_rows(const Epilogue<T>& ep, unsigned done, T* c, int64_t ldc, int64_t i0, int64_t j0,
                      int64_t mr, int64_t nr);

template <class T>
inline void finish_tile(const Epilogue<T>& ep, unsigned done, T* c, int64_t ldc, int64_t i0, int64_t j0,
                        int64_t mr, int64_t nr) {
  if (epilogue_left(ep, done)) finish_tile_rows(ep, done, c, ldc, i0, j0, mr, nr);
}

}  // namespace fastmlp

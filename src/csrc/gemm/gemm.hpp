// C = epilogue(A B): a Goto/BLIS-style packed GEMM on the micro-kernel the dispatch
// picked. Threads split M and N only, never K, so every element of C is summed in the
// same order whatever the number of threads: results are bit-identical.
#pragma once
#include <cstdint>

#include "common.hpp"

namespace fastmlp {

// A is m x k, B is k x n (any strides), C is m x n row-major with row stride ldc.
// Softmax in the epilogue is not applied here (it needs whole rows): see dense.hpp.
template <class T>
void gemm(int64_t m, int64_t n, int64_t k, MatView<T> a, MatView<T> b, T* c, int64_t ldc,
          const Epilogue<T>& ep = {});

}  // namespace fastmlp

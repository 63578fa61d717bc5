#include "epilogue.hpp"

#include <algorithm>

#include "activations.hpp"

namespace fastmlp {

template <class T>
void finish_tile(const Epilogue<T>& ep, T* c, int64_t ldc, int64_t i0, int64_t j0, int64_t mr,
                 int64_t nr) {
  const bool act_here = !activation_in_ukernel(ep) && ep.act != Activation::identity &&
                        ep.act != Activation::softmax;
  if (!ep.pre && !act_here) return;
  for (int64_t i = i0; i < i0 + mr; ++i) {
    T* row = c + i * ldc + j0;
    if (ep.pre) std::copy(row, row + nr, ep.pre + i * ep.ldpre + j0);
    if (act_here) activation_forward(ep.act, ep.negative_slope, row, row, nr);
  }
}

template void finish_tile<float>(const Epilogue<float>&, float*, int64_t, int64_t, int64_t,
                                 int64_t, int64_t);
template void finish_tile<double>(const Epilogue<double>&, double*, int64_t, int64_t, int64_t,
                                  int64_t, int64_t);

}  // namespace fastmlp

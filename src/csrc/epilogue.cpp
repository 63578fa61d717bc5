#include "epilogue.hpp"

#include <algorithm>

#include "activations.hpp"

namespace fastmlp {

template <class T>
void finish_tile_rows(const Epilogue<T>& ep, unsigned done, T* c, int64_t ldc, int64_t i0, int64_t j0,
                      int64_t mr, int64_t nr) {
  const bool add_bias = bias_left(ep, done);
  const bool act_here = activation_left(ep, done);
  const T* bias = ep.bias + j0 * ep.bias_stride;
  for (int64_t i = i0; i < i0 + mr; ++i) {
    T* row = c + i * ldc + j0;
    if (add_bias)
      for (int64_t j = 0; j < nr; ++j) row[j] += bias[j * ep.bias_stride];
    if (ep.pre) std::copy(row, row + nr, ep.pre + i * ep.ldpre + j0);
    if (act_here) activation_forward(ep.act, ep.negative_slope, row, row, nr);
  }
}

template void finish_tile_rows<float>(const Epilogue<float>&, unsigned, float*, int64_t, int64_t, int64_t,
                                      int64_t, int64_t);
template void finish_tile_rows<double>(const Epilogue<double>&, unsigned, double*, int64_t, int64_t, int64_t,
                                       int64_t, int64_t);

}  // namespace fastmlp

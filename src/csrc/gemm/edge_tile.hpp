// Edge tiles: a micro-kernel writes a tile that C cannot take directly (a transposed C,
// or a packed-path tile past C's edge) into a full-size buffer, moved to C from there.
#pragma once
#include <cstdint>

namespace fastmlp {

// Moves an mr x nr tile from the edge buffer (row stride NR) to C' (element (i, j) at
// c[i*rs + j*cs]) if to_c, else back. The inner loop runs along C's unit stride: a
// transposed C' would otherwise take one strided store per element.
template <bool to_c, class T>
inline void move_tile(T* edge, int64_t NR, T* c, int64_t rs, int64_t cs, int64_t mr, int64_t nr) {
  auto move = [&](int64_t i, int64_t j) {
    if constexpr (to_c)
      c[i * rs + j * cs] = edge[i * NR + j];
    else
      edge[i * NR + j] = c[i * rs + j * cs];
  };
  if (cs == 1) {
    for (int64_t i = 0; i < mr; ++i)
      for (int64_t j = 0; j < nr; ++j) move(i, j);
  } else {
    for (int64_t j = 0; j < nr; ++j)
      for (int64_t i = 0; i < mr; ++i) move(i, j);
  }
}

}  // namespace fastmlp

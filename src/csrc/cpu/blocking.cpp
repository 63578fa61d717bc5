#include "cpu/blocking.hpp"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

namespace fastmlp {
namespace {

int64_t round_down(int64_t v, int64_t m) {
  return v / m * m;
}

}  // namespace

double per_thread(const CacheLevel& c) {
  return double(c.size) / std::max(1, c.shared_by);
}

Blocking model_blocking(const Caches& caches, TileSizes tiles, int elem_bytes) {
  const int mr = tiles.mr, nr = tiles.nr;
  const double S = elem_bytes;
  const double b_block = per_thread(caches.l2) * kL2Share;
  int64_t kc = static_cast<int64_t>(b_block / (kMinPanels * nr * S));
  kc = std::clamp<int64_t>(round_down(kc, 8), kMinKc, kMaxKc);
  int64_t nc = round_down(static_cast<int64_t>(b_block / (kc * S)), nr);
  nc = std::max<int64_t>(nc, nr);

  const double a_block = caches.l3.size > 0 ? double(caches.l3.size) * kL3Share : 2 * per_thread(caches.l2);
  int64_t mc = round_down(static_cast<int64_t>(a_block / ((kc + nc) * S)), mr);
  mc = std::clamp<int64_t>(mc, mr, round_down(kMaxMc, mr));
  // B in place is read once per small_mr rows of A: a shorter tile reads it more often.
  const double small_b = b_block / S * std::min(1.0, tiles.small_mr / double(kSmallFullMr));
  return {mc, kc, nc, static_cast<int64_t>(small_b)};
}

Blocking parse_blocking(const std::string& spec, Blocking base, TileSizes tiles) {
  const int mr = tiles.mr, nr = tiles.nr;
  const std::vector<std::string> items = spec_items(spec);
  for (const std::string& item : items) {
    const size_t eq = item.find('=');
    char* end = nullptr;
    const long long v = eq == std::string::npos ? 0 : std::strtoll(item.c_str() + eq + 1, &end, 10);
    const std::string key = eq == std::string::npos ? item : item.substr(0, eq);
    const long long v_min = key == "small" ? 0 : 1, v_max = key == "small" ? 1ll << 40 : 1 << 20;
    if (eq == std::string::npos || end == item.c_str() + eq + 1 || *end || v < v_min || v > v_max)
      throw std::invalid_argument(
          "FASTMLP_BLOCKING: expected mc=N, kc=N, nc=N (N >= 1) or small=N (N >= 0), got '" + item + "'");
    if (key == "small")
      base.small_kn = v;
    else if (key == "mc")
      base.mc = std::max<int64_t>(mr, round_down(v, mr));
    else if (key == "kc")
      base.kc = v;
    else if (key == "nc")
      base.nc = std::max<int64_t>(nr, round_down(v, nr));
    else
      throw std::invalid_argument("FASTMLP_BLOCKING: unknown key '" + key +
                                  "' (expected mc, kc, nc or small)");
  }
  if (items.empty()) throw std::invalid_argument("FASTMLP_BLOCKING: empty specification");
  return base;
}

}  // namespace fastmlp

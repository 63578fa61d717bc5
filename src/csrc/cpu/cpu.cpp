#include "cpu/cpu.hpp"

#include <unistd.h>

#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <cpuid.h>
#define FASTMLP_HAS_CPUID 1
#endif

namespace fastmlp {
namespace {

#if defined(FASTMLP_HAS_CPUID)
struct Regs {
  unsigned a = 0, b = 0, c = 0, d = 0;
};

bool cpuid(unsigned leaf, unsigned sub, Regs& r) {
  return __get_cpuid_count(leaf, sub, &r.a, &r.b, &r.c, &r.d) != 0;
}

CpuIdentity read_identity() {
  CpuIdentity id;
  Regs r;
  if (!cpuid(0, 0, r)) return id;
  char vendor[13] = {};
  std::memcpy(vendor, &r.b, 4);
  std::memcpy(vendor + 4, &r.d, 4);
  std::memcpy(vendor + 8, &r.c, 4);
  id.vendor = vendor;
  if (cpuid(1, 0, r)) {
    const unsigned base_family = (r.a >> 8) & 0xF, base_model = (r.a >> 4) & 0xF;
    id.stepping = static_cast<int>(r.a & 0xF);
    id.family = static_cast<int>(base_family == 0xF ? base_family + ((r.a >> 20) & 0xFF) : base_family);
    id.model = static_cast<int>(
        base_family == 0xF || base_family == 0x6 ? base_model + (((r.a >> 16) & 0xF) << 4) : base_model);
  }
  Regs ext;
  if (cpuid(0x80000000u, 0, ext) && ext.a >= 0x80000004u) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      Regs p;
      cpuid(0x80000002u + i, 0, p);
      std::memcpy(brand + 16 * i, &p, 16);
    }
    std::string s = brand;
    const auto first = s.find_first_not_of(' '), last = s.find_last_not_of(' ');
    id.brand = first == std::string::npos ? "" : s.substr(first, last - first + 1);
  }
  return id;
}

// The deterministic cache parameters leaf: 4 on Intel, 0x8000001D on AMD (and Hygon),
// where CPUID 0x80000001 ECX bit 22 (topology extensions) says it exists. Both encode
// each cache the same way.
bool read_cpuid_caches(const CpuIdentity& id, Caches& out) {
  unsigned leaf = 4;
  if (id.vendor == "AuthenticAMD" || id.vendor == "HygonGenuine") {
    Regs r;
    if (!cpuid(0x80000001u, 0, r) || !(r.c & (1u << 22))) return false;
    leaf = 0x8000001Du;
  } else if (id.vendor != "GenuineIntel") {
    return false;
  }
  bool any = false;
  for (unsigned sub = 0; sub < 16; ++sub) {
    Regs r;
    if (!cpuid(leaf, sub, r)) break;
    const unsigned type = r.a & 0x1F;  // 0: no more caches; 1 data, 2 instruction, 3 unified
    if (type == 0) break;
    if (type == 2) continue;
    const int level = static_cast<int>((r.a >> 5) & 0x7);
    CacheLevel c;
    c.ways = static_cast<int>((r.b >> 22) + 1);
    const int64_t partitions = ((r.b >> 12) & 0x3FF) + 1;
    c.line = static_cast<int>((r.b & 0xFFF) + 1);
    const int64_t sets = int64_t(r.c) + 1;
    c.size = c.ways * partitions * c.line * sets;
    c.shared_by = static_cast<int>(((r.a >> 14) & 0xFFF) + 1);
    if (r.a & (1u << 9)) c.ways = 0;  // fully associative: no set conflicts to model
    if (level == 1) out.l1d = c;
    if (level == 2) out.l2 = c;
    if (level == 3) out.l3 = c;
    any = any || level == 1 || level == 2;
  }
  return any && out.l1d.size > 0 && out.l2.size > 0;
}
#endif

bool read_text(const std::string& path, std::string& out) {
  std::ifstream f(path);
  if (!f) return false;
  std::getline(f, out);
  return true;
}

// "32K" -> 32768 (sysfs's format).
int64_t parse_sysfs_size(const std::string& s) {
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (end == s.c_str() || v < 0) return 0;
  int64_t mult = 1;
  if (*end == 'K') mult = 1024;
  if (*end == 'M') mult = 1024 * 1024;
  return v * mult;
}

// Counts the CPUs in a sysfs list like "0-3,8-11".
int count_cpu_list(const std::string& list) {
  int n = 0;
  size_t pos = 0;
  while (pos < list.size()) {
    const size_t comma = list.find(',', pos);
    const std::string item = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    const size_t dash = item.find('-');
    if (dash == std::string::npos)
      n += 1;
    else
      n += std::atoi(item.c_str() + dash + 1) - std::atoi(item.c_str()) + 1;
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return n > 0 ? n : 1;
}

bool read_sysfs_caches(Caches& out) {
  bool any = false;
  for (int i = 0; i < 16; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::string level, type, size, ways, line, shared;
    if (!read_text(dir + "level", level) || !read_text(dir + "type", type)) break;
    if (type == "Instruction" || !read_text(dir + "size", size)) continue;
    CacheLevel c;
    c.size = parse_sysfs_size(size);
    if (read_text(dir + "ways_of_associativity", ways)) c.ways = std::atoi(ways.c_str());
    if (read_text(dir + "coherency_line_size", line) && std::atoi(line.c_str()) > 0)
      c.line = std::atoi(line.c_str());
    if (read_text(dir + "shared_cpu_list", shared)) c.shared_by = count_cpu_list(shared);
    const int lv = std::atoi(level.c_str());
    if (lv == 1) out.l1d = c;
    if (lv == 2) out.l2 = c;
    if (lv == 3) out.l3 = c;
    any = true;
  }
  return any && out.l1d.size > 0 && out.l2.size > 0;
}

bool read_sysconf_caches(Caches& out) {
#if defined(_SC_LEVEL1_DCACHE_SIZE)
  auto get = [](int name) {
    const long v = sysconf(name);
    return v > 0 ? int64_t(v) : int64_t(0);
  };
  out.l1d.size = get(_SC_LEVEL1_DCACHE_SIZE);
  out.l1d.ways = static_cast<int>(get(_SC_LEVEL1_DCACHE_ASSOC));
  out.l2.size = get(_SC_LEVEL2_CACHE_SIZE);
  out.l2.ways = static_cast<int>(get(_SC_LEVEL2_CACHE_ASSOC));
  out.l3.size = get(_SC_LEVEL3_CACHE_SIZE);
  out.l3.ways = static_cast<int>(get(_SC_LEVEL3_CACHE_ASSOC));
  return out.l1d.size > 0 && out.l2.size > 0;
#else
  (void)out;
  return false;
#endif
}

Caches read_caches() {
  Caches c;
#if defined(FASTMLP_HAS_CPUID)
  if (read_cpuid_caches(cpu_identity(), c)) {
    c.source = "cpuid";
    return c;
  }
#endif
  c = Caches{};
  if (read_sysfs_caches(c)) {
    c.source = "sysfs";
    return c;
  }
  c = Caches{};
  if (read_sysconf_caches(c)) {
    c.source = "sysconf";
    return c;
  }
  // Nothing to read (a sandbox without sysfs, an exotic OS): the smallest caches of
  // current desktop and server cores, so that the blocks fit wherever it runs.
  c = Caches{};
  c.l1d = {32 * 1024, 8, 64, 1};
  c.l2 = {256 * 1024, 4, 64, 1};
  c.l3 = {};
  c.source = "default";
  return c;
}

int64_t parse_size(const std::string& text, const std::string& item) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  double mult = 1;
  const std::string unit = end ? std::string(end) : std::string();
  if (unit == "K" || unit == "k" || unit == "KiB")
    mult = 1024.0;
  else if (unit == "M" || unit == "m" || unit == "MiB")
    mult = 1024.0 * 1024;
  else if (unit == "G" || unit == "g" || unit == "GiB")
    mult = 1024.0 * 1024 * 1024;
  else if (!unit.empty())
    throw std::invalid_argument("FASTMLP_CACHES: bad size in '" + item + "'");
  if (end == text.c_str() || !(v >= 0) || v * mult > 1e12)
    throw std::invalid_argument("FASTMLP_CACHES: bad size in '" + item + "'");
  return static_cast<int64_t>(v * mult);
}

}  // namespace

const CpuIdentity& cpu_identity() {
#if defined(FASTMLP_HAS_CPUID)
  static const CpuIdentity id = read_identity();
#else
  static const CpuIdentity id;
#endif
  return id;
}

const Caches& detected_caches() {
  static const Caches c = read_caches();
  return c;
}

std::vector<std::string> spec_items(const std::string& spec) {
  std::vector<std::string> items;
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    if (comma == std::string::npos) comma = spec.size();
    if (comma > pos) items.push_back(spec.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return items;
}

Caches parse_caches(const std::string& spec, Caches base) {
  const std::vector<std::string> items = spec_items(spec);
  for (const std::string& item : items) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos)
      throw std::invalid_argument("FASTMLP_CACHES: expected LEVEL=SIZE[/WAYS], got '" + item + "'");
    const std::string level = item.substr(0, eq), value = item.substr(eq + 1);
    CacheLevel* c = level == "l1d" || level == "l1" ? &base.l1d
                    : level == "l2"                 ? &base.l2
                    : level == "l3"                 ? &base.l3
                                                    : nullptr;
    if (!c)
      throw std::invalid_argument("FASTMLP_CACHES: unknown level '" + level + "' (expected l1d, l2 or l3)");
    const size_t slash = value.find('/');
    c->size = parse_size(value.substr(0, slash), item);
    if (slash != std::string::npos) {
      const int ways = std::atoi(value.c_str() + slash + 1);
      if (ways < 1 || ways > 64) throw std::invalid_argument("FASTMLP_CACHES: bad ways in '" + item + "'");
      c->ways = ways;
    }
    c->shared_by = 1;  // an override states the share one thread may use
    if (c != &base.l3 && c->size < 4096)
      throw std::invalid_argument("FASTMLP_CACHES: '" + item + "' is smaller than 4 KiB");
  }
  if (items.empty()) throw std::invalid_argument("FASTMLP_CACHES: empty specification");
  base.source += "+FASTMLP_CACHES";
  return base;
}

}  // namespace fastmlp

// What the running CPU is and what its data caches are, so that the blocking
// (cpu/blocking.hpp) follows the machine instead of numbers fitted on one of them.
// Read once from CPUID (leaf 4 on Intel, 0x8000001D on AMD), else from Linux's sysfs,
// else from sysconf; FASTMLP_CACHES overrides any level (see parse_caches).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace fastmlp {

struct CacheLevel {
  int64_t size = 0;   // bytes of one instance; 0: absent or unknown
  int ways = 0;       // associativity; 0: unknown
  int line = 64;      // bytes
  int shared_by = 1;  // logical CPUs that share one instance
};

struct Caches {
  CacheLevel l1d, l2, l3;
  std::string source;  // "cpuid", "sysfs", "sysconf", "default", plus "+FASTMLP_CACHES"
};

struct CpuIdentity {
  std::string vendor;                       // "AuthenticAMD", "GenuineIntel", ... ("" off x86)
  std::string brand;                        // the brand string, e.g. "AMD EPYC 7B13 64-Core Processor"
  int family = 0, model = 0, stepping = 0;  // display family / model (extended fields folded in)
};

// Both read the hardware once and keep the answer.
const CpuIdentity& cpu_identity();
const Caches& detected_caches();

// `base` with the levels named in spec replaced. spec is a comma-separated list of
// LEVEL=SIZE[/WAYS] with LEVEL l1d, l2 or l3 and SIZE in bytes or with a K, M or G
// suffix (powers of 1024), e.g. "l2=512K/8,l3=32M"; l3=0 means no L3. Throws
// std::invalid_argument naming the bad item.
Caches parse_caches(const std::string& spec, Caches base);

// The non-empty comma-separated items of an override spec (FASTMLP_CACHES, FASTMLP_BLOCKING).
std::vector<std::string> spec_items(const std::string& spec);

}  // namespace fastmlp

#include "isa/dispatch.hpp"

#include <atomic>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <stdexcept>

namespace fastmlp {
namespace {

bool cpu_has(Isa isa) {
  switch (isa) {
    case Isa::generic:
      return true;
#if defined(FASTMLP_X86)
    // libgcc's checks include the OS's support for saving the wide registers.
    case Isa::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
             __builtin_cpu_supports("fma");
#endif
    default:
      return false;
  }
}

template <class T>
TileSizes tile_sizes(const GemmKernel<T>& kern) {
  return {kern.packed.mr, kern.packed.nr, kern.small.mr};
}

const Isa kAllIsas[] = {Isa::generic, Isa::avx2, Isa::avx512};

RunConfig build(Isa isa, const std::string& cache_spec, const std::string& blocking_spec) {
  const KernelSet& ks = kernel_set(isa);
  RunConfig c{isa, &ks, cache_spec, blocking_spec, detected_caches(), {}, {}};
  if (!cache_spec.empty()) c.caches = parse_caches(cache_spec, c.caches);
  const TileSizes f32 = tile_sizes(ks.gemm_f32), f64 = tile_sizes(ks.gemm_f64);
  c.f32 = model_blocking(c.caches, f32, sizeof(float));
  c.f64 = model_blocking(c.caches, f64, sizeof(double));
  if (!blocking_spec.empty()) {
    c.f32 = parse_blocking(blocking_spec, c.f32, f32);
    c.f64 = parse_blocking(blocking_spec, c.f64, f64);
  }
  return c;
}

// Configurations are kept, never freed, so a kernel may hold a pointer to one while
// another thread switches; each distinct choice is built once (tests switch thousands
// of times among a few).
std::mutex g_mutex;
std::deque<RunConfig> g_configs;
std::atomic<const RunConfig*> g_config{nullptr};

void publish(Isa isa, const std::string& cache_spec, const std::string& blocking_spec) {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (const RunConfig& c : g_configs) {
    if (c.isa == isa && c.cache_spec == cache_spec && c.blocking_spec == blocking_spec) {
      g_config.store(&c, std::memory_order_release);
      return;
    }
  }
  g_configs.push_back(build(isa, cache_spec, blocking_spec));  // throws before publishing
  g_config.store(&g_configs.back(), std::memory_order_release);
}

Isa parse_isa(const std::string& name) {
  for (Isa isa : kAllIsas) {
    if (name != isa_name(isa)) continue;
    if (!cpu_has(isa))
      throw std::invalid_argument("FASTMLP_ISA=" + name + ": this CPU (or this build) does not support it");
    return isa;
  }
  throw std::invalid_argument("FASTMLP_ISA=" + name +
                              ": unknown instruction set (expected generic, avx2 or avx512)");
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::generic:
      return "generic";
    case Isa::avx2:
      return "avx2";
    case Isa::avx512:
      return "avx512";
  }
  return "?";
}

std::vector<Isa> available_isas() {
  std::vector<Isa> out;
  for (Isa isa : kAllIsas)
    if (cpu_has(isa)) out.push_back(isa);
  return out;
}

const KernelSet& kernel_set(Isa isa) {
  switch (isa) {
#if defined(FASTMLP_X86)
    case Isa::avx512:
      return kernels_avx512;
    case Isa::avx2:
      return kernels_avx2;
#endif
    default:
      return kernels_generic;
  }
}

const RunConfig& run_config() {
  const RunConfig* c = g_config.load(std::memory_order_acquire);
  if (c) return *c;
  init_from_environment();  // a kernel called before the import's initialisation
  return *g_config.load(std::memory_order_acquire);
}

void set_isa(const std::string& name) {
  const RunConfig& c = run_config();
  publish(parse_isa(name), c.cache_spec, c.blocking_spec);
}

void set_cache_spec(const std::string& spec) {
  const RunConfig& c = run_config();
  publish(c.isa, spec, c.blocking_spec);
}

void set_blocking_spec(const std::string& spec) {
  const RunConfig& c = run_config();
  publish(c.isa, c.cache_spec, spec);
}

void init_from_environment() {
  const std::string isa = env_or_empty("FASTMLP_ISA");
  publish(isa.empty() ? available_isas().back() : parse_isa(isa), env_or_empty("FASTMLP_CACHES"),
          env_or_empty("FASTMLP_BLOCKING"));
}

const ElementwiseF32& elementwise_f32() {
  return kernel_set().elementwise_f32;
}

const ActivationGradKernels& activation_grad_kernels() {
  return kernel_set().activation_grad;
}

const OptimUpdateKernels& optim_update_kernels() {
  return kernel_set().optim_update;
}

}  // namespace fastmlp

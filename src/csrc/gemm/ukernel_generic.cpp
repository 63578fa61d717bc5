// Portable micro-kernels: GCC/Clang vector extensions of 16 bytes, which compile to
// SSE2 on any x86-64 (and to NEON elsewhere). No FMA: the baseline has none.
#include "gemm/ukernel_impl.hpp"

namespace fastmlp {
namespace {

template <class Scalar>
struct Vec16 {
  using T = Scalar;
  static constexpr int width = 16 / sizeof(T);
  typedef T vec __attribute__((vector_size(16)));
  typedef T vec_u __attribute__((vector_size(16), aligned(sizeof(T))));
  static vec load(const T* p) { return *reinterpret_cast<const vec*>(p); }
  static vec loadu(const T* p) { return *reinterpret_cast<const vec_u*>(p); }
  static void storeu(T* p, vec x) { *reinterpret_cast<vec_u*>(p) = x; }
  static vec zero() { return vec{} ; }
  static vec set1(T x) { return vec{} + x; }
  static vec fma(vec a, vec b, vec c) { return a * b + c; }
  static vec relu(vec x) { return x < 0 ? vec{} : x; }  // NaN stays NaN, as in PyTorch
};

}  // namespace

// 6 x 2 vectors: 12 accumulators + 2 B vectors + 1 broadcast fit the 16 SSE registers.
const GemmKernel<float> gemm_f32_generic = make_gemm_kernel<Vec16<float>, 6, 2>("generic", 1536, 256, 512);
const GemmKernel<double> gemm_f64_generic = make_gemm_kernel<Vec16<double>, 6, 2>("generic", 1536, 256, 256);

}  // namespace fastmlp

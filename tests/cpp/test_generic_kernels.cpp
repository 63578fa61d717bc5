// The generic kernel set without Python, for CPUs other than x86-64: .ci/aarch64 builds
// this with a cross-compiler and runs it under qemu-aarch64 (it also runs natively).
// Each check compares with a naive float64 computation written here; a failure prints
// what differed and the program exits 1.
//
//   GEMM: sizes around the register tile and the cache blocks (the model's and
//         small forced ones), row-major, transposed
//         and strided operands, bias + activation epilogues, float32 and float64
//   activations: every elementwise one, forward and backward, and softmax rows
//   a training step: loss_and_grads of a 2-layer tanh MLP against hand-written
//         backpropagation, then train_step (SGD) moves the weights by -lr * gradient
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "activations.hpp"
#include "gemm/gemm.hpp"
#include "isa/dispatch.hpp"
#include "mlp.hpp"
#include "threads.hpp"

using namespace fastmlp;

namespace {

int g_failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    ++g_failures;
    std::printf("FAIL %s\n", what.c_str());
  }
}

template <class T>
const char* dtype_name() {
  return sizeof(T) == 4 ? "float32" : "float64";
}

template <class T>
double tolerance(int64_t k = 1) {
  return (sizeof(T) == 4 ? 2e-5 : 1e-12) * std::sqrt(double(k > 1 ? k : 1));
}

template <class T>
std::vector<T> random_values(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<T> v(n);
  for (T& x : v) x = T(u(rng));
  return v;
}

// max |got - ref| / max(1, max |ref|); NaN where got has a NaN. Branches, not fmax:
// GCC 12 for aarch64 fails (internal compiler error) vectorising an fmax reduction here.
template <class T>
double relative_error(const T* got, const std::vector<double>& ref) {
  double err = 0, scale = 1;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double d = std::fabs(double(got[i]) - ref[i]);
    if (!(d <= err)) err = d;
    if (std::fabs(ref[i]) > scale) scale = std::fabs(ref[i]);
  }
  return err / scale;
}

double reference_activation(Activation act, double x, double slope) {
  switch (act) {
    case Activation::identity:
      return x;
    case Activation::relu:
      return x > 0 ? x : 0;
    case Activation::leaky_relu:
      return x > 0 ? x : slope * x;
    case Activation::sigmoid:
      return 1 / (1 + std::exp(-x));
    case Activation::tanh:
      return std::tanh(x);
    case Activation::gelu:
      return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    case Activation::step:
      return x >= 0 ? 1 : 0;
    default:
      return NAN;
  }
}

double reference_derivative(Activation act, double x, double slope) {
  const double s = 1 / (1 + std::exp(-x));
  switch (act) {
    case Activation::identity:
      return 1;
    case Activation::relu:
      return x > 0 ? 1 : 0;
    case Activation::leaky_relu:
      return x > 0 ? 1 : slope;
    case Activation::sigmoid:
      return s * (1 - s);
    case Activation::tanh:
      return 1 - std::tanh(x) * std::tanh(x);
    case Activation::gelu:
      return 0.5 * (1 + std::erf(x / std::sqrt(2.0))) + x * std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI);
    default:
      return NAN;
  }
}

// C = act(op(A) op(B) + bias) with A stored m x k (or k x m transposed, or every other
// column of a wider array), B k x n (or n x k transposed, as a dense layer's W^T).
template <class T>
void check_gemm(int64_t m, int64_t n, int64_t k, bool a_trans, bool b_trans, bool a_strided, Activation act,
                std::mt19937& rng) {
  const int64_t a_step = a_strided ? 2 : 1;
  std::vector<T> a = random_values<T>(size_t(m * k * a_step), rng);
  std::vector<T> b = random_values<T>(size_t(k * n), rng);
  std::vector<T> bias = random_values<T>(size_t(n), rng);
  MatView<T> av =
      a_trans ? MatView<T>{a.data(), a_step, m * a_step} : MatView<T>{a.data(), k * a_step, a_step};
  MatView<T> bv = b_trans ? MatView<T>{b.data(), 1, k} : MatView<T>{b.data(), n, 1};
  std::vector<double> ref(size_t(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = bias[j];
      for (int64_t p = 0; p < k; ++p) s += double(av(i, p)) * double(bv(p, j));
      ref[i * n + j] = reference_activation(act, s, 0.01);
    }
  std::vector<T> c(size_t(m * n), T(NAN));
  Epilogue<T> ep;
  ep.bias = bias.data();
  ep.act = act;
  gemm<T>(m, n, k, av, bv, c.data(), n, ep);
  const double err = relative_error(c.data(), ref);
  char what[200];
  std::snprintf(what, sizeof what, "gemm %s %lldx%lldx%lld%s%s%s %s: error %.3g", dtype_name<T>(),
                (long long)m, (long long)n, (long long)k, a_trans ? " A^T" : "", b_trans ? " B^T" : "",
                a_strided ? " strided A" : "", activation_name(act), err);
  expect(err <= tolerance<T>(k), what);
}

template <class T>
void check_gemms(std::mt19937& rng) {
  const int64_t sizes[][3] = {{1, 1, 1},     {3, 5, 7},    {17, 33, 9},  {64, 64, 64},
                              {1, 200, 300}, {100, 1, 50}, {61, 97, 130}};
  // The cache model's blocks (and the unpacked path for few rows), then blocks small
  // enough that these sizes span several in every dimension, always packed.
  for (const char* blocking : {"", "mc=24,kc=40,nc=48,small=0"}) {
    set_blocking_spec(blocking);
    for (const auto& s : sizes)
      for (int variant = 0; variant < 4; ++variant)
        check_gemm<T>(s[0], s[1], s[2], variant & 1, variant & 2, variant == 3,
                      variant == 0   ? Activation::relu
                      : variant == 1 ? Activation::identity
                                     : Activation::tanh,
                      rng);
  }
  set_blocking_spec("");
}

template <class T>
void check_activations(std::mt19937& rng) {
  const int64_t n = 1000;  // not a multiple of any vector width
  std::vector<T> x = random_values<T>(n, rng), g = random_values<T>(n, rng);
  for (T& v : x) v *= T(8);  // both tails of sigmoid, tanh and gelu
  const T slope = T(0.01);
  for (Activation act : {Activation::identity, Activation::relu, Activation::leaky_relu, Activation::sigmoid,
                         Activation::tanh, Activation::gelu, Activation::step}) {
    std::vector<T> y(n), gx(n);
    activation_forward<T>(act, slope, x.data(), y.data(), n);
    std::vector<double> ref(n), gref(n);
    for (int64_t i = 0; i < n; ++i) {
      ref[i] = reference_activation(act, x[i], slope);
      gref[i] = double(g[i]) * reference_derivative(act, x[i], slope);
    }
    expect(relative_error(y.data(), ref) <= tolerance<T>(),
           std::string("forward ") + activation_name(act) + " " + dtype_name<T>());
    if (act == Activation::step) continue;  // no gradient
    activation_backward<T>(act, slope, g.data(), y.data(), x.data(), gx.data(), n);
    expect(relative_error(gx.data(), gref) <= tolerance<T>(),
           std::string("backward ") + activation_name(act) + " " + dtype_name<T>());
  }
  const int64_t rows = 7, cols = 37;
  std::vector<T> z = random_values<T>(rows * cols, rng), p(rows * cols);
  activation_forward_2d<T>(Activation::softmax, slope, z.data(), p.data(), rows, cols);
  std::vector<double> ref(rows * cols);
  for (int64_t i = 0; i < rows; ++i) {
    double sum = 0;
    for (int64_t j = 0; j < cols; ++j) sum += std::exp(double(z[i * cols + j]));
    for (int64_t j = 0; j < cols; ++j) ref[i * cols + j] = std::exp(double(z[i * cols + j])) / sum;
  }
  expect(relative_error(p.data(), ref) <= tolerance<T>(), std::string("softmax ") + dtype_name<T>());
}

// A 5-8-3 network, tanh then identity, mean squared error on 16 rows.
template <class T>
void check_train_step(std::mt19937& rng) {
  const int64_t m = 16, n_in = 5, n_hid = 8, n_out = 3;
  std::vector<T> w1 = random_values<T>(n_hid * n_in, rng), b1 = random_values<T>(n_hid, rng);
  std::vector<T> w2 = random_values<T>(n_out * n_hid, rng), b2 = random_values<T>(n_out, rng);
  std::vector<T> x = random_values<T>(m * n_in, rng), t = random_values<T>(m * n_out, rng);

  // forward and backward by hand, in float64
  std::vector<double> h(m * n_hid), dh(m * n_hid, 0);
  std::vector<double> gw1(n_hid * n_in, 0), gb1(n_hid, 0), gw2(n_out * n_hid, 0), gb2(n_out, 0);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n_hid; ++j) {
      double s = b1[j];
      for (int64_t p = 0; p < n_in; ++p) s += double(x[i * n_in + p]) * double(w1[j * n_in + p]);
      h[i * n_hid + j] = std::tanh(s);
    }
    for (int64_t o = 0; o < n_out; ++o) {
      double y = b2[o];
      for (int64_t j = 0; j < n_hid; ++j) y += h[i * n_hid + j] * double(w2[o * n_hid + j]);
      const double dy = 2 * (y - double(t[i * n_out + o])) / double(m * n_out);
      gb2[o] += dy;
      for (int64_t j = 0; j < n_hid; ++j) {
        gw2[o * n_hid + j] += dy * h[i * n_hid + j];
        dh[i * n_hid + j] += dy * double(w2[o * n_hid + j]);
      }
    }
    for (int64_t j = 0; j < n_hid; ++j) {
      const double dz = dh[i * n_hid + j] * (1 - h[i * n_hid + j] * h[i * n_hid + j]);
      gb1[j] += dz;
      for (int64_t p = 0; p < n_in; ++p) gw1[j * n_in + p] += dz * double(x[i * n_in + p]);
    }
  }

  Mlp<T> net({{w1.data(), b1.data(), n_in, n_hid, Activation::tanh},
              {w2.data(), b2.data(), n_hid, n_out, Activation::identity}},
             T(0.01), 0.0);
  const LossSpec loss{LossKind::mse, Reduction::mean};
  Targets<T> target;
  target.values = t.data();
  const MatView<T> xv{x.data(), n_in, 1};
  std::vector<T> g_w1(w1.size()), g_b1(b1.size()), g_w2(w2.size()), g_b2(b2.size());
  T* grads[] = {g_w1.data(), g_b1.data(), g_w2.data(), g_b2.data()};
  net.loss_and_grads(loss, m, xv, target, grads);
  const std::vector<double>* refs[] = {&gw1, &gb1, &gw2, &gb2};
  for (int i = 0; i < 4; ++i)
    expect(relative_error(grads[i], *refs[i]) <= tolerance<T>(m),
           std::string("loss_and_grads parameter ") + std::to_string(i) + " " + dtype_name<T>());

  const double lr = 0.1;
  const std::vector<T>* before[] = {&w1, &b1, &w2, &b2};
  std::vector<std::vector<double>> expected(4);
  for (int i = 0; i < 4; ++i)
    for (size_t j = 0; j < before[i]->size(); ++j)
      expected[i].push_back(double((*before[i])[j]) - lr * (*refs[i])[j]);
  OptimState<T> opt;
  opt.config.kind = OptimKind::sgd;
  opt.config.lr = lr;
  std::vector<std::vector<T>> momentum;
  for (int i = 0; i < 4; ++i) momentum.emplace_back(before[i]->size(), T(0));
  for (int i = 0; i < 4; ++i) opt.state.push_back({momentum[i].data()});
  net.train_step(loss, opt, m, xv, target, RandomKey{0, 0});
  for (int i = 0; i < 4; ++i)
    expect(relative_error(before[i]->data(), expected[i]) <= tolerance<T>(m),
           std::string("train_step (SGD) parameter ") + std::to_string(i) + " " + dtype_name<T>());
}

template <class T>
void check_all(std::mt19937& rng) {
  check_gemms<T>(rng);
  check_activations<T>(rng);
  check_train_step<T>(rng);
}

}  // namespace

int main() {
  set_isa("generic");  // the only set off x86; on x86 this tests the same fallback
  std::mt19937 rng(0);
  for (int threads : {1, 2}) {
    set_max_threads(threads);
    check_all<float>(rng);
    check_all<double>(rng);
  }
  std::printf("%s: generic kernels (%s), %d failure(s)\n", g_failures ? "FAILED" : "OK",
              isa_name(current_isa()), g_failures);
  return g_failures ? 1 : 0;
}

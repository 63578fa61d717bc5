// The pybind11 module fastmlp._core: argument checks (errors name the argument and the
// shapes), zero-copy views of NumPy arrays, GIL released around every kernel.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <string>
#include <vector>

#include "activations.hpp"
#include "dense.hpp"
#include "gemm/gemm.hpp"
#include "isa/dispatch.hpp"
#include "peak/peak.hpp"
#include "pyargs.hpp"
#include "threads.hpp"

namespace py = pybind11;
using namespace fastmlp;

void register_mlp(py::module_& m);  // bindings_mlp.cpp
namespace fastmlp::pyargs {
void register_csr(py::module_& m);  // bindings_sparse.cpp
}

using namespace fastmlp::pyargs;

namespace {

// ---------------------------------------------------------------------------------------

py::array matmul(const py::object& a_obj, const py::object& b_obj, const py::object& out) {
  Arg a = array_arg(a_obj, "a"), b = array_arg(b_obj, "b");
  require_same_dtype(a, b);
  require_ndim(a, 2);
  require_ndim(b, 2);
  if (a.arr.shape(1) != b.arr.shape(0))
    throw py::value_error("matmul: a of shape " + shape_str(a.arr) + " and b of shape " + shape_str(b.arr) +
                          " do not fit (a.shape[1] != b.shape[0])");
  const int64_t m = a.arr.shape(0), k = a.arr.shape(1), n = b.arr.shape(1);
  return by_dtype(a.dtype, [&](auto tag) -> py::array {
    using T = decltype(tag);
    auto c = output<T>(out, "out", {m, n}, {&a, &b});
    MatView<T> av = view2d<T>(a), bv = view2d<T>(b);
    T* cp = c.mutable_data();
    py::gil_scoped_release nogil;
    gemm<T>(m, n, k, av, bv, cp, n);
    return c;
  });
}

py::array linear(const py::object& x_obj, const py::object& w_obj, const py::object& b_obj,
                 const std::string& activation, double negative_slope, const py::object& out,
                 const py::object& pre_out) {
  Arg x = array_arg(x_obj, "x"), w = array_arg(w_obj, "weight");
  require_same_dtype(x, w);
  require_ndim(x, 2);
  require_ndim(w, 2);
  if (x.arr.shape(1) != w.arr.shape(1))
    throw py::value_error("linear: " + described(x.arr, "x") + " does not fit " + described(w.arr, "weight") +
                          " (weight is (out_features, in_features); x.shape[1] != weight.shape[1])");
  const int64_t m = x.arr.shape(0), k = x.arr.shape(1), n = w.arr.shape(0);
  std::vector<const Arg*> inputs{&x, &w};
  Arg b{py::array(), "bias", x.dtype};
  if (!b_obj.is_none()) {
    b = array_arg(b_obj, "bias");
    require_same_dtype(x, b);
    if (b.arr.ndim() != 1 || b.arr.shape(0) != n)
      throw py::value_error("linear: " + described(b.arr, "bias") + " does not fit " +
                            described(w.arr, "weight") + "; expected (" + std::to_string(n) + ",)");
    inputs.push_back(&b);
  }
  const Activation act = activation_arg(activation);
  return by_dtype(x.dtype, [&](auto tag) -> py::array {
    using T = decltype(tag);
    const T slope = slope_arg<T>(negative_slope);  // before anything is written
    auto y = output<T>(out, "out", {m, n}, inputs);
    T* pre = nullptr;
    if (!pre_out.is_none()) {
      auto z = output<T>(pre_out, "pre_activation_out", {m, n}, inputs);
      if (overlaps(z, y)) throw py::value_error("pre_activation_out overlaps out");
      pre = z.mutable_data();
    }
    MatView<T> xv = view2d<T>(x), wv = view2d<T>(w);
    // (a default py::array is an empty array, not a null handle: test the argument)
    const T* bp = !b_obj.is_none() ? static_cast<const T*>(b.arr.data()) : nullptr;
    const int64_t bs = !b_obj.is_none() ? elem_stride(b, 0) : 1;
    T* yp = y.mutable_data();
    py::gil_scoped_release nogil;
    dense_forward<T>(m, n, k, xv, wv, bp, bs, act, slope, yp, pre);
    return y;
  });
}

py::tuple linear_backward(const py::object& gy_obj, const py::object& x_obj, const py::object& w_obj,
                          const py::object& y_obj, const std::string& activation, const py::object& pre_obj,
                          double negative_slope) {
  Arg gy = array_arg(gy_obj, "grad_y"), x = array_arg(x_obj, "x"), w = array_arg(w_obj, "weight");
  Arg y = array_arg(y_obj, "y");
  for (const Arg* a : {&x, &w, &y}) require_same_dtype(gy, *a);
  for (const Arg* a : {&gy, &x, &w, &y}) require_ndim(*a, 2);
  const int64_t m = x.arr.shape(0), k = x.arr.shape(1), n = w.arr.shape(0);
  if (w.arr.shape(1) != k)
    throw py::value_error("linear_backward: " + described(x.arr, "x") + " does not fit " +
                          described(w.arr, "weight") + " (x.shape[1] != weight.shape[1])");
  for (const Arg* a : {&gy, &y})
    if (a->arr.shape(0) != m || a->arr.shape(1) != n)
      throw py::value_error("linear_backward: " + described(a->arr, a->name) + ", expected (" +
                            std::to_string(m) + ", " + std::to_string(n) + ") for " + described(x.arr, "x") +
                            " and " + described(w.arr, "weight"));
  const Activation act = activation_arg(activation);
  if (act == Activation::step) throw py::value_error("linear_backward: activation 'step' has no gradient");
  py::array pre;
  if (!pre_obj.is_none()) {
    Arg p = array_arg(pre_obj, "pre_activation");
    require_same_dtype(gy, p);
    require_ndim(p, 2);
    if (p.arr.shape(0) != m || p.arr.shape(1) != n)
      throw py::value_error("linear_backward: " + described(p.arr, "pre_activation") +
                            ", expected the shape of y " + shape_str(y.arr));
    pre = contiguous(p);
  } else if (backward_needs_pre_activation(act, negative_slope)) {
    throw py::value_error(std::string("linear_backward: activation '") + activation +
                          "' needs pre_activation (from linear(..., pre_activation_out=...))"
                          " to compute its derivative");
  }
  py::array gyc = contiguous(gy), yc = contiguous(y);
  return by_dtype(gy.dtype, [&](auto tag) -> py::tuple {
    using T = decltype(tag);
    const T slope = slope_arg<T>(negative_slope);  // before anything is written
    py::array_t<T> gx = new_array<T>({m, k}), gw = new_array<T>({n, k}), gb = new_array<T>({n});
    MatView<T> xv = view2d<T>(x), wv = view2d<T>(w);
    const T* gyp = static_cast<const T*>(gyc.data());
    const T* yp = static_cast<const T*>(yc.data());
    const T* pp = !pre_obj.is_none() ? static_cast<const T*>(pre.data()) : nullptr;
    T *gxp = gx.mutable_data(), *gwp = gw.mutable_data(), *gbp = gb.mutable_data();
    {
      py::gil_scoped_release nogil;
      dense_backward<T>(m, n, k, gyp, xv, wv, yp, pp, act, slope, gxp, gwp, gbp);
    }
    return py::make_tuple(gx, gw, gb);
  });
}

py::array activation_forward_py(const std::string& name, const py::object& x_obj, double negative_slope,
                                const py::object& out) {
  const Activation act = activation_arg(name);
  Arg x = array_arg(x_obj, "x");
  if (x.arr.ndim() < 1) throw py::value_error("activation: x must have at least 1 dimension");
  std::vector<py::ssize_t> shape(x.arr.shape(), x.arr.shape() + x.arr.ndim());
  const int64_t n = shape.back(), m = n ? x.arr.size() / n : 0;
  py::array xc = contiguous(x);
  return by_dtype(x.dtype, [&](auto tag) -> py::array {
    using T = decltype(tag);
    const T slope = slope_arg<T>(negative_slope);  // before anything is written
    auto y = output<T>(out, "out", shape, {&x});
    const T* xp = static_cast<const T*>(xc.data());
    T* yp = y.mutable_data();
    py::gil_scoped_release nogil;
    activation_forward_2d<T>(act, slope, xp, yp, m, n);
    return y;
  });
}

py::array activation_backward_py(const std::string& name, const py::object& gy_obj, const py::object& y_obj,
                                 const py::object& x_obj, double negative_slope, const py::object& out) {
  const Activation act = activation_arg(name);
  if (act == Activation::step)
    throw py::value_error("activation_backward: activation 'step' has no gradient");
  Arg gy = array_arg(gy_obj, "grad_y"), y = array_arg(y_obj, "y");
  require_same_dtype(gy, y);
  std::vector<py::ssize_t> shape(gy.arr.shape(), gy.arr.shape() + gy.arr.ndim());
  if (gy.arr.ndim() < 1 || std::vector<py::ssize_t>(y.arr.shape(), y.arr.shape() + y.arr.ndim()) != shape)
    throw py::value_error("activation_backward: " + described(gy.arr, "grad_y") + " and " +
                          described(y.arr, "y") + " must have one shape of at least 1 dimension");
  std::vector<const Arg*> inputs{&gy, &y};
  py::array xc;
  Arg x{py::array(), "x", gy.dtype};
  if (!x_obj.is_none()) {
    x = array_arg(x_obj, "x");
    require_same_dtype(gy, x);
    if (std::vector<py::ssize_t>(x.arr.shape(), x.arr.shape() + x.arr.ndim()) != shape)
      throw py::value_error("activation_backward: " + described(x.arr, "x") +
                            " must have the shape of grad_y " + shape_str(gy.arr));
    xc = contiguous(x);
    inputs.push_back(&x);
  } else if (backward_needs_pre_activation(act, negative_slope)) {
    throw py::value_error("activation_backward: activation '" + name +
                          "' needs x, the input of the forward pass");
  }
  const int64_t n = shape.back(), m = n ? gy.arr.size() / n : 0;
  py::array gyc = contiguous(gy), yc = contiguous(y);
  return by_dtype(gy.dtype, [&](auto tag) -> py::array {
    using T = decltype(tag);
    const T slope = slope_arg<T>(negative_slope);  // before anything is written
    auto gx = output<T>(out, "out", shape, inputs);
    const T* gp = static_cast<const T*>(gyc.data());
    const T* yp = static_cast<const T*>(yc.data());
    const T* xp = !x_obj.is_none() ? static_cast<const T*>(xc.data()) : nullptr;
    T* op = gx.mutable_data();
    py::gil_scoped_release nogil;
    activation_backward_2d<T>(act, slope, gp, yp, xp, op, m, n);
    return gx;
  });
}

template <class T>
py::dict blocking(const RunConfig& cfg) {
  const GemmKernel<T>& k = cfg.kernels->gemm<T>();
  const Blocking& b = cfg.blocking<T>();
  py::dict d;
  d["isa"] = cfg.kernels->name;
  d["mr"] = k.packed.mr;  // the packed path's tile, which mc, kc and nc are for
  d["nr"] = k.packed.nr;
  d["small_mr"] = k.small.mr;  // the small path's tile
  d["small_nr"] = k.small.nr;
  d["lanes"] = k.lanes;  // its edge tiles are whole vectors wide
  py::list thin;         // a list, as the blocking's JSON round trip gives back
  thin.append(k.thin_nr[0]);
  thin.append(k.thin_nr[1]);
  d["thin_nr"] = thin;
  d["mc"] = b.mc;
  d["kc"] = b.kc;
  d["nc"] = b.nc;
  d["small_kn"] = b.small_kn;
  d["source"] = cfg.blocking_source();
  return d;
}

py::dict cache_level(const CacheLevel& c) {
  py::dict d;
  d["size"] = c.size;
  d["ways"] = c.ways;
  d["line"] = c.line;
  d["shared_by"] = c.shared_by;
  return d;
}

// The CPU as CPUID describes it, the caches the blocking follows, the kernels in use.
py::dict cpu_description() {
  const CpuIdentity& id = cpu_identity();
  const RunConfig& cfg = run_config();  // one snapshot: the caches and the blocks they gave
  const Caches& caches = cfg.caches;
  py::dict d;
  d["isa"] = isa_name(cfg.isa);
  py::list avail;
  for (Isa isa : available_isas()) avail.append(isa_name(isa));
  d["available_isas"] = avail;
  d["num_threads"] = max_threads();
  d["vendor"] = id.vendor;
  d["brand"] = id.brand;
  d["family"] = id.family;
  d["model"] = id.model;
  d["stepping"] = id.stepping;
  py::dict levels;
  levels["l1d"] = cache_level(caches.l1d);
  levels["l2"] = cache_level(caches.l2);
  levels["l3"] = cache_level(caches.l3);
  d["caches"] = levels;
  d["cache_source"] = caches.source;
  py::dict blocks;
  blocks["float32"] = blocking<float>(cfg);
  blocks["float64"] = blocking<double>(cfg);
  d["blocking"] = blocks;
  return d;
}

// Runs a change of the run-time configuration, turning its invalid_argument into ValueError.
template <class F>
void reconfigure(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
}

}  // namespace

PYBIND11_MODULE(_core, mod, py::mod_gil_not_used()) {
  mod.doc() = "fastmlp's C++ kernels. Use the documented functions of the fastmlp package.";

  mod.def("matmul", &matmul, py::arg("a"), py::arg("b"), py::kw_only(), py::arg("out") = py::none(),
          R"doc(Matrix product ``a @ b`` of 2-D float32 or float64 arrays.

Parameters
----------
a : ndarray, shape (m, k)
b : ndarray, shape (k, n), same dtype as ``a``
out : ndarray, shape (m, n), optional
    C-contiguous array of the same dtype to write the result into.

Returns
-------
ndarray, shape (m, n), C-contiguous.
)doc");

  mod.def("linear", &linear, py::arg("x"), py::arg("weight"), py::arg("bias") = py::none(),
          py::arg("activation") = "identity", py::kw_only(), py::arg("negative_slope") = 0.01,
          py::arg("out") = py::none(), py::arg("pre_activation_out") = py::none(),
          R"doc(Dense layer ``act(x @ weight.T + bias)`` in one fused pass.

Follows ``torch.nn.Linear``: ``weight`` has shape (out_features, in_features).

Parameters
----------
x : ndarray, shape (batch, in_features)
weight : ndarray, shape (out_features, in_features)
bias : ndarray, shape (out_features,), optional
activation : str
    identity, relu, leaky_relu, sigmoid, tanh, gelu (exact erf form), softmax (row-wise)
    or step (Heaviside, 1 where the input is >= 0).
negative_slope : float
    Slope of leaky_relu for negative inputs (PyTorch's default 0.01).
out : ndarray, shape (batch, out_features), optional
pre_activation_out : ndarray, shape (batch, out_features), optional
    Receives ``x @ weight.T + bias`` before the activation (what ``linear_backward``
    needs for gelu).

Returns
-------
ndarray, shape (batch, out_features).
)doc");

  mod.def("linear_backward", &linear_backward, py::arg("grad_y"), py::arg("x"), py::arg("weight"),
          py::arg("y"), py::arg("activation") = "identity", py::kw_only(),
          py::arg("pre_activation") = py::none(), py::arg("negative_slope") = 0.01,
          R"doc(Backward pass of ``y = linear(x, weight, bias, activation)``.

Parameters
----------
grad_y : ndarray, shape (batch, out_features)
    Gradient of the loss with respect to ``y``.
x : ndarray, shape (batch, in_features)
weight : ndarray, shape (out_features, in_features)
y : ndarray, shape (batch, out_features)
    The forward output.
activation : str
    The forward activation ('step' has no gradient).
pre_activation : ndarray, shape (batch, out_features), optional
    ``x @ weight.T + bias``: required for gelu (and for leaky_relu with a negative
    slope), whose derivative cannot be recovered from ``y``.
negative_slope : float

Returns
-------
(grad_x, grad_weight, grad_bias) : shapes (batch, in_features),
(out_features, in_features), (out_features,).
)doc");

  mod.def("activation", &activation_forward_py, py::arg("name"), py::arg("x"), py::kw_only(),
          py::arg("negative_slope") = 0.01, py::arg("out") = py::none(),
          R"doc(Apply the activation ``name`` to ``x`` (softmax along the last axis).

Parameters
----------
name : str
x : ndarray of float32 or float64, at least 1-D
negative_slope : float
    leaky_relu's slope for negative inputs.
out : ndarray, optional, C-contiguous, the shape and dtype of ``x``

Returns
-------
ndarray of the shape of ``x``.
)doc");

  mod.def("activation_backward", &activation_backward_py, py::arg("name"), py::arg("grad_y"), py::arg("y"),
          py::arg("x") = py::none(), py::kw_only(), py::arg("negative_slope") = 0.01,
          py::arg("out") = py::none(),
          R"doc(Gradient with respect to the input of ``y = activation(name, x)``.

Computes ``grad_y * act'(x)`` (for softmax the row-wise vector-Jacobian product
``y * (grad_y - sum(grad_y * y, axis=-1))``).

Parameters
----------
name : str
grad_y : ndarray
    Gradient of the loss with respect to ``y``.
y : ndarray, the shape of grad_y
    The forward output.
x : ndarray, the shape of grad_y, optional
    The forward input: required for gelu (and leaky_relu with a negative slope).
negative_slope : float
out : ndarray, optional

Returns
-------
ndarray of the shape of ``grad_y``.
)doc");

  mod.def(
      "set_num_threads",
      [](int n) {
        if (n < 1) throw py::value_error("set_num_threads: n must be >= 1, got " + std::to_string(n));
        set_max_threads(n);
      },
      py::arg("n"), "Use at most n OpenMP threads in fastmlp's kernels.");
  mod.def("get_num_threads", &max_threads, "Number of threads fastmlp's kernels may use.");
  mod.def("_cpu_description", &cpu_description,
          "CPU identity, the caches the blocking follows, the kernels and blocking in use.");
  mod.def(
      "_init_from_environment", [] { reconfigure([] { init_from_environment(); }); },
      "Pick the ISA (FASTMLP_ISA, else the best the CPU has) and apply FASTMLP_CACHES and "
      "FASTMLP_BLOCKING (called once by fastmlp's import).");
  mod.def(
      "_set_caches", [](const std::string& spec) { reconfigure([&] { set_cache_spec(spec); }); },
      py::arg("spec"),
      "Derive the blocking from the detected caches with spec applied (FASTMLP_CACHES's "
      "syntax, e.g. 'l2=256K,l3=8M'; '' for the detected caches). For tests and tuning.");
  mod.def(
      "_set_blocking", [](const std::string& spec) { reconfigure([&] { set_blocking_spec(spec); }); },
      py::arg("spec"),
      "Replace the model's cache blocks (FASTMLP_BLOCKING's syntax, e.g. 'kc=256,nc=192'; "
      "'' for the model's). For tests and tuning.");
  mod.def(
      "_gemm_blocking",
      [](const std::string& dtype) {
        if (dtype == "float32") return blocking<float>(run_config());
        if (dtype == "float64") return blocking<double>(run_config());
        throw py::value_error("dtype must be 'float32' or 'float64'");
      },
      py::arg("dtype"), "Register tile (mr x nr) and cache blocks (mc, kc, nc) of the micro-kernel in use.");
  py::class_<SmallDenseLimits>(mod, "SmallDenseLimits",
                               "The dense layers (m rows, n outputs, k inputs) that take direct loops "
                               "instead of the GEMM paths: m n k <= max_madds, or n <= narrow_outputs "
                               "and k <= narrow_inputs with m n k <= narrow_madds.")
      .def_readonly("max_madds", &SmallDenseLimits::max_madds)
      .def_readonly("narrow_outputs", &SmallDenseLimits::narrow_outputs)
      .def_readonly("narrow_inputs", &SmallDenseLimits::narrow_inputs)
      .def_readonly("narrow_madds", &SmallDenseLimits::narrow_madds);
  mod.def(
      "_small_dense_limits", [] { return run_config().kernels->tuning.small_dense; },
      "The SmallDenseLimits of the kernel set in use. For tests.");
  mod.def(
      "_peak_gflops",
      [](const std::string& isa, const std::string& dtype, int threads, double seconds) {
        const bool f64 = dtype == "float64";
        if (!f64 && dtype != "float32") throw py::value_error("dtype must be 'float32' or 'float64'");
        if (threads < 1) throw py::value_error("threads must be >= 1");
        bool known = false;
        for (Isa i : available_isas()) known |= isa == isa_name(i);
        if (!known) throw py::value_error("isa '" + isa + "' is not available on this CPU");
        py::gil_scoped_release nogil;
        return peak_gflops(isa.c_str(), f64, threads, seconds);
      },
      py::arg("isa"), py::arg("dtype") = "float32", py::arg("threads") = 1, py::arg("seconds") = 0.2,
      "FMA peak probe: best GFLOP/s of `threads` threads running independent FMA chains.");
  mod.def(
      "_set_isa", [](const std::string& name) { reconfigure([&] { set_isa(name); }); }, py::arg("name"),
      "Switch the micro-kernel set (for tests; FASTMLP_ISA at import is the public way).");

  fastmlp::pyargs::register_csr(mod);  // before register_mlp: the engine takes CsrMatrix X
  register_mlp(mod);
}

// Bindings of the MLP engine (fastmlp._core._MLP), the losses and the optimizer update.
// Python validates user input with friendly messages (fastmlp.model); these checks
// are the last line that keeps a wrong call from touching memory it should not.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "fork_guard.hpp"
#include "isa/dispatch.hpp"
#include "loss.hpp"
#include "mlp.hpp"
#include "optim.hpp"
#include "pyargs.hpp"
#include "pycsr.hpp"

namespace py = pybind11;
using namespace fastmlp;
using namespace fastmlp::pyargs;

namespace {

// Runs f, turning the engine's std::exceptions into ValueError.
template <class F>
auto engine_call(F&& f) {
  try {
    return f();
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  } catch (const std::out_of_range& e) {
    throw py::value_error(e.what());
  }
}

template <class T>
constexpr DType dtype_of() {
  return sizeof(T) == 4 ? DType::f32 : DType::f64;
}

// An array the engine writes into: the given dtype, C-contiguous, writeable.
Arg writable_arg(const py::handle& obj, const char* name, DType dtype) {
  Arg a = array_arg(obj, name, Access::write);
  if (a.dtype != dtype)
    throw py::type_error(std::string(name) + " is " + dtype_name(a.dtype) + ", expected " +
                         dtype_name(dtype));
  if (!c_contiguous(a.arr) || !a.arr.writeable())
    throw py::value_error(std::string(name) + " must be a writeable C-contiguous array");
  return a;
}

// Targets from y: class labels (int64, shape (m,)) or values of the output's dtype
// (C-contiguous, shape (m, width)).
template <class T>
Targets<T> targets_arg(const py::object& y_obj, int64_t m, int64_t width, LossKind kind) {
  if (!py::isinstance<py::array>(y_obj)) throw py::type_error("y must be a numpy.ndarray");
  auto y = py::reinterpret_borrow<py::array>(y_obj);
  if (y.dtype().kind() == 'i') {
    if (kind != LossKind::cross_entropy)
      throw py::value_error("integer class labels y need the cross_entropy loss");
    if (y.dtype().itemsize() != 8 || y.ndim() != 1 || y.shape(0) != m || !c_contiguous(y))
      throw py::value_error("labels y must be a C-contiguous int64 array of shape (" + std::to_string(m) +
                            ",), got " + described(y, "y"));
    return {nullptr, static_cast<const int64_t*>(y.data())};
  }
  Arg a = array_arg(y, "y");
  if (a.dtype != dtype_of<T>()) throw py::type_error("y must have the dtype of X");
  if (y.ndim() != 2 || y.shape(0) != m || y.shape(1) != width || !c_contiguous(y))
    throw py::value_error("y must be C-contiguous of shape (" + std::to_string(m) + ", " +
                          std::to_string(width) + "), got " + described(y, "y"));
  return {static_cast<const T*>(y.data()), nullptr};
}

// Targets with the per-row weights sample_weight (None, or shape (m,) of the output's
// dtype, C-contiguous). fastmlp.model checks their values; this checks the memory.
template <class T>
Targets<T> weighted_targets_arg(const py::object& y_obj, const py::object& w_obj, int64_t m, int64_t width,
                                LossKind kind) {
  Targets<T> t = targets_arg<T>(y_obj, m, width, kind);
  if (w_obj.is_none()) return t;
  Arg w = array_arg(w_obj, "sample_weight");
  if (w.dtype != dtype_of<T>()) throw py::type_error("sample_weight must have the dtype of X");
  if (w.arr.ndim() != 1 || w.arr.shape(0) != m || !c_contiguous(w.arr))
    throw py::value_error("sample_weight must be C-contiguous of shape (" + std::to_string(m) + ",), got " +
                          described(w.arr, "sample_weight"));
  t.weights = static_cast<const T*>(w.arr.data());
  return t;
}

py::array_t<double> to_array(const std::vector<double>& v) {
  py::array_t<double> a(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

// What train_epoch reports: the engine's EpochResult, the optimizer's step count after
// it, and the exception a signal handler raised between two minibatches (None if none).
struct EpochReport {
  EpochResult result;
  int64_t step = 0;
  double allreduce_seconds = 0;  // of a data-parallel epoch: time in the step all-reduces
  py::object interruption = py::none();
};

// Asks, between minibatches, whether a signal (Ctrl-C) is pending: reacquires the GIL
// and runs Python's signal handlers (only the main thread has any). If a handler raised
// (KeyboardInterrupt), keeps its exception for the caller and says stop.
class SignalPoll {
 public:
  // Whether the main thread is inside a poll's PyErr_CheckSignals: a data-parallel fit's
  // SIGINT handler raises only there (fastmlp.distributed._mpi), where the engine stops
  // every rank at the same step, and elsewhere defers the interrupt to the next
  // collective. Only the main thread polls, under the GIL.
  static bool active() { return active_; }
  bool operator()() {
    py::gil_scoped_acquire gil;
    active_ = true;
    const int raised_now = PyErr_CheckSignals();
    active_ = false;
    if (raised_now == 0) return false;
    py::error_already_set raised;  // fetches (and clears) the handler's exception
    interruption_ = raised.value();
    return true;
  }
  py::object interruption() const { return interruption_; }

 private:
  static inline bool active_ = false;
  py::object interruption_ = py::none();
};

// A data-parallel epoch's all-reduce (step_allreduce.hpp) as Python supplies it:
// sum(buffer) receives a NumPy view (no copy) of the step's buffer and sums it in place
// over the processes, with the GIL reacquired; whatever it raises ends the epoch.
// fastmlp.distributed passes functools.partial(comm.Allreduce, MPI.IN_PLACE): C code
// only, so that no Python signal handler can run (and raise KeyboardInterrupt on one
// process) between the all-reduce and the step's update. *seconds accumulates its time.
template <class T>
StepAllreduce<T> python_allreduce(const py::object& sum, int64_t steps, double* seconds) {
  StepAllreduce<T> allreduce;
  allreduce.steps = steps;
  allreduce.sum = [sum, seconds](T* buffer, int64_t count) {
    py::gil_scoped_acquire gil;
    const auto t0 = std::chrono::steady_clock::now();
    const py::capsule borrowed(buffer, [](void*) {});  // the engine owns the memory
    sum(py::array_t<T>({count}, {py::ssize_t(sizeof(T))}, buffer, borrowed));
    *seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  return allreduce;
}

// Optimizer state arrays for params (each list item: one array per state slot).
template <class T>
std::vector<std::vector<T*>> optim_state(const OptimConfig& c, const std::vector<py::array>& params,
                                         const py::list& state) {
  const int slots = optimizer_state_slots(c.kind);
  if (py::len(state) != params.size())
    throw py::value_error("optimizer state has " + std::to_string(py::len(state)) + " entries for " +
                          std::to_string(params.size()) + " parameters");
  std::vector<std::vector<T*>> out(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    py::list arrays = state[i];
    if (py::len(arrays) != size_t(slots))
      throw py::value_error("optimizer state of parameter " + std::to_string(i) + " needs " +
                            std::to_string(slots) + " arrays");
    for (py::handle h : arrays) {
      Arg a = writable_arg(h, "optimizer state", dtype_of<T>());
      if (a.arr.size() != params[i].size())
        throw py::value_error("optimizer state of parameter " + std::to_string(i) +
                              " does not have its size");
      out[i].push_back(static_cast<T*>(a.arr.mutable_data()));
    }
  }
  return out;
}

// The C++ network over parameter arrays that Python owns (and that stay alive with it).
class PyMLP {
  template <class F>
  auto dispatch(F&& f) {
    return by_dtype(dtype_, [&](auto tag) {
      using T = decltype(tag);
      return f(*std::get<std::unique_ptr<Mlp<T>>>(impl_), tag);
    });
  }

  // Runs f without the GIL, one call at a time per network (they share its workspace).
  template <class F>
  void locked(F&& f) {
    py::gil_scoped_release nogil;
    std::lock_guard<std::mutex> lock(mutex_);
    engine_call([&] {
      f();
      return 0;
    });
  }

  // X as the engine reads it: a float array (any strides), or a CsrMatrix; `keep` holds
  // what the view points into (array_arg may have made an aligned copy) for the call.
  template <class T>
  struct XArg {
    py::object keep;
    Input<T> view;
    int64_t rows;
  };

  template <class T>
  XArg<T> input(const py::object& x_obj, const Mlp<T>& net, bool c_contiguous_only = false) {
    const std::string fits = " does not fit a network with " + std::to_string(net.in_features()) + " inputs";
    if (py::isinstance<PyCsr>(x_obj)) {
      const PyCsr& c = x_obj.cast<const PyCsr&>();
      if (c.dtype() != dtype_) throw py::type_error(std::string("X must be ") + dtype_name(dtype_));
      if (c.cols() != net.in_features()) throw py::value_error("X of shape " + c.shape_str() + fits);
      return {x_obj, Input<T>(c.view<T>()), c.rows()};
    }
    Arg x = array_arg(x_obj, "X");
    if (x.dtype != dtype_) throw py::type_error(std::string("X must be ") + dtype_name(dtype_));
    require_ndim(x, 2);
    if (x.arr.shape(1) != net.in_features()) throw py::value_error(described(x.arr, "X") + fits);
    if (c_contiguous_only && !c_contiguous(x.arr)) throw py::value_error("X must be C-contiguous");
    return {x.arr, Input<T>(view2d<T>(x)), x.arr.shape(0)};
  }

  static LossSpec loss_spec(const std::string& loss, const std::string& reduction) {
    return engine_call([&] { return LossSpec{parse_loss(loss), parse_reduction(reduction)}; });
  }

  // Training writes the parameters through the pointers taken at construction: refuse
  // if one has been flagged read-only since (as numpy and optimizer.step do).
  void require_writeable() const {
    for (size_t i = 0; i < params_.size(); ++i)
      if (!params_[i].writeable())
        throw py::value_error("layers[" + std::to_string(i / per_layer_) + "]." +
                              (i % per_layer_ ? "bias" : "weight") +
                              " is read-only (flags.writeable is False): training would write it");
  }

  template <class T>
  OptimState<T> optimizer_state(const OptimConfig& config, const py::list& state, int64_t step) {
    OptimState<T> opt;
    opt.config = config;
    opt.state = optim_state<T>(opt.config, params_, state);
    opt.step = step;
    return opt;
  }

 public:
  PyMLP(const py::list& params, const std::vector<std::string>& activations, bool bias, double negative_slope,
        double dropout) {
    const size_t per_layer = per_layer_ = bias ? 2 : 1;
    if (activations.empty() || py::len(params) != activations.size() * per_layer)
      throw py::value_error("need " + std::to_string(per_layer) + " parameter arrays per activation");
    for (py::handle h : params) params_.push_back(py::reinterpret_borrow<py::array>(h));
    dtype_ = array_arg(params_[0], "weight").dtype;
    by_dtype(dtype_, [&](auto tag) {
      using T = decltype(tag);
      std::vector<LayerRef<T>> layers;
      for (size_t l = 0; l < activations.size(); ++l) {
        Arg w = writable_arg(params_[l * per_layer], "weight", dtype_);
        require_ndim(w, 2);
        LayerRef<T> L{static_cast<T*>(w.arr.mutable_data()), nullptr, w.arr.shape(1), w.arr.shape(0),
                      activation_arg(activations[l])};
        if (bias) {
          Arg b = writable_arg(params_[l * per_layer + 1], "bias", dtype_);
          if (b.arr.ndim() != 1 || b.arr.shape(0) != L.out)
            throw py::value_error(described(b.arr, "bias") + " does not fit " + described(w.arr, "weight"));
          L.bias = static_cast<T*>(b.arr.mutable_data());
        }
        layers.push_back(L);
      }
      engine_call([&] {
        std::get<std::unique_ptr<Mlp<T>>>(impl_) =
            std::make_unique<Mlp<T>>(std::move(layers), T(negative_slope), dropout);
        return 0;
      });
      return 0;
    });
  }

  py::array predict(const py::object& x_obj) {
    return dispatch([&](auto& net, auto tag) -> py::array {
      using T = decltype(tag);
      const XArg<T> x = input(x_obj, net);
      const int64_t m = x.rows;
      py::array_t<T> y = new_array<T>({m, net.out_features()});
      const Input<T> xv = x.view;
      T* yp = y.mutable_data();
      locked([&] { net.predict(m, xv, yp); });
      return y;
    });
  }

  double evaluate(const py::object& x_obj, const py::object& y_obj, const std::string& loss,
                  const py::object& w_obj) {
    const LossKind kind = engine_call([&] { return parse_loss(loss); });
    return dispatch([&](auto& net, auto tag) -> double {
      using T = decltype(tag);
      const XArg<T> x = input(x_obj, net);
      const int64_t m = x.rows;
      Targets<T> t = weighted_targets_arg<T>(y_obj, w_obj, m, net.out_features(), kind);
      const Input<T> xv = x.view;
      double sum = 0;
      locked([&] { sum = net.evaluate(kind, m, xv, t); });
      return sum;
    });
  }

  py::tuple loss_and_grads(const py::object& x_obj, const py::object& y_obj, const std::string& loss,
                           const std::string& reduction, const py::object& w_obj) {
    const LossSpec spec = loss_spec(loss, reduction);
    return dispatch([&](auto& net, auto tag) -> py::tuple {
      using T = decltype(tag);
      const XArg<T> x = input(x_obj, net);
      const int64_t m = x.rows;
      Targets<T> t = weighted_targets_arg<T>(y_obj, w_obj, m, net.out_features(), spec.kind);
      py::list grads;
      std::vector<T*> ptrs;
      for (const py::array& p : params_) {
        py::array_t<T> g = new_array<T>(std::vector<py::ssize_t>(p.shape(), p.shape() + p.ndim()));
        ptrs.push_back(g.mutable_data());
        grads.append(g);
      }
      const Input<T> xv = x.view;
      double value = 0;
      locked([&] { value = net.loss_and_grads(spec, m, xv, t, ptrs.data()); });
      return py::make_tuple(value, grads);
    });
  }

  py::tuple train_step(const py::object& x_obj, const py::object& y_obj, const std::string& loss,
                       const std::string& reduction, const OptimConfig& optimizer, const py::list& state,
                       int64_t step, uint64_t seed, uint64_t counter, const py::object& w_obj) {
    require_writeable();
    const LossSpec spec = loss_spec(loss, reduction);
    return dispatch([&](auto& net, auto tag) -> py::tuple {
      using T = decltype(tag);
      const XArg<T> x = input(x_obj, net);
      const int64_t m = x.rows;
      Targets<T> t = weighted_targets_arg<T>(y_obj, w_obj, m, net.out_features(), spec.kind);
      OptimState<T> opt = optimizer_state<T>(optimizer, state, step);
      const Input<T> xv = x.view;
      double value = 0;
      locked([&] { value = net.train_step(spec, opt, m, xv, t, RandomKey{seed, counter}); });
      return py::make_tuple(value, opt.step);
    });
  }

  EpochReport train_epoch(const py::object& x_obj, const py::object& y_obj, const std::string& loss,
                          const std::string& reduction, const OptimConfig& optimizer, const py::list& state,
                          int64_t step, int64_t batch_size, bool shuffle, uint64_t seed, uint64_t epoch,
                          const py::object& w_obj, const py::object& allreduce_obj, int64_t steps) {
    require_writeable();
    const LossSpec spec = loss_spec(loss, reduction);
    if (batch_size < 1) throw py::value_error("batch_size must be >= 1");
    const bool parallel = !allreduce_obj.is_none();
    return dispatch([&](auto& net, auto tag) -> EpochReport {
      using T = decltype(tag);
      const XArg<T> x = input(x_obj, net, true);
      const int64_t n = x.rows;
      Targets<T> t = weighted_targets_arg<T>(y_obj, w_obj, n, net.out_features(), spec.kind);
      OptimState<T> opt = optimizer_state<T>(optimizer, state, step);
      EpochReport report;
      // Only the main thread runs signal handlers; other threads do not poll (which
      // would wait for the GIL every few ms while other Python threads hold it).
      SignalPoll poll;
      const auto threading = py::module_::import("threading");
      const bool main_thread = threading.attr("current_thread")().is(threading.attr("main_thread")());
      const std::function<bool()> interrupt =
          main_thread ? std::function<bool()>(std::ref(poll)) : std::function<bool()>();
      if (parallel && steps < (n + batch_size - 1) / batch_size)
        throw py::value_error("steps (" + std::to_string(steps) + ") must cover the " +
                              std::to_string((n + batch_size - 1) / batch_size) + " batches of X");
      const StepAllreduce<T> allreduce = python_allreduce<T>(allreduce_obj, steps, &report.allreduce_seconds);
      locked([&] {
        report.result = net.train_epoch(spec, opt, n, x.view, t, batch_size, shuffle, RandomKey{seed, epoch},
                                        interrupt, parallel ? &allreduce : nullptr);
      });
      report.step = opt.step;
      report.interruption = poll.interruption();
      return report;
    });
  }

 private:
  std::vector<py::array> params_;
  size_t per_layer_;  // parameter arrays per layer: weight and, with bias, bias
  DType dtype_;
  std::tuple<std::unique_ptr<Mlp<float>>, std::unique_ptr<Mlp<double>>> impl_;
  std::mutex mutex_;
};

py::tuple loss_py(const std::string& loss, const std::string& reduction, const py::object& input_obj,
                  const py::object& target_obj, const py::object& weight_obj) {
  const LossKind kind = engine_call([&] { return parse_loss(loss); });
  const Reduction red = engine_call([&] { return parse_reduction(reduction); });
  Arg in = array_arg(input_obj, "input");
  require_ndim(in, 2);
  const int64_t m = in.arr.shape(0), n = in.arr.shape(1);
  py::array inc = contiguous(in);
  return by_dtype(in.dtype, [&](auto tag) -> py::tuple {
    using T = decltype(tag);
    Targets<T> t = weighted_targets_arg<T>(target_obj, weight_obj, m, n, kind);
    py::array_t<T> grad = new_array<T>({m, n});
    const double weight = rows_weight(m, t.weights);
    if (weight == 0) throw py::value_error("sample_weight sums to zero: the loss is undefined");
    const double denom = red == Reduction::mean ? loss_denominator(kind, weight, n) : 1.0;
    const T* ip = static_cast<const T*>(inc.data());
    T* gp = grad.mutable_data();
    const double sum = engine_call([&] { return loss_sum<T>(kind, m, n, ip, t, gp, T(1.0 / denom)); });
    return py::make_tuple(sum / denom, grad);
  });
}

void optimizer_step_py(const OptimConfig& c, int64_t step, const py::list& params, const py::list& grads,
                       const py::list& state) {
  if (py::len(params) == 0) return;
  if (py::len(grads) != py::len(params)) throw py::value_error("one gradient per parameter is needed");
  const DType dtype = array_arg(params[0], "params[0]").dtype;
  std::vector<py::array> ps;
  for (py::handle h : params) ps.push_back(writable_arg(h, "param", dtype).arr);
  by_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    auto st = optim_state<T>(c, ps, state);
    std::vector<py::array> gs;
    for (size_t i = 0; i < ps.size(); ++i) {
      Arg g = array_arg(grads[i], "grad");
      if (g.dtype != dtype || g.arr.size() != ps[i].size())
        throw py::value_error("gradient " + std::to_string(i) + " does not match its parameter");
      gs.push_back(contiguous(g));
    }
    py::gil_scoped_release nogil;
    const OptimStep<T> s(c, step), bias_s(bias_config(c), step);
    for (size_t i = 0; i < ps.size(); ++i)
      optimizer_update<T>(ps[i].ndim() == 1 ? bias_s : s, static_cast<T*>(ps[i].mutable_data()),
                          static_cast<const T*>(gs[i].data()), st[i].data(), ps[i].size());
    return 0;
  });
}

}  // namespace

void register_mlp(py::module_& m) {
  install_fork_guard();  // once, when fastmlp._core is imported
  const OptimConfig d;   // the defaults
  py::class_<OptimConfig>(m, "OptimConfig",
                          "An optimizer's settings as the C++ update reads them (built by "
                          "fastmlp.optim; an unknown setting is a TypeError, not a default).")
      .def(py::init([](const std::string& kind, double lr, double weight_decay, double l1, double momentum,
                       double dampening, bool nesterov, double beta1, double beta2, double eps, double alpha,
                       bool centered, bool decay_bias, bool penalty_in_loss, bool eps_hat) {
             OptimConfig c;
             c.kind = engine_call([&] { return parse_optimizer(kind); });
             c.lr = lr;
             c.weight_decay = weight_decay;
             c.l1 = l1;
             c.momentum = momentum;
             c.dampening = dampening;
             c.nesterov = nesterov;
             c.beta1 = beta1;
             c.beta2 = beta2;
             c.eps = eps;
             c.alpha = alpha;
             c.centered = centered;
             c.decay_bias = decay_bias;
             c.penalty_in_loss = penalty_in_loss;
             c.eps_hat = eps_hat;
             return c;
           }),
           py::kw_only(), py::arg("kind"), py::arg("lr") = d.lr, py::arg("weight_decay") = d.weight_decay,
           py::arg("l1") = d.l1, py::arg("momentum") = d.momentum, py::arg("dampening") = d.dampening,
           py::arg("nesterov") = d.nesterov, py::arg("beta1") = d.beta1, py::arg("beta2") = d.beta2,
           py::arg("eps") = d.eps, py::arg("alpha") = d.alpha, py::arg("centered") = d.centered,
           py::arg("decay_bias") = d.decay_bias, py::arg("penalty_in_loss") = d.penalty_in_loss,
           py::arg("eps_hat") = d.eps_hat)
      .def_readonly("lr", &OptimConfig::lr)
      .def_readonly("weight_decay", &OptimConfig::weight_decay)
      .def_readonly("l1", &OptimConfig::l1)
      .def_readonly("momentum", &OptimConfig::momentum)
      .def_readonly("dampening", &OptimConfig::dampening)
      .def_readonly("nesterov", &OptimConfig::nesterov)
      .def_readonly("beta1", &OptimConfig::beta1)
      .def_readonly("beta2", &OptimConfig::beta2)
      .def_readonly("eps", &OptimConfig::eps)
      .def_readonly("alpha", &OptimConfig::alpha)
      .def_readonly("centered", &OptimConfig::centered)
      .def_readonly("decay_bias", &OptimConfig::decay_bias)
      .def_readonly("penalty_in_loss", &OptimConfig::penalty_in_loss)
      .def_readonly("eps_hat", &OptimConfig::eps_hat);
  py::class_<EpochReport>(m, "EpochResult", "What one training epoch (_MLP.train_epoch) reports.")
      .def_property_readonly(
          "loss_sum", [](const EpochReport& e) { return e.result.loss_sum; },
          "sum_i w_i l_i over the rows trained on")
      .def_property_readonly(
          "weight", [](const EpochReport& e) { return e.result.weight; },
          "their weight (number of rows, or sum of their weights)")
      .def_property_readonly(
          "rows", [](const EpochReport& e) { return e.result.rows; },
          "rows trained on (fewer if the loss became non-finite or on interruption)")
      .def_property_readonly(
          "finite", [](const EpochReport& e) { return e.result.finite; },
          "False: stopped before the batch whose loss was not")
      .def_property_readonly(
          "batch_loss", [](const EpochReport& e) { return to_array(e.result.batch_loss); },
          "(n_batches,) each minibatch's reduced loss")
      .def_property_readonly(
          "batch_weight", [](const EpochReport& e) { return to_array(e.result.batch_weight); },
          "(n_batches,) and its weight (0: skipped, no sample)")
      .def_property_readonly(
          "batch_penalty", [](const EpochReport& e) { return to_array(e.result.batch_penalty); },
          "(n_batches,) its reduced penalty (penalty_in_loss), else 0")
      .def_property_readonly(
          "peer_stopped", [](const EpochReport& e) { return e.result.peer_stopped; },
          "True: another process stopped this data-parallel epoch")
      .def_readonly("allreduce_seconds", &EpochReport::allreduce_seconds,
                    "a data-parallel epoch's time in its step all-reduces (0 otherwise)")
      .def_readonly("step", &EpochReport::step, "the optimizer's step count after the epoch")
      .def_readonly("interruption", &EpochReport::interruption,
                    "the exception a signal handler raised (KeyboardInterrupt), which stopped "
                    "the epoch after a completed step; None if none");
  py::class_<PyMLP>(m, "_MLP", "The C++ engine behind fastmlp.MLP (use that class).")
      .def(py::init<const py::list&, const std::vector<std::string>&, bool, double, double>(),
           py::arg("params"), py::arg("activations"), py::arg("bias"), py::arg("negative_slope"),
           py::arg("dropout"))
      .def("predict", &PyMLP::predict, py::arg("X"))
      .def("evaluate", &PyMLP::evaluate, py::arg("X"), py::arg("y"), py::arg("loss"),
           py::arg("sample_weight") = py::none(), "Unreduced (summed, weighted) loss over all rows.")
      .def("loss_and_grads", &PyMLP::loss_and_grads, py::arg("X"), py::arg("y"), py::arg("loss"),
           py::arg("reduction"), py::arg("sample_weight") = py::none())
      .def("train_step", &PyMLP::train_step, py::arg("X"), py::arg("y"), py::arg("loss"),
           py::arg("reduction"), py::arg("optimizer"), py::arg("state"), py::arg("step"), py::arg("seed"),
           py::arg("counter"), py::arg("sample_weight") = py::none(), "Returns (loss, step).")
      .def("train_epoch", &PyMLP::train_epoch, py::arg("X"), py::arg("y"), py::arg("loss"),
           py::arg("reduction"), py::arg("optimizer"), py::arg("state"), py::arg("step"),
           py::arg("batch_size"), py::arg("shuffle"), py::arg("seed"), py::arg("epoch"),
           py::arg("sample_weight") = py::none(), py::arg("allreduce") = py::none(), py::arg("steps") = 0,
           "Returns an EpochResult. With allreduce (a callable summing a 1-d array in place "
           "over the processes), one process's part of a data-parallel epoch of steps steps.");
  m.def(
      "_inference_rows", [] { return tuning().inference_rows; },
      "Rows per pass of predict: blocks aligned to it are scored as the whole array is.");
  m.def("_in_signal_poll", &SignalPoll::active,
        "Whether a training epoch is asking, between two minibatches, for pending signals.");
  m.def("_loss", &loss_py, py::arg("loss"), py::arg("reduction"), py::arg("input"), py::arg("target"),
        py::arg("sample_weight") = py::none(), "(reduced loss, gradient with respect to input).");
  m.def("_optimizer_step", &optimizer_step_py, py::arg("config"), py::arg("step"), py::arg("params"),
        py::arg("grads"), py::arg("state"), "One optimizer update of params in place.");
}

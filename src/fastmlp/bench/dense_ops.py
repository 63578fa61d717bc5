"""The kernels' workloads written three ways (fastmlp, NumPy, PyTorch), plus a float64 reference.

Each ``prepare_*`` takes the inputs dict of a case and returns a zero-argument
callable that performs the workload once and returns its result; the arrays are
converted (zero-copy for torch) while preparing, so only the operation is timed.
"""

import math

import numpy as np

import fastmlp
from fastmlp.bench.optional import require_torch


def random_array(rng, shape, dtype, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def _torch_tensors(inputs, *names):
    torch = require_torch()
    return torch, [torch.from_numpy(inputs[n]) for n in names]


# --- matmul: c = a @ b ------------------------------------------------------------


def matmul_inputs(m, k, n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return {"a": random_array(rng, (m, k), dtype), "b": random_array(rng, (k, n), dtype)}


def matmul_fastmlp(inputs):
    a, b = inputs["a"], inputs["b"]
    out = np.empty((a.shape[0], b.shape[1]), a.dtype)
    return lambda: fastmlp.matmul(a, b, out=out)


def matmul_numpy(inputs):
    a, b = inputs["a"], inputs["b"]
    out = np.empty((a.shape[0], b.shape[1]), a.dtype)
    return lambda: np.matmul(a, b, out=out)


def matmul_torch(inputs):
    torch, (a, b) = _torch_tensors(inputs, "a", "b")
    out = torch.empty((a.shape[0], b.shape[1]), dtype=a.dtype)
    return lambda: torch.matmul(a, b, out=out)


# Only the first rows of a product are checked: the float64 reference of a 4096^3
# product would cost more than the benchmark itself.
CHECKED_ROWS = 128


def matmul_reference(inputs):
    return inputs["a"][:CHECKED_ROWS].astype(np.float64) @ inputs["b"].astype(np.float64)


def matmul_checked_rows(result, inputs):
    return result[:CHECKED_ROWS]


# --- dense layer forward: y = relu(x @ w.T + b) -----------------------------------


def dense_inputs(batch, n_in, n_out, dtype, seed=0):
    rng = np.random.default_rng(seed)
    bound = 1.0 / math.sqrt(n_in)  # torch.nn.Linear's default scale
    x = random_array(rng, (batch, n_in), dtype)
    w = rng.uniform(-bound, bound, (n_out, n_in)).astype(dtype)
    b = rng.uniform(-bound, bound, n_out).astype(dtype)
    grad_y = random_array(rng, (batch, n_out), dtype)
    # Where the pre-activation is within rounding of 0, float32 and float64 may disagree on
    # which side of ReLU's kink it falls; a zero upstream gradient there keeps the gradient
    # check about arithmetic, not about the kink.
    z = x.astype(np.float64) @ w.T.astype(np.float64) + b
    grad_y[np.abs(z) < 1e-3] = 0
    return {"x": x, "w": w, "b": b, "grad_y": grad_y}


def linear_relu_fastmlp(inputs):
    x, w, b = inputs["x"], inputs["w"], inputs["b"]
    out = np.empty((x.shape[0], w.shape[0]), x.dtype)
    return lambda: fastmlp.linear(x, w, b, "relu", out=out)


def linear_relu_numpy(inputs):
    x, w, b = inputs["x"], inputs["w"], inputs["b"]
    return lambda: np.maximum(x @ w.T + b, 0)


def linear_relu_torch(inputs):
    torch, (x, w, b) = _torch_tensors(inputs, "x", "w", "b")
    linear = torch.nn.functional.linear

    def run():
        with torch.inference_mode():
            return torch.relu(linear(x, w, b))

    return run


def linear_relu_reference(inputs):
    x, w, b = (inputs[n].astype(np.float64) for n in ("x", "w", "b"))
    return np.maximum(x @ w.T + b, 0)


# --- dense layer forward + backward -----------------------------------------------
# Result: (y, grad_x, grad_w, grad_b) for the upstream gradient inputs["grad_y"].


def linear_relu_train_fastmlp(inputs):
    x, w, b, gy = inputs["x"], inputs["w"], inputs["b"], inputs["grad_y"]

    def run():
        y = fastmlp.linear(x, w, b, "relu")
        return (y, *fastmlp.linear_backward(gy, x, w, y, "relu"))

    return run


def linear_relu_train_numpy(inputs):
    x, w, b, gy = inputs["x"], inputs["w"], inputs["b"], inputs["grad_y"]

    def run():
        y = np.maximum(x @ w.T + b, 0)
        gz = gy * (y > 0)
        return y, gz @ w, gz.T @ x, gz.sum(axis=0)

    return run


def linear_relu_train_torch(inputs):
    torch, (x, w, b, gy) = _torch_tensors(inputs, "x", "w", "b", "grad_y")
    x, w, b = (t.clone().requires_grad_(True) for t in (x, w, b))
    linear = torch.nn.functional.linear

    def run():
        y = torch.relu(linear(x, w, b))
        return (y.detach(), *torch.autograd.grad(y, (x, w, b), gy))

    return run


def linear_relu_train_reference(inputs):
    x, w, b, gy = (inputs[n].astype(np.float64) for n in ("x", "w", "b", "grad_y"))
    z = x @ w.T + b
    y = np.maximum(z, 0)
    gz = gy * (z > 0)
    return y, gz @ w, gz.T @ x, gz.sum(axis=0)


# --- activations (elementwise; softmax along the last axis) ---------------------


def activation_inputs(rows, cols, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return {"x": random_array(rng, (rows, cols), dtype, scale=3.0)}


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _erf(x):
    return np.frompyfunc(math.erf, 1, 1)(x).astype(x.dtype)


def _gelu(x, out=None):
    """gelu(x) = x * Phi(x) by hand, as a NumPy user would write it: NumPy has no erf,
    so Phi comes from Numerical Recipes' erfc (relative error < 1.2e-7). The last
    product goes into ``out`` when given."""
    z = np.abs(x) * np.float32(0.5**0.5)
    t = 1 / (1 + 0.5 * z)
    poly = -1.26551223 + t * (
        1.00002368
        + t
        * (
            0.37409196
            + t
            * (
                0.09678418
                + t
                * (
                    -0.18628806
                    + t
                    * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))
                )
            )
        )
    )
    erfc = t * np.exp(-z * z + poly.astype(x.dtype))
    return np.multiply(x, np.where(x >= 0, 1 - 0.5 * erfc, 0.5 * erfc), out=out)


# sigmoid and gelu, the micro-kernel rows' activations (cases.ELEMENTWISE_MICROKERNELS),
# also take out=: their last operation writes there, as fastmlp's side does on those rows.
NUMPY_ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0),
    "leaky_relu": lambda x: np.where(x > 0, x, x * 0.01),
    "sigmoid": lambda x, out=None: np.divide(1, 1 + np.exp(-x), out=out),
    "tanh": np.tanh,
    "gelu": _gelu,
    "softmax": _softmax,
}

TORCH_ACTIVATIONS = {
    "relu": "relu",
    "leaky_relu": "leaky_relu",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "gelu": "gelu",
    "softmax": "softmax",
}


def activation_fastmlp(name, into_out=False):
    """fastmlp's side: a new array per call, as NumPy's and PyTorch's sides return (the
    allocation and first touch of the result are part of what a user pays), or with
    ``into_out`` one preallocated ``out=``, which leaves the kernel alone."""

    def prepare(inputs):
        x = inputs["x"]
        if not into_out:
            return lambda: fastmlp.activation(name, x)
        out = np.empty_like(x)
        return lambda: fastmlp.activation(name, x, out=out)

    return prepare


def activation_numpy(name, into_out=False):
    """NumPy's side: a new array per call, or with ``into_out`` (sigmoid and gelu) its
    last operation into one preallocated ``out=``."""

    def prepare(inputs):
        f, x = NUMPY_ACTIVATIONS[name], inputs["x"]
        if not into_out:
            return lambda: f(x)
        out = np.empty_like(x)
        return lambda: f(x, out=out)

    return prepare


def activation_torch(name, into_out=False):
    """PyTorch's side: a new tensor per call, or with ``into_out`` the op's out= overload
    (``torch.ops.aten.<name>.out``) into one preallocated tensor."""

    def prepare(inputs):
        torch, (x,) = _torch_tensors(inputs, "x")
        if into_out:
            f, out = getattr(torch.ops.aten, TORCH_ACTIVATIONS[name]).out, torch.empty_like(x)
            return lambda: f(x, out=out)
        f = getattr(torch.nn.functional, TORCH_ACTIVATIONS[name])
        kwargs = {"dim": -1} if name == "softmax" else {}
        return lambda: f(x, **kwargs)

    return prepare


def activation_reference(name):
    def reference(inputs):
        x = inputs["x"].astype(np.float64)
        if name == "gelu":
            return 0.5 * x * (1 + _erf(x / math.sqrt(2)))
        return NUMPY_ACTIVATIONS[name](x)

    return reference

"""Shared fixtures and helpers of the tests: the kernel tests' below, and for the
estimator tests the digits split and quiet_fit.

Every kernel test takes the ``isa`` fixture, so it runs once per micro-kernel set
this CPU can execute. References are computed in float64 NumPy from the exact
(float32 or float64) inputs; tolerances follow the standard error bound of a sum
of k products, |fl(a @ b) - a @ b| <= ~sqrt(k) * eps * (|a| @ |b|).
"""

import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import fastmlp
from fastmlp import _core

try:
    from scipy.special import erf as _erf
except ImportError:  # pragma: no cover - scipy comes with scikit-learn
    _erf = np.vectorize(math.erf, otypes=[np.float64])

DTYPES = (np.float32, np.float64)
ACTIVATIONS = fastmlp.ACTIVATIONS
DIFFERENTIABLE = tuple(a for a in ACTIVATIONS if a != "step")
SLOPE = 0.01

DEFAULT_ISA = fastmlp.cpu_info()["isa"]
AVAILABLE_ISAS = tuple(fastmlp.cpu_info()["available_isas"])


@pytest.fixture(params=AVAILABLE_ISAS)
def isa(request):
    """Run the test on one micro-kernel set; restore the import-time default after."""
    _core._set_isa(request.param)
    assert fastmlp.cpu_info()["isa"] == request.param
    try:
        yield request.param
    finally:
        _core._set_isa(DEFAULT_ISA)


@pytest.fixture(params=("packed", "unpacked"))
def gemm_path(request):
    """Run the test with row-major products packed, or unpacked where B fits in L2 (the
    model's small_kn); restore the model's blocking after."""
    if request.param == "packed":
        _core._set_blocking("small=0")
    try:
        yield request.param
    finally:
        _core._set_blocking("")


@pytest.fixture
def rng():
    return np.random.default_rng(20240531)


@pytest.fixture
def restore_threads():
    """Give the test a free hand with set_num_threads; restore the count after."""
    before = fastmlp.get_num_threads()
    try:
        yield before
    finally:
        fastmlp.set_num_threads(before)


@pytest.fixture
def busy_core():
    """A process spinning on the last CPU: the threads of a product then run at different
    speeds, and the faster ones steal work from the slower ones' shares (a product's panels,
    gemm.cpp; a halved training step's update, mlp.cpp)."""
    cpu = max(os.sched_getaffinity(0))
    spin = f"import os; os.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass"
    proc = subprocess.Popen([sys.executable, "-c", spin])
    try:
        yield
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def digits():
    """(Xtr, Xte, ytr, yte) of scikit-learn's load_digits, pixels scaled to [0, 1]: what
    the estimator tests train on."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, random_state=0)


def quiet_fit(est, X, y, **kw):
    """est.fit(X, y, **kw) with scikit-learn's ConvergenceWarning ignored (the estimator
    tests' fits are short on purpose)."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


def blocking(dtype):
    return _core._gemm_blocking(np.dtype(dtype).name)


# --- shapes -------------------------------------------------------------------------


def edge_shapes(dtype):
    """Named (m, k, n) just below / at / above the register tiles and the cache blocks
    of the kernels in use (GEMM C (m x n) = A (m x k) B (k x n))."""
    b = blocking(dtype)
    mr, nr, mc, kc, nc = b["mr"], b["nr"], b["mc"], b["kc"], b["nc"]
    m0, k0, n0 = 7, 13, 11  # small primes for the dimensions not under test
    shapes = {
        "1x1x1": (1, 1, 1),
        "row": (1, 29, 37),
        "col": (31, 29, 1),
        "dot": (1, 41, 1),
        "primes": (17, 23, 19),
        "primes2": (53, 47, 59),
    }
    for d in (-1, 0, 1):
        shapes[f"m=mr{d:+d}"] = (mr + d, k0, n0)
        shapes[f"n=nr{d:+d}"] = (m0, k0, nr + d)
        shapes[f"mn=tile{d:+d}"] = (mr + d, k0, nr + d)
        shapes[f"k=kc{d:+d}"] = (m0, kc + d, n0)
        shapes[f"m=mc{d:+d}"] = (mc + d, 5, n0)
        shapes[f"n=nc{d:+d}"] = (m0, k0, nc + d)
    shapes["tiles=2x2"] = (2 * mr, k0, 2 * nr)
    # The small path's tile, which may differ from the packed path's (mr x nr).
    for d in (-1, 1):
        shapes[f"m=small_mr{d:+d}"] = (b["small_mr"] + d, k0, n0)
        shapes[f"n=small_nr{d:+d}"] = (m0, k0, b["small_nr"] + d)
    # Last columns just below, at and above one vector: the small path's narrower edge tiles.
    for d in (-1, 0, 1):
        shapes[f"n=small_nr+lanes{d:+d}"] = (b["small_mr"] + 1, k0, b["small_nr"] + b["lanes"] + d)
    # One or two rows: the thin kernels, then the small path's tiles for the last columns.
    for rows, thin in zip((1, 2), b["thin_nr"]):
        shapes[f"m={rows},n=2thin+small_nr+1"] = (rows, k0, 2 * thin + b["small_nr"] + 1)
    shapes["k=2kc+1"] = (m0, 2 * kc + 1, n0)
    shapes["m=2mc+mr+1"] = (2 * mc + mr + 1, 3, 5)
    shapes["n=2nc+nr+1"] = (3, 5, 2 * nc + nr + 1)
    shapes["m=2small_mr+1"] = (2 * b["small_mr"] + 1, 5, 3 * b["small_nr"] - 1)
    return shapes


EDGE_SHAPE_NAMES = tuple(edge_shapes(np.float64))


# Every block edge at once; costs ~0.5 GFLOP, so tested in C order only.
def all_blocks_shape(dtype):
    b = blocking(dtype)
    return (b["mc"] + b["mr"] + 1, b["kc"] + 1, b["nc"] + b["nr"] + 1)


ZERO_SHAPES = ((0, 5, 3), (4, 5, 0), (0, 0, 0), (4, 0, 3), (0, 5, 0), (0, 0, 3), (4, 0, 0))


# --- layouts ------------------------------------------------------------------------

LAYOUTS = ("C", "F", "strided", "negative", "transposed", "broadcast_rows", "broadcast_cols")
BASIC_LAYOUTS = ("C", "F", "strided", "negative")


def make(rng, shape, dtype, layout="C", low=-1.0, high=1.0):
    """A random array of `shape` and `dtype`, laid out in memory as `layout`:
    C, F, strided (a[::2, ::3] of a bigger array), negative (a[::-1, ::-2]),
    transposed (.T of a C array), broadcast_rows (stride 0 along axis 0),
    broadcast_cols (stride 0 along the last axis). Always 'shape' in the end."""
    shape = tuple(shape)
    dtype = np.dtype(dtype)

    def draw(s):
        return rng.uniform(low, high, size=s).astype(dtype)

    if layout == "C":
        out = draw(shape)
    elif layout == "F":
        out = np.asfortranarray(draw(shape))
    elif layout == "strided":
        big = draw(tuple(2 * d for d in shape[:-1]) + (3 * shape[-1],))
        out = big[tuple(slice(None, None, 2) for _ in shape[:-1]) + (slice(None, None, 3),)]
    elif layout == "negative":
        big = draw(shape[:-1] + (2 * shape[-1],))
        out = big[tuple(slice(None, None, -1) for _ in shape[:-1]) + (slice(None, None, -2),)]
    elif layout == "transposed":
        out = draw(shape[::-1]).T
    elif layout == "broadcast_rows":
        out = np.broadcast_to(draw((1,) + shape[1:]), shape)
    elif layout == "broadcast_cols":
        out = np.broadcast_to(draw(shape[:-1] + (1,)), shape)
    else:
        raise AssertionError(layout)
    assert out.shape == shape and out.dtype == dtype
    return out


def relayout(values, layout):
    """The same values in the memory layout `layout` (see make)."""
    values = np.asarray(values)
    shape = values.shape
    if layout == "C":
        return values.copy()
    if layout == "F":
        return np.asfortranarray(values)
    if layout == "transposed":
        return np.ascontiguousarray(values.T).T
    if layout in ("strided", "negative"):
        out = make(np.random.default_rng(0), shape, values.dtype, layout)
        out[...] = values
        return out
    if layout == "broadcast_rows":
        assert (values == values[:1]).all()
        return np.broadcast_to(values[:1], shape)
    if layout == "broadcast_cols":
        assert (values == values[..., :1]).all()
        return np.broadcast_to(values[..., :1], shape)
    raise AssertionError(layout)


# --- references ---------------------------------------------------------------------


def eps(dtype):
    return float(np.finfo(dtype).eps)


def f64(a):
    return np.asarray(a, dtype=np.float64)


def gemm_bound(a, b, dtype):
    """Elementwise error allowed for a k-term dot product computed in `dtype`.

    Rounding errors of independent terms grow like sqrt(k); a broadcast (zero-stride)
    input repeats the same product, whose errors add up with one sign, so there the
    worst-case bound k * eps applies."""
    k = a.shape[1]
    correlated = 0 in a.strides or 0 in b.strides
    growth = (k + 1) if correlated else 4.0 * math.sqrt(k + 1)
    a, b = f64(a), f64(b)
    return growth * eps(dtype) * (np.abs(a) @ np.abs(b)) + np.finfo(dtype).tiny


def ref_act(name, z, slope=SLOPE):
    """float64 reference of activation `name` (softmax along the last axis)."""
    z = f64(z)
    with np.errstate(over="ignore", invalid="ignore"):
        if name == "identity":
            return z.copy()
        if name == "relu":
            return np.where(z < 0, 0.0, z)
        if name == "leaky_relu":
            return np.where(z < 0, z * slope, z)
        if name == "sigmoid":  # the stable form: exp of non-positive numbers only
            e = np.exp(-np.abs(z))
            return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        if name == "tanh":
            return np.tanh(z)
        if name == "gelu":
            return 0.5 * z * (1.0 + _erf(z / math.sqrt(2.0)))
        if name == "softmax":
            if z.size == 0:
                return z.copy()
            e = np.exp(z - z.max(axis=-1, keepdims=True))
            return e / e.sum(axis=-1, keepdims=True)
        if name == "step":
            return np.heaviside(z, 1.0)
    raise AssertionError(name)


def ref_act_backward(name, g, z, slope=SLOPE):
    """float64 reference of grad_y * act'(z) (softmax: row-wise vector-Jacobian product)."""
    g, z = f64(g), f64(z)
    if name == "identity":
        return g.copy()
    if name == "relu":
        return np.where(z > 0, g, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, g, g * slope)
    if name == "sigmoid":
        s = ref_act("sigmoid", z)
        return g * s * (1.0 - s)
    if name == "tanh":
        return g * (1.0 - np.tanh(z) ** 2)
    if name == "gelu":
        cdf = 0.5 * (1.0 + _erf(z / math.sqrt(2.0)))
        pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        return g * (cdf + z * pdf)
    if name == "softmax":
        y = ref_act("softmax", z)
        return y * (g - (g * y).sum(axis=-1, keepdims=True))
    raise AssertionError(name)


# Lipschitz constant of each activation (bounds how an error in z shows in act(z)).
LIPSCHITZ = {
    "identity": 1.0,
    "relu": 1.0,
    "leaky_relu": 1.0,
    "sigmoid": 0.25,
    "tanh": 1.0,
    "gelu": 1.13,
    "softmax": 1.0,
    "step": 0.0,
}


def act_bound(name, z_bound, z_ref, y_ref, dtype):
    """Error allowed in act(z) computed in `dtype`, given an elementwise error bound
    on its input z: the error carried over from z plus the activation's own rounding."""
    z_bound = np.broadcast_to(z_bound, np.shape(z_ref))
    prop = LIPSCHITZ[name] * z_bound
    if name == "softmax" and z_bound.size:  # every entry of a row moves with its worst z
        prop = 2.0 * np.max(z_bound, axis=-1, keepdims=True) * np.ones_like(z_bound)
    own = 8.0 * eps(dtype) * np.abs(y_ref)
    if name == "gelu":
        # x * (1 + erf(x / sqrt 2)) / 2, the exact form as PyTorch computes it, cancels
        # in 1 + erf for negative x: the error is ~eps * |x|, not eps * |gelu(x)|.
        own = own + 2.0 * eps(dtype) * np.abs(f64(z_ref))
    if name == "softmax" and y_ref.size:
        # exp(z - max z) inherits the rounding of the subtraction, |z - max z| * eps
        # relative, and the row sum adds ~sqrt(n) * eps.
        zr = f64(z_ref)
        spread = np.abs(zr - zr.max(axis=-1, keepdims=True))
        own = 2.0 * eps(dtype) * np.abs(y_ref) * (8.0 + spread + math.sqrt(zr.shape[-1]))
    return prop + own + np.finfo(dtype).tiny


def check_act(y, z, name, dtype, slope=SLOPE, what=None):
    """y is act(z) for the exact (dtype) input z, up to the activation's own rounding."""
    __tracebackhide__ = True  # keep failure reports short (no big array reprs)
    y_ref = ref_act(name, z, slope)
    assert np.asarray(y).dtype == np.dtype(dtype)
    if name == "step":
        np.testing.assert_array_equal(y, y_ref, err_msg=what or name)
        return
    assert_within(y, y_ref, act_bound(name, 0.0, z, y_ref, dtype), what or name)


def assert_within(got, ref, bound, what=""):
    """|got - ref| <= bound elementwise; NaN only where the reference has NaN."""
    __tracebackhide__ = True  # keep failure reports short (no big array reprs)
    got = np.asarray(got)
    assert got.shape == ref.shape, (what, got.shape, ref.shape)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref), err_msg=f"{what}: NaN pattern")
    ok = np.isnan(ref) | (np.abs(f64(got) - ref) <= bound)
    if not ok.all():
        idx = tuple(np.argwhere(~ok)[0])
        raise AssertionError(
            f"{what}: {np.count_nonzero(~ok)} of {ok.size} entries out of tolerance; first at "
            f"{idx}: got {got[idx]!r}, expected {ref[idx]!r}, allowed error {bound[idx]:.3g}"
        )


def check_matmul(got, a, b, dtype):
    __tracebackhide__ = True  # keep failure reports short (no big array reprs)
    ref = f64(a) @ f64(b)
    assert got.dtype == np.dtype(dtype) and got.flags.c_contiguous
    assert_within(got, ref, gemm_bound(a, b, dtype), "matmul")


def linear_ref(x, w, bias, act, slope=SLOPE):
    """(y, z) in float64 for y = act(z), z = x @ w.T + bias."""
    z = f64(x) @ f64(w).T
    if bias is not None:
        z = z + f64(bias)
    return ref_act(act, z, slope), z


def check_linear(y, x, w, bias, act, dtype, slope=SLOPE, pre=None, ref=None):
    """y = linear(x, w, bias, act) within the error bound of its GEMM and activation,
    against float64 NumPy (or against `ref`, e.g. PyTorch's result in float64)."""
    __tracebackhide__ = True  # keep failure reports short (no big array reprs)
    y_ref, z_ref = linear_ref(x, w, bias, act, slope)
    if ref is not None:
        y_ref = f64(ref)
    if bias is None:
        zb = gemm_bound(x, np.asarray(w).T, dtype)
    else:  # the bias is one more term of each sum (it may start the accumulation)
        ones = np.ones((x.shape[0], 1), x.dtype)
        zb = gemm_bound(np.hstack([x, ones]), np.vstack([np.asarray(w).T, bias[None, :]]), dtype)
        if 0 in x.strides or 0 in w.strides:  # correlated rounding: see gemm_bound
            zb = np.maximum(
                zb, (x.shape[1] + 2) * eps(dtype) * (np.abs(f64(x)) @ np.abs(f64(w)).T + np.abs(f64(bias)))
            )
    assert y.dtype == np.dtype(dtype) and y.flags.c_contiguous and y.shape == y_ref.shape
    if pre is not None:
        assert_within(pre, z_ref, zb, "pre_activation_out")
    if act == "step":
        # Discontinuous at 0: compare where the sign of z is certain, and require
        # exactly 0 or 1 everywhere.
        assert np.isin(y, (0.0, 1.0)).all()
        sure = np.abs(z_ref) > zb
        np.testing.assert_array_equal(y[sure], y_ref[sure])
        assert sure.mean() > 0.9
        return
    assert_within(y, y_ref, act_bound(act, zb, z_ref, y_ref, dtype), f"linear[{act}]")


def linear_with_grad(rng, shape, dtype, act, *, margin=0.0, bias=True, layout="C"):
    """Random x (m, k), weight (n, k), bias (n,), their forward pass, and a grad_y.
    With `margin`, pre-activations within `margin` of 0 (the kink of relu/leaky_relu)
    are avoided by resampling the bias."""
    m, k, n = shape
    x = make(rng, (m, k), dtype, layout)
    w = make(rng, (n, k), dtype, layout)
    for _ in range(100):
        b = make(rng, (n,), dtype) if bias else None
        z = f64(x) @ f64(w).T + (0.0 if b is None else f64(b))
        if margin == 0.0 or z.size == 0 or np.abs(z).min() > margin:
            break
    else:
        raise AssertionError("could not avoid the kink")
    gy = make(rng, (m, n), dtype)
    return x, w, b, gy


def grad_pre_bound(act, g, z, dtype, slope=SLOPE):
    """Error allowed in grad_pre = grad_y * act'(z) computed in `dtype` (from y or z)."""
    g, z = f64(g), f64(z)
    e = 8.0 * eps(dtype)
    ref = np.abs(ref_act_backward(act, g, z, slope))
    if act in ("identity", "relu", "leaky_relu"):
        return e * ref
    if act == "softmax":
        if g.size == 0:
            return ref
        # y carries the rounding of exp(z - max z): ~(|z - max z| + sqrt(n)) * eps relative
        y = ref_act("softmax", z)
        rows = (np.abs(g) * y).sum(axis=-1, keepdims=True)
        spread = z.max(axis=-1, keepdims=True) - z.min(axis=-1, keepdims=True)
        return e * (ref + y * (np.abs(g) + 2 * rows) * (math.sqrt(g.shape[-1]) + spread))
    # sigmoid/tanh from the rounded y; gelu's cdf cancels for negative z
    return e * (ref + np.abs(g) * (1.0 + np.abs(z)))


def check_linear_backward(grads, gy, x, w, z, act, dtype, slope=SLOPE, ref=None, what=""):
    """(grad_x, grad_weight, grad_bias) of y = act(z), z = x @ w.T + b, against float64
    (or the given reference grads), within the error of the two GEMMs and the column sum
    on top of the error of grad_pre."""
    __tracebackhide__ = True  # keep failure reports short (no big array reprs)
    gx, gw, gb = grads
    m, k = x.shape
    n = w.shape[0]
    assert gx.shape == (m, k) and gw.shape == (n, k) and gb.shape == (n,)
    for a in grads:
        assert a.dtype == np.dtype(dtype) and a.flags.c_contiguous
    gp = ref_act_backward(act, gy, z, slope)
    gpb = grad_pre_bound(act, gy, z, dtype, slope)
    if ref is None:
        ref = (gp @ f64(w), gp.T @ f64(x), gp.sum(axis=0))
    ones = np.ones((m, 1))
    bounds = (
        gemm_bound(gp, w, dtype) + gpb @ np.abs(f64(w)),
        gemm_bound(gp.T, x, dtype) + gpb.T @ np.abs(f64(x)),
        gemm_bound(gp.T, ones, dtype)[:, 0] + gpb.sum(axis=0),
    )
    for name, got, r, bound in zip(("grad_x", "grad_weight", "grad_bias"), grads, ref, bounds):
        assert_within(got, f64(r), bound, f"{what} {act}: {name}")

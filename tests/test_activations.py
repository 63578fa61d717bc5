"""fastmlp.activation and fastmlp.activation_backward against float64 NumPy."""

import numpy as np
import pytest
from conftest import (
    ACTIVATIONS,
    DIFFERENTIABLE,
    DTYPES,
    LAYOUTS,
    assert_within,
    check_act,
    eps,
    f64,
    make,
    ref_act,
    ref_act_backward,
    relayout,
)

import fastmlp

SHAPES = (
    (1,),
    (7,),
    (1, 1),
    (13, 17),
    (3, 0),
    (0, 4),
    (0,),
    (2, 3, 5),
    (2, 1, 3, 4),
    (300, 500),
)  # the last one is big enough for two threads

# Activations whose derivative can be had from y alone (x optional).
FROM_Y = ("identity", "relu", "leaky_relu", "sigmoid", "tanh", "softmax")


def grad_bound(name, g, x, y_ref, dtype):
    """Error allowed in grad_y * act'(x) computed in `dtype`."""
    g, x = f64(g), f64(x)
    e = 8.0 * eps(dtype)
    ref = ref_act_backward(name, g, x)
    if name in ("identity", "relu", "leaky_relu"):
        return e * np.abs(ref) + np.finfo(dtype).tiny
    if name == "softmax":
        rows = (np.abs(g) * y_ref).sum(axis=-1, keepdims=True) if g.size else 0.0
        scale = y_ref * (np.abs(g) + rows) * np.sqrt(max(g.shape[-1], 1))
        return e * (np.abs(ref) + scale) + np.finfo(dtype).tiny
    # sigmoid/tanh use y (rounded to dtype); gelu's cdf cancels for negative x
    return e * (np.abs(ref) + np.abs(g) * (1.0 + np.abs(x))) + np.finfo(dtype).tiny


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_forward(isa, rng, dtype, shape, name):
    x = make(rng, shape, dtype, low=-4, high=4)
    y = fastmlp.activation(name, x)
    assert y.shape == x.shape and y.flags.c_contiguous
    check_act(y, x, name, dtype)


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_forward_layouts(isa, rng, dtype, layout, name):
    x = make(rng, (11, 19), dtype, layout, low=-4, high=4)
    before = x.copy()
    check_act(fastmlp.activation(name, x), x, name, dtype)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_out(isa, rng, dtype, name):
    x = make(rng, (5, 3, 7), dtype, "strided", low=-4, high=4)
    out = np.full(x.shape, np.nan, dtype)
    y = fastmlp.activation(name, x, out=out)
    assert np.shares_memory(y, out)
    check_act(out, x, name, dtype)


@pytest.mark.parametrize("slope", (0.0, 0.2, 1.0, -0.5))
@pytest.mark.parametrize("dtype", DTYPES)
def test_leaky_relu_slope(isa, rng, dtype, slope):
    x = make(rng, (6, 9), dtype)
    check_act(fastmlp.activation("leaky_relu", x, negative_slope=slope), x, "leaky_relu", dtype, slope=slope)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_backward(isa, rng, dtype, shape, name):
    x = make(rng, shape, dtype, low=-4, high=4)
    y = fastmlp.activation(name, x)
    g = make(rng, shape, dtype)
    ref = ref_act_backward(name, g, x)
    bound = grad_bound(name, g, x, ref_act(name, x), dtype)
    gx = fastmlp.activation_backward(name, g, y, x)
    assert gx.shape == shape and gx.dtype == dtype and gx.flags.c_contiguous
    assert_within(gx, ref, bound, f"{name}' with x")
    if name in FROM_Y:
        assert_within(fastmlp.activation_backward(name, g, y), ref, bound, f"{name}' from y")


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_backward_layouts(isa, rng, dtype, layout, name):
    shape = (11, 19)
    x = make(rng, shape, dtype, layout, low=-4, high=4)
    y = relayout(fastmlp.activation(name, x), layout)
    g = make(rng, shape, dtype, layout)
    ref = ref_act_backward(name, g, x)
    bound = grad_bound(name, g, x, ref_act(name, x), dtype)
    assert_within(fastmlp.activation_backward(name, g, y, x), ref, bound, name)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@pytest.mark.parametrize("dtype", DTYPES)
def test_backward_out(isa, rng, dtype, name):
    x = make(rng, (4, 5, 6), dtype, low=-4, high=4)
    y, g = fastmlp.activation(name, x), make(rng, x.shape, dtype)
    out = np.full(x.shape, np.nan, dtype)
    r = fastmlp.activation_backward(name, g, y, x, out=out)
    assert np.shares_memory(r, out)
    assert_within(out, ref_act_backward(name, g, x), grad_bound(name, g, x, ref_act(name, x), dtype), name)


@pytest.mark.parametrize("slope", (0.0, 0.2, 3.0, -0.5))
@pytest.mark.parametrize("dtype", DTYPES)
def test_leaky_relu_backward_slope(isa, rng, dtype, slope):
    x = make(rng, (6, 9), dtype)
    y, g = fastmlp.activation("leaky_relu", x, negative_slope=slope), make(rng, (6, 9), dtype)
    ref = ref_act_backward("leaky_relu", g, x, slope)
    bound = 8 * eps(dtype) * np.abs(ref) + np.finfo(dtype).tiny
    got = fastmlp.activation_backward("leaky_relu", g, y, x, negative_slope=slope)
    assert_within(got, ref, bound, "leaky_relu' with x")
    if slope >= 0:  # the sign of y tells the sign of x only for a non-negative slope
        got = fastmlp.activation_backward("leaky_relu", g, y, negative_slope=slope)
        assert_within(got, ref, bound, "leaky_relu' from y")


def test_relu_derivative_at_zero_is_zero_like_torch(isa):
    x = np.array([-1.0, -0.0, 0.0, 2.0])
    g = np.ones(4)
    y = fastmlp.activation("relu", x)
    np.testing.assert_array_equal(fastmlp.activation_backward("relu", g, y, x), [0, 0, 0, 1])
    np.testing.assert_array_equal(fastmlp.activation_backward("relu", g, y), [0, 0, 0, 1])


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_backward_matches_finite_differences(isa, rng, name):
    # L(x) = sum(g * act(x)); dL/dx by central differences in float64
    x = make(rng, (4, 6), np.float64, low=-3, high=3)
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink of relu/leaky_relu
    g = make(rng, (4, 6), np.float64)
    y = fastmlp.activation(name, x)
    h = 1e-6
    fd = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        fd[idx] = (np.sum(g * fastmlp.activation(name, xp)) - np.sum(g * fastmlp.activation(name, xm))) / (
            2 * h
        )
    got = fastmlp.activation_backward(name, g, y, x)
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


# --- special values -----------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_saturates_without_overflow(isa, dtype):
    x = np.array([-1000.0, -100.0, -50.0, 0.0, 50.0, 100.0, 1000.0], dtype)
    with np.errstate(all="raise"):
        y = fastmlp.activation("sigmoid", x)
    assert np.isfinite(y).all()
    np.testing.assert_array_equal(y[[0, -1]], [0.0, 1.0])
    assert y[3] == 0.5
    check_act(y, x, "sigmoid", dtype)
    g = fastmlp.activation_backward("sigmoid", np.ones_like(x), y)
    assert np.isfinite(g).all() and g[0] == 0 and g[-1] == 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_tanh_and_gelu_at_large_inputs(isa, dtype):
    x = np.array([-1000.0, -40.0, 40.0, 1000.0, -np.inf, np.inf], dtype)
    np.testing.assert_array_equal(fastmlp.activation("tanh", x), [-1, -1, 1, 1, -1, 1])
    y = fastmlp.activation("gelu", x[:4])
    np.testing.assert_array_equal(y, [0.0, 0.0, 40.0, 1000.0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu_over_its_whole_range(isa, dtype):
    # A dense grid over [-9, 9], the floats around the rational erf's cap at |x| = 5.6
    # (vmath.hpp), where it switches to exactly +-1, and signed zeros and tiny values.
    cap = np.float32(5.6)
    near_cap = cap + np.arange(-8, 9, dtype=np.float32) * np.spacing(cap)
    x = np.concatenate([np.linspace(-9, 9, 360_001), near_cap, -near_cap, [0.0, -0.0, 1e-30, -1e-30]]).astype(
        dtype
    )
    y = fastmlp.activation("gelu", x)
    check_act(y, x, "gelu", dtype)
    # For x >= 0 there is no cancellation in 1 + erf: a few ulp of gelu itself.
    pos = x >= 0
    ref = ref_act("gelu", x)
    assert np.all(np.abs(f64(y[pos]) - ref[pos]) <= 6 * eps(dtype) * ref[pos] + np.finfo(dtype).tiny)
    g = np.ones_like(x)
    assert_within(
        fastmlp.activation_backward("gelu", g, y, x),
        ref_act_backward("gelu", g, x),
        grad_bound("gelu", g, x, ref, dtype),
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_of_large_values(isa, rng, dtype):
    x = np.stack([np.linspace(-1e4, 1e4, 9), np.full(9, 3e4), np.full(9, -3e4), [1e4] + [0.0] * 8]).astype(
        dtype
    )
    y = fastmlp.activation("softmax", x)
    assert np.isfinite(y).all() and (y >= 0).all()
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=0, atol=9 * eps(dtype))
    np.testing.assert_allclose(y[1], 1 / 9, rtol=4 * eps(dtype))
    np.testing.assert_array_equal(y[3], [1.0] + [0.0] * 8)
    check_act(y, x, "softmax", dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_rows_sum_to_one(isa, rng, dtype):
    x = make(rng, (37, 129), dtype, low=-50, high=50)
    y = fastmlp.activation("softmax", x)
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=0, atol=129 * eps(dtype))
    # the vector-Jacobian product of a row sum is zero
    gx = fastmlp.activation_backward("softmax", np.ones_like(y), y)
    np.testing.assert_allclose(gx, 0.0, atol=129 * eps(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_step(isa, dtype):
    x = np.array([-np.inf, -1.0, -1e-30, -0.0, 0.0, 1e-30, 1.0, np.inf], dtype)
    np.testing.assert_array_equal(fastmlp.activation("step", x), [0, 0, 0, 1, 1, 1, 1, 1])


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_propagates_like_numpy(isa, rng, dtype, name):
    # NaN in, NaN out at the same place (softmax: the whole row), as NumPy's ufuncs
    # (np.heaviside for step) and torch do; relu(NaN) is NaN as in torch.
    x = make(rng, (3, 5), dtype)
    x[1, 2] = np.nan
    with np.errstate(invalid="ignore"):
        expect = np.isnan(ref_act(name, x))
    y = fastmlp.activation(name, x)
    np.testing.assert_array_equal(np.isnan(y), expect, err_msg=f"{name}: where NaN goes")
    assert np.isnan(y[1, 2])
    assert not np.isnan(np.delete(y, 1, axis=0)).any()


# float32 gelu's backward is left out: its vector erf and exp (vmath.hpp) fuse where the
# ISA has FMA.
SAME_BITS = [
    (name, dtype)
    for name in DIFFERENTIABLE
    for dtype in DTYPES
    if name != "softmax" and not (name == "gelu" and dtype == np.float32)
]


@pytest.mark.parametrize(("name", "dtype"), SAME_BITS)
def test_backward_and_bias_gradient_are_bit_identical_on_every_isa(rng, dtype, name):
    """The activation backward and the bias gradient (its column sums) are compiled per ISA
    without FMA contraction: the same bits on every ISA, from the same y."""
    from fastmlp import _core

    x = make(rng, (70, 45), dtype, low=-4, high=4)
    y = ref_act(name, x).astype(dtype)
    g = make(rng, x.shape, dtype)
    weight, inputs = make(rng, (45, 3), dtype), make(rng, (70, 3), dtype)
    results = {}
    try:
        for isa in fastmlp.cpu_info()["available_isas"]:
            _core._set_isa(isa)
            _, _, grad_b = fastmlp.linear_backward(g, inputs, weight, y, name, pre_activation=x)
            results[isa] = (fastmlp.activation_backward(name, g, y, x), grad_b)
    finally:
        _core._init_from_environment()
    first = results["generic"]
    for isa, (gx, grad_b) in results.items():
        np.testing.assert_array_equal(gx, first[0], err_msg=f"{name}' on {isa}")
        np.testing.assert_array_equal(grad_b, first[1], err_msg=f"{name} bias gradient on {isa}")

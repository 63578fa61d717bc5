"""hypothesis property tests over shapes, layouts and dtypes (on every ISA path)."""

import numpy as np
import pytest
from conftest import (
    ACTIVATIONS,
    DIFFERENTIABLE,
    LAYOUTS,
    assert_within,
    check_act,
    check_linear,
    check_linear_backward,
    check_matmul,
    make,
    relayout,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastmlp

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

dims = st.integers(min_value=0, max_value=70)
dtypes = st.sampled_from([np.float32, np.float64])
layouts = st.sampled_from(LAYOUTS)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


@SETTINGS
@given(m=dims, k=dims, n=dims, dtype=dtypes, la=layouts, lb=layouts, seed=seeds, use_out=st.booleans())
def test_matmul(isa, m, k, n, dtype, la, lb, seed, use_out):
    rng = np.random.default_rng(seed)
    a, b = make(rng, (m, k), dtype, la), make(rng, (k, n), dtype, lb)
    out = np.full((m, n), np.nan, dtype) if use_out else None
    c = fastmlp.matmul(a, b, out=out)
    check_matmul(c, a, b, dtype)
    if use_out:
        assert np.shares_memory(c, out)


@SETTINGS
@given(
    m=dims, k=dims, n=dims, dtype=dtypes, lx=layouts, lw=layouts, seed=seeds, act=st.sampled_from(ACTIVATIONS)
)
def test_linear(isa, m, k, n, dtype, lx, lw, seed, act):
    rng = np.random.default_rng(seed)
    x, w = make(rng, (m, k), dtype, lx), make(rng, (n, k), dtype, lw)
    b = make(rng, (n,), dtype)
    pre = np.empty((m, n), dtype)
    y = fastmlp.linear(x, w, b, act, pre_activation_out=pre)
    check_linear(y, x, w, b, act, dtype, pre=pre)
    check_act(y, pre, act, dtype)  # y is act of the pre-activation it reports


@SETTINGS
@given(
    m=dims,
    k=dims,
    n=dims,
    dtype=dtypes,
    lx=layouts,
    lw=layouts,
    lg=layouts,
    seed=seeds,
    act=st.sampled_from(DIFFERENTIABLE),
)
def test_linear_backward(isa, m, k, n, dtype, lx, lw, lg, seed, act):
    rng = np.random.default_rng(seed)
    x, w = make(rng, (m, k), dtype, lx), make(rng, (n, k), dtype, lw)
    b, gy = make(rng, (n,), dtype), make(rng, (m, n), dtype, lg)
    pre = np.empty((m, n), dtype)
    y = fastmlp.linear(x, w, b, act, pre_activation_out=pre)
    grads = fastmlp.linear_backward(gy, x, w, y, act, pre_activation=pre)
    check_linear_backward(grads, gy, x, w, pre, act, dtype)


@SETTINGS
@given(m=dims, k=dims, n=dims, dtype=dtypes, seed=seeds)
def test_linear_is_matmul_with_transposed_weight(isa, m, k, n, dtype, seed):
    # linear(x, w) and matmul(x, w.T) are one product: the same up to rounding
    rng = np.random.default_rng(seed)
    x, w, b = make(rng, (m, k), dtype), make(rng, (n, k), dtype), make(rng, (n,), dtype)
    check_matmul(fastmlp.matmul(x, w.T), x, w.T, dtype)
    y = fastmlp.linear(x, w, b)
    check_linear(y, x, w, b, "identity", dtype)


@SETTINGS
@given(
    shape=st.lists(st.integers(0, 9), min_size=1, max_size=4),
    dtype=dtypes,
    layout=st.sampled_from(("C", "F", "strided", "negative", "broadcast_rows", "broadcast_cols")),
    seed=seeds,
    act=st.sampled_from(ACTIVATIONS),
    scale=st.sampled_from([1.0, 10.0, 1000.0]),
)
def test_activation_forward(isa, shape, dtype, layout, seed, act, scale):
    rng = np.random.default_rng(seed)
    x = make(rng, tuple(shape), dtype, layout, low=-scale, high=scale)
    y = fastmlp.activation(act, x)
    assert y.shape == x.shape and y.flags.c_contiguous and np.isfinite(y).all()
    check_act(y, x, act, dtype)


@SETTINGS
@given(
    m=st.integers(0, 30),
    n=st.integers(0, 30),
    dtype=dtypes,
    layout=layouts,
    seed=seeds,
    act=st.sampled_from(DIFFERENTIABLE),
)
def test_activation_backward_is_linear_in_grad_y(isa, m, n, dtype, layout, seed, act):
    # act'(x) * (g1 + g2) == act'(x) * g1 + act'(x) * g2 up to rounding, in any layout
    rng = np.random.default_rng(seed)
    x = make(rng, (m, n), dtype, low=-3, high=3)
    y = fastmlp.activation(act, x)
    g1, g2 = make(rng, (m, n), dtype), make(rng, (m, n), dtype)
    d1 = fastmlp.activation_backward(act, g1, y, x)
    d2 = fastmlp.activation_backward(act, g2, y, x)
    d12 = fastmlp.activation_backward(act, relayout(g1 + g2, "F") if layout == "F" else g1 + g2, y, x)
    eps = np.finfo(dtype).eps
    scale = np.abs(d1.astype(np.float64)) + np.abs(d2) + np.abs(d12) + 1e-30
    if act == "softmax" and n:
        scale = scale + np.abs(y) * (np.abs(g1) + np.abs(g2)).sum(axis=-1, keepdims=True)
    assert_within(d12, (d1.astype(np.float64) + d2), 8 * eps * scale, act)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@SETTINGS
@given(m=st.integers(1, 20), n=st.integers(1, 40), seed=seeds, scale=st.sampled_from([1.0, 100.0, 1e4]))
def test_softmax_is_a_distribution(isa, dtype, m, n, seed, scale):
    rng = np.random.default_rng(seed)
    x = make(rng, (m, n), dtype, low=-scale, high=scale)
    y = fastmlp.activation("softmax", x)
    assert np.isfinite(y).all() and (y >= 0).all() and (y <= 1).all()
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=0, atol=2 * n * np.finfo(dtype).eps)
    check_act(y, x, "softmax", dtype)

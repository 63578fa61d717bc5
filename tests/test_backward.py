"""fastmlp.linear_backward against float64 NumPy, PyTorch autograd and finite differences."""

import numpy as np
import pytest
from conftest import (
    DIFFERENTIABLE,
    DTYPES,
    EDGE_SHAPE_NAMES,
    LAYOUTS,
    ZERO_SHAPES,
    all_blocks_shape,
    check_linear,
    check_linear_backward,
    edge_shapes,
    linear_with_grad,
    make,
    relayout,
)

import fastmlp

NEEDS_PRE = ("gelu",)


def forward(x, w, b, act, slope=0.01):
    pre = np.empty((x.shape[0], w.shape[0]), x.dtype)
    y = fastmlp.linear(x, w, b, act, negative_slope=slope, pre_activation_out=pre)
    return y, pre


@pytest.mark.parametrize("act", DIFFERENTIABLE)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape_name", EDGE_SHAPE_NAMES)
def test_block_edges(isa, gemm_path, rng, dtype, shape_name, act):
    x, w, b, gy = linear_with_grad(rng, edge_shapes(dtype)[shape_name], dtype, act)
    y, pre = forward(x, w, b, act)
    grads = fastmlp.linear_backward(gy, x, w, y, act, pre_activation=pre)
    check_linear_backward(grads, gy, x, w, pre, act, dtype, what="with pre_activation")
    if act not in NEEDS_PRE:
        grads = fastmlp.linear_backward(gy, x, w, y, act)
        check_linear_backward(grads, gy, x, w, pre, act, dtype, what="from y")


@pytest.mark.parametrize("act", ("identity", "relu"))
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_block_edge_at_once(isa, rng, dtype, act):
    x, w, b, gy = linear_with_grad(rng, all_blocks_shape(dtype), dtype, act)
    y, pre = forward(x, w, b, act)
    grads = fastmlp.linear_backward(gy, x, w, y, act, pre_activation=pre)
    check_linear_backward(grads, gy, x, w, pre, act, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout_w", LAYOUTS)
@pytest.mark.parametrize("layout_x", LAYOUTS)
def test_layouts(isa, rng, dtype, layout_x, layout_w):
    m, k, n = edge_shapes(dtype)["primes"]
    x, w = make(rng, (m, k), dtype, layout_x), make(rng, (n, k), dtype, layout_w)
    b, gy = make(rng, (n,), dtype), make(rng, (m, n), dtype, "negative")
    y, pre = forward(x, w, b, "tanh")
    before = [a.copy() for a in (gy, x, w, y)]
    grads = fastmlp.linear_backward(gy, x, w, relayout(y, "F"), "tanh")
    check_linear_backward(grads, gy, x, w, pre, "tanh", dtype)
    for a, a0 in zip((gy, x, w, y), before):
        np.testing.assert_array_equal(a, a0)  # inputs untouched


@pytest.mark.parametrize("act", DIFFERENTIABLE)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ("F", "strided", "negative", "transposed"))
def test_layouts_of_grad_y_y_and_pre(isa, rng, dtype, layout, act):
    x, w, b, gy = linear_with_grad(rng, (23, 17, 29), dtype, act)
    y, pre = forward(x, w, b, act)
    grads = fastmlp.linear_backward(
        relayout(gy, layout), x, w, relayout(y, layout), act, pre_activation=relayout(pre, layout)
    )
    check_linear_backward(grads, gy, x, w, pre, act, dtype)


@pytest.mark.parametrize("act", DIFFERENTIABLE)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ZERO_SHAPES)
def test_zero_size(isa, rng, dtype, shape, act):
    m, k, n = shape
    x, w, b, gy = linear_with_grad(rng, shape, dtype, act)
    y, pre = forward(x, w, b, act)
    gx, gw, gb = fastmlp.linear_backward(gy, x, w, y, act, pre_activation=pre)
    assert (gx.shape, gw.shape, gb.shape) == ((m, k), (n, k), (n,))
    # sums over an empty batch are zero; so are products through an empty layer
    np.testing.assert_array_equal(gw, 0.0)
    np.testing.assert_array_equal(gx, 0.0)
    if m == 0:
        np.testing.assert_array_equal(gb, 0.0)
    check_linear_backward((gx, gw, gb), gy, x, w, pre, act, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_k_still_has_bias_gradient(isa, rng, dtype):
    gy = make(rng, (6, 4), dtype)
    x, w = np.empty((6, 0), dtype), np.empty((4, 0), dtype)
    y = fastmlp.linear(x, w, make(rng, (4,), dtype))
    gx, gw, gb = fastmlp.linear_backward(gy, x, w, y)
    assert gx.shape == (6, 0) and gw.shape == (4, 0)
    np.testing.assert_allclose(gb, gy.astype(np.float64).sum(axis=0), rtol=8 * np.finfo(dtype).eps)


@pytest.mark.parametrize("slope", (0.0, 0.2, 2.0, -0.5))
@pytest.mark.parametrize("dtype", DTYPES)
def test_leaky_relu_slopes(isa, rng, dtype, slope):
    x, w, b, gy = linear_with_grad(rng, (19, 13, 21), dtype, "leaky_relu")
    y, pre = forward(x, w, b, "leaky_relu", slope)
    grads = fastmlp.linear_backward(gy, x, w, y, "leaky_relu", pre_activation=pre, negative_slope=slope)
    check_linear_backward(grads, gy, x, w, pre, "leaky_relu", dtype, slope=slope)
    if slope >= 0:
        grads = fastmlp.linear_backward(gy, x, w, y, "leaky_relu", negative_slope=slope)
        check_linear_backward(grads, gy, x, w, pre, "leaky_relu", dtype, slope=slope, what="from y")


# --- PyTorch autograd ---------------------------------------------------------------


def torch_grads(torch, x, w, b, gy, act, slope):
    F = torch.nn.functional
    fns = {
        "identity": lambda z: z,
        "relu": F.relu,
        "leaky_relu": lambda z: F.leaky_relu(z, slope),
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "gelu": F.gelu,
        "softmax": lambda z: torch.softmax(z, dim=-1),
    }
    xt, wt, bt = (torch.tensor(a.astype(np.float64), requires_grad=True) for a in (x, w, b))
    yt = fns[act](F.linear(xt, wt, bt))
    yt.backward(torch.from_numpy(gy.astype(np.float64)))
    return yt.detach().numpy(), (xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy())


@pytest.mark.parametrize("act", DIFFERENTIABLE)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape_name", ("primes", "mn=tile+1", "k=kc+1"))
def test_matches_torch_autograd(isa, gemm_path, rng, dtype, shape_name, act):
    torch = pytest.importorskip("torch")
    x, w, b, gy = linear_with_grad(rng, edge_shapes(dtype)[shape_name], dtype, act, margin=1e-4)
    y, pre = forward(x, w, b, act)
    y_t, ref = torch_grads(torch, x, w, b, gy, act, 0.01)
    check_linear(y, x, w, b, act, dtype, pre=pre, ref=y_t)
    grads = fastmlp.linear_backward(gy, x, w, y, act, pre_activation=pre)
    check_linear_backward(grads, gy, x, w, pre, act, dtype, ref=ref, what="vs torch")


@pytest.mark.parametrize("slope", (0.2, -0.5))
def test_leaky_relu_slope_matches_torch(isa, rng, slope):
    torch = pytest.importorskip("torch")
    x, w, b, gy = linear_with_grad(rng, (7, 5, 9), np.float64, "leaky_relu", margin=1e-4)
    y, pre = forward(x, w, b, "leaky_relu", slope)
    _, ref = torch_grads(torch, x, w, b, gy, "leaky_relu", slope)
    grads = fastmlp.linear_backward(gy, x, w, y, "leaky_relu", pre_activation=pre, negative_slope=slope)
    check_linear_backward(grads, gy, x, w, pre, "leaky_relu", np.float64, slope=slope, ref=ref)


# --- finite differences (always) ----------------------------------------------------


@pytest.mark.parametrize("act", DIFFERENTIABLE)
def test_matches_finite_differences(isa, rng, act):
    # L(x, W, b) = sum(grad_y * linear(x, W, b, act)); gradients by central differences
    x, w, b, gy = linear_with_grad(rng, (3, 4, 5), np.float64, act, margin=1e-3)
    y, pre = forward(x, w, b, act)

    def loss(x_, w_, b_):
        return float(np.sum(gy * fastmlp.linear(x_, w_, b_, act)))

    h = 1e-6
    fd = []
    for which, arr in enumerate((x, w, b)):
        g = np.empty_like(arr)
        for idx in np.ndindex(arr.shape):
            args_p = [x.copy(), w.copy(), b.copy()]
            args_m = [x.copy(), w.copy(), b.copy()]
            args_p[which][idx] += h
            args_m[which][idx] -= h
            g[idx] = (loss(*args_p) - loss(*args_m)) / (2 * h)
        fd.append(g)
    got = fastmlp.linear_backward(gy, x, w, y, act, pre_activation=pre)
    for name, a, f in zip(("grad_x", "grad_weight", "grad_bias"), got, fd):
        np.testing.assert_allclose(a, f, rtol=1e-6, atol=1e-8, err_msg=f"{act}: {name}")
    if act not in NEEDS_PRE:
        got = fastmlp.linear_backward(gy, x, w, y, act)
        for name, a, f in zip(("grad_x", "grad_weight", "grad_bias"), got, fd):
            np.testing.assert_allclose(a, f, rtol=1e-6, atol=1e-8, err_msg=f"{act} from y: {name}")

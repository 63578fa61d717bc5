"""fastmlp.linear (fused GEMM + bias + activation) against float64 NumPy on every ISA path."""

import numpy as np
import pytest
from conftest import (
    ACTIVATIONS,
    BASIC_LAYOUTS,
    DTYPES,
    EDGE_SHAPE_NAMES,
    LAYOUTS,
    ZERO_SHAPES,
    all_blocks_shape,
    blocking,
    check_act,
    check_linear,
    edge_shapes,
    make,
)

import fastmlp


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape_name", EDGE_SHAPE_NAMES)
def test_block_edges(isa, gemm_path, rng, dtype, shape_name, act):
    m, k, n = edge_shapes(dtype)[shape_name]
    x, w, b = make(rng, (m, k), dtype), make(rng, (n, k), dtype), make(rng, (n,), dtype)
    check_linear(fastmlp.linear(x, w, b, act), x, w, b, act, dtype)


@pytest.mark.parametrize("act", ("identity", "relu", "gelu", "softmax"))
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_block_edge_at_once(isa, rng, dtype, act):
    m, k, n = all_blocks_shape(dtype)
    x, w, b = make(rng, (m, k), dtype), make(rng, (n, k), dtype), make(rng, (n,), dtype)
    pre = np.empty((m, n), dtype)
    y = fastmlp.linear(x, w, b, act, pre_activation_out=pre)
    check_linear(y, x, w, b, act, dtype, pre=pre)


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape_name", ("mn=tile+1", "n=nc+1"))
def test_without_bias(isa, rng, dtype, shape_name, act):
    m, k, n = edge_shapes(dtype)[shape_name]
    x, w = make(rng, (m, k), dtype), make(rng, (n, k), dtype)
    check_linear(fastmlp.linear(x, w, None, act), x, w, None, act, dtype)
    check_linear(fastmlp.linear(x, w, activation=act), x, w, None, act, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout_b", ("C", "negative", "broadcast_rows"))
@pytest.mark.parametrize("layout_w", LAYOUTS)
@pytest.mark.parametrize("layout_x", LAYOUTS)
def test_layouts(isa, gemm_path, rng, dtype, layout_x, layout_w, layout_b):
    m, k, n = edge_shapes(dtype)["primes2"]
    x, w = make(rng, (m, k), dtype, layout_x), make(rng, (n, k), dtype, layout_w)
    b = make(rng, (n,), dtype, layout_b)
    check_linear(fastmlp.linear(x, w, b, "tanh"), x, w, b, "tanh", dtype)


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", BASIC_LAYOUTS)
def test_layouts_every_activation(isa, rng, dtype, layout, act):
    m, k, n = edge_shapes(dtype)["k=kc+1"]
    x, w = make(rng, (m, k), dtype, layout), make(rng, (n, k), dtype, layout)
    b = make(rng, (n,), dtype, layout)
    check_linear(fastmlp.linear(x, w, b, act), x, w, b, act, dtype)


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape_name", ("primes", "mn=tile-1", "k=2kc+1"))
def test_out_and_pre_activation_out(isa, rng, dtype, shape_name, act):
    m, k, n = edge_shapes(dtype)[shape_name]
    x, w, b = make(rng, (m, k), dtype), make(rng, (n, k), dtype), make(rng, (n,), dtype)
    out = np.full((m, n), np.nan, dtype)
    pre = np.full((m, n), np.nan, dtype)
    y = fastmlp.linear(x, w, b, act, out=out, pre_activation_out=pre)
    assert np.shares_memory(y, out)
    check_linear(out, x, w, b, act, dtype, pre=pre)
    # pre_activation_out is what identity gives, and act(pre) is y
    check_linear(pre, x, w, b, "identity", dtype)
    check_act(out, pre, act, dtype)


def few_rows_many_outputs(dtype):
    """(m, k, n) of a forward pass that AVX2's small path runs as y^T = W x^T
    (gemm_small.cpp's transposing_pays): rows that fill two column panels of y^T but
    leave a partial row panel of y, against 8 column panels of y and a partial one, k
    deep enough that packing W^T costs more than packing x^T, and W small enough for
    the small path (small_kn)."""
    b = blocking(dtype)
    n = 8 * b["small_nr"] + 5
    return 2 * b["small_nr"], min(257, b["small_kn"] // n), n


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_few_rows_many_outputs(isa, rng, dtype, act, restore_threads):
    m, k, n = few_rows_many_outputs(dtype)
    x, w, b = make(rng, (m, k), dtype), make(rng, (n, k), dtype), make(rng, (n,), dtype)
    results = []
    for threads in (1, 2):
        fastmlp.set_num_threads(threads)
        out = np.full((m, n), np.nan, dtype)
        pre = np.full((m, n), np.nan, dtype)
        fastmlp.linear(x, w, b, act, out=out, pre_activation_out=pre)
        check_linear(out, x, w, b, act, dtype, pre=pre)
        check_linear(pre, x, w, b, "identity", dtype)
        results.append(out.copy())
    np.testing.assert_array_equal(results[0], results[1])  # bit for bit, any thread count


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_pre_activation_out_does_not_change_y(isa, rng, dtype, act):
    m, k, n = edge_shapes(dtype)["mn=tile+1"]
    x, w, b = make(rng, (m, k), dtype), make(rng, (n, k), dtype), make(rng, (n,), dtype)
    y0 = fastmlp.linear(x, w, b, act)
    y1 = fastmlp.linear(x, w, b, act, pre_activation_out=np.empty((m, n), dtype))
    np.testing.assert_allclose(y1, y0, rtol=4 * np.finfo(dtype).eps, atol=np.finfo(dtype).tiny)


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ZERO_SHAPES)
def test_zero_size(isa, rng, dtype, shape, act):
    m, k, n = shape
    x, w, b = make(rng, (m, k), dtype), make(rng, (n, k), dtype), make(rng, (n,), dtype)
    pre = np.full((m, n), np.nan, dtype)
    y = fastmlp.linear(x, w, b, act, pre_activation_out=pre)
    assert y.shape == (m, n) and y.dtype == dtype and y.flags.c_contiguous
    # k == 0: x @ w.T is all zeros, so pre-activation = bias and y = act(bias)
    expect_z = np.broadcast_to(b.astype(np.float64), (m, n))
    np.testing.assert_array_equal(pre, expect_z)
    check_act(y, b[None, :].repeat(m, axis=0), act, dtype)
    y_nb = fastmlp.linear(x, w, None, act)
    check_act(y_nb, np.zeros((m, n), dtype), act, dtype, what=f"{act} without bias")


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_k_relu_and_step_of_bias(isa, dtype):
    b = np.array([-2.0, -0.0, 0.0, 3.0], dtype)
    x, w = np.empty((3, 0), dtype), np.empty((4, 0), dtype)
    np.testing.assert_array_equal(fastmlp.linear(x, w, b, "relu"), np.tile([0, 0, 0, 3.0], (3, 1)))
    np.testing.assert_array_equal(fastmlp.linear(x, w, b, "step"), np.tile([0, 1, 1, 1.0], (3, 1)))
    np.testing.assert_array_equal(
        fastmlp.linear(x, w, b, "leaky_relu", negative_slope=0.5), np.tile([-1, 0, 0, 3.0], (3, 1))
    )


@pytest.mark.parametrize("slope", (0.0, 0.2, 1.0, 3.0, -0.5))
@pytest.mark.parametrize("dtype", DTYPES)
def test_leaky_relu_slopes(isa, rng, dtype, slope):
    m, k, n = edge_shapes(dtype)["mn=tile+1"]
    x, w, b = make(rng, (m, k), dtype), make(rng, (n, k), dtype), make(rng, (n,), dtype)
    y = fastmlp.linear(x, w, b, "leaky_relu", negative_slope=slope)
    check_linear(y, x, w, b, "leaky_relu", dtype, slope=slope)


@pytest.mark.parametrize("dtype", DTYPES)
def test_step_is_one_at_zero(isa, dtype):
    x = np.zeros((5, 3), dtype)  # z = bias exactly
    w = np.ones((4, 3), dtype)
    b = np.array([-1.0, 0.0, -0.0, 1e-30], dtype)
    np.testing.assert_array_equal(fastmlp.linear(x, w, b, "step"), np.tile([0, 1, 1, 1.0], (5, 1)))


@pytest.mark.parametrize("act", ("relu", "leaky_relu", "identity", "sigmoid", "tanh", "gelu"))
@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_propagates(isa, rng, dtype, act):
    # NaN in a row of x makes that row of x @ w.T NaN; every elementwise activation keeps
    # it NaN, relu included (as torch.relu), whether it runs in the micro-kernel or not.
    m, k, n = edge_shapes(dtype)["tiles=2x2"]
    x, w, b = make(rng, (m, k), dtype), make(rng, (n, k), dtype), make(rng, (n,), dtype)
    x[1, 2] = np.nan
    x[m - 1, 0] = np.nan  # a row of an edge or a full tile
    for pre in (None, np.empty((m, n), dtype)):
        y = fastmlp.linear(x, w, b, act, pre_activation_out=pre)
        assert np.isnan(y[[1, m - 1]]).all(), act
        rest = np.delete(np.arange(m), [1, m - 1])
        assert not np.isnan(y[rest]).any()


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_rows_sum_to_one_for_large_logits(isa, rng, dtype):
    m, k, n = 9, 5, 37
    x = make(rng, (m, k), dtype) * 1000  # logits of order 1e3-1e4: exp would overflow
    w, b = make(rng, (n, k), dtype), make(rng, (n,), dtype) * 1000
    y = fastmlp.linear(x, w, b, "softmax")
    assert np.isfinite(y).all() and (y >= 0).all()
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=0, atol=n * np.finfo(dtype).eps)
    check_linear(y, x, w, b, "softmax", dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_of_huge_pre_activations(isa, rng, dtype):
    m, k, n = 6, 4, 9
    x = make(rng, (m, k), dtype)
    w = make(rng, (n, k), dtype)
    b = np.linspace(-1000, 1000, n).astype(dtype)
    y = fastmlp.linear(x, w, b, "sigmoid")
    assert np.isfinite(y).all()
    np.testing.assert_array_equal(y[:, 0], 0.0)
    np.testing.assert_array_equal(y[:, -1], 1.0)
    check_linear(y, x, w, b, "sigmoid", dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ((3, 4, 5), (7, 13, 9), (1, 1, 1), (5, 0, 33)))
def test_no_bias_means_zero_bias(isa, dtype, shape):
    # Integer-valued products are exact, so anything but x @ w.T exactly is a stray bias.
    m, k, n = shape
    x = np.arange(m * k, dtype=dtype).reshape(m, k) % 5 - 2
    w = np.arange(n * k, dtype=dtype).reshape(n, k) % 7 - 3
    expect = x.astype(np.int64) @ w.T.astype(np.int64)
    for _ in range(3):
        # recycle a small buffer holding a sentinel (NumPy caches small allocations),
        # so a read of unset memory in place of the bias shows
        poison = np.full(64, 1e30, dtype)
        del poison
        np.testing.assert_array_equal(fastmlp.linear(x, w), expect)
        np.testing.assert_array_equal(fastmlp.linear(x, w, None, "relu"), np.maximum(expect, 0))


@pytest.mark.parametrize("act", ("identity", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax"))
def test_matches_torch_forward(isa, rng, act):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    fns = {
        "identity": lambda z: z,
        "relu": F.relu,
        "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "gelu": F.gelu,
        "softmax": lambda z: torch.softmax(z, dim=-1),
    }
    for dtype in DTYPES:
        x, w, b = make(rng, (17, 23), dtype), make(rng, (19, 23), dtype), make(rng, (19,), dtype)
        y = fastmlp.linear(x, w, b, act)
        ref = fns[act](F.linear(*(torch.from_numpy(f.astype(np.float64)) for f in (x, w, b))))
        check_linear(y, x, w, b, act, dtype, ref=ref.numpy())

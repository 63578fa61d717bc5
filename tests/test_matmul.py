"""fastmlp.matmul against float64 NumPy on every ISA path."""

import numpy as np
import pytest
from conftest import (
    DTYPES,
    EDGE_SHAPE_NAMES,
    LAYOUTS,
    ZERO_SHAPES,
    all_blocks_shape,
    blocking,
    check_matmul,
    edge_shapes,
    make,
)

import fastmlp


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape_name", EDGE_SHAPE_NAMES)
def test_block_edges(isa, gemm_path, rng, dtype, shape_name):
    m, k, n = edge_shapes(dtype)[shape_name]
    a, b = make(rng, (m, k), dtype), make(rng, (k, n), dtype)
    check_matmul(fastmlp.matmul(a, b), a, b, dtype)


def unaligned(shape, dtype):
    """A zero array of shape and dtype at an address that is not a multiple of its item size."""
    item = np.dtype(dtype).itemsize
    raw = np.zeros(int(np.prod(shape)) * item + 1, dtype=np.uint8)
    out = raw[1:].view(dtype).reshape(shape)
    assert not out.flags.aligned
    return out


@pytest.mark.parametrize("dtype", DTYPES)
def test_unaligned_out_is_refused(rng, dtype):
    a, b = make(rng, (5, 7), dtype), make(rng, (7, 3), dtype)
    out = unaligned((5, 3), dtype)
    with pytest.raises(ValueError, match="out is not aligned"):
        fastmlp.matmul(a, b, out=out)
    assert not out.any()  # nothing written


@pytest.mark.parametrize("dtype", DTYPES)
def test_unaligned_weight_is_read_but_not_trained(rng, dtype):
    x, w = make(rng, (6, 5), dtype), unaligned((4, 5), dtype)
    w[...] = make(rng, (4, 5), dtype)
    expected = x.astype(np.float64) @ w.astype(np.float64).T
    np.testing.assert_allclose(fastmlp.linear(x, w), expected, rtol=1e-5, atol=1e-6)
    before = w.copy()
    with pytest.raises(ValueError, match="param is not aligned"):  # an update would be lost
        fastmlp.optim.SGD(lr=0.1).step([w], [np.ones_like(w)])
    np.testing.assert_array_equal(w, before)


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_block_edge_at_once(isa, rng, dtype):
    m, k, n = all_blocks_shape(dtype)
    a, b = make(rng, (m, k), dtype), make(rng, (k, n), dtype)
    check_matmul(fastmlp.matmul(a, b), a, b, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", (1, 2, 3, 5))
def test_few_columns_from_a_column_major_a(isa, gemm_path, rng, dtype, n):
    """C of a few columns against many rows, from a column-major A and a row-major B (a
    layer's grad_W = grad_pre^T x from a few inputs): the small path computes C^T = B^T A^T
    (gemm_small.cpp's transposing_pays) and stores its tiles transposed."""
    m, k = 3 * blocking(dtype)["small_mr"] + 1, 67
    a, b = make(rng, (m, k), dtype, "F"), make(rng, (k, n), dtype)
    check_matmul(fastmlp.matmul(a, b), a, b, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout_b", LAYOUTS)
@pytest.mark.parametrize("layout_a", LAYOUTS)
@pytest.mark.parametrize("shape_name", ("primes", "mn=tile+1", "k=kc+1"))
def test_layouts(isa, gemm_path, rng, dtype, layout_a, layout_b, shape_name):
    m, k, n = edge_shapes(dtype)[shape_name]
    a, b = make(rng, (m, k), dtype, layout_a), make(rng, (k, n), dtype, layout_b)
    a_before, b_before = a.copy(), b.copy()
    check_matmul(fastmlp.matmul(a, b), a, b, dtype)
    np.testing.assert_array_equal(a, a_before)  # inputs untouched
    np.testing.assert_array_equal(b, b_before)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ZERO_SHAPES)
def test_zero_size(isa, rng, dtype, shape):
    m, k, n = shape
    a, b = make(rng, (m, k), dtype), make(rng, (k, n), dtype)
    c = fastmlp.matmul(a, b)
    assert c.shape == (m, n) and c.dtype == dtype and c.flags.c_contiguous
    np.testing.assert_array_equal(c, np.zeros((m, n)))  # k == 0: a sum of nothing


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape_name", ("primes", "mn=tile-1", "k=2kc+1"))
def test_out(isa, rng, dtype, shape_name):
    m, k, n = edge_shapes(dtype)[shape_name]
    a, b = make(rng, (m, k), dtype), make(rng, (k, n), dtype)
    out = np.full((m, n), np.nan, dtype=dtype)  # garbage must be overwritten, not accumulated
    c = fastmlp.matmul(a, b, out=out)
    assert np.shares_memory(c, out)
    check_matmul(out, a, b, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_out_zero_k_is_zeroed(isa, dtype):
    out = np.full((3, 4), 7.0, dtype=dtype)
    fastmlp.matmul(np.empty((3, 0), dtype), np.empty((0, 4), dtype), out=out)
    np.testing.assert_array_equal(out, 0.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_out_next_to_input_in_one_buffer(isa, rng, dtype):
    # out and a share a base array but not memory: allowed.
    m, k, n = 5, 7, 7
    buf = make(rng, (2 * m, k), dtype)
    a, out = buf[m:], buf[:m]
    b = make(rng, (k, n), dtype)
    a_copy = a.copy()
    fastmlp.matmul(a, b, out=out)
    check_matmul(out, a_copy, b, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_unaligned_input(isa, rng, dtype):
    m, k, n = 13, 29, 17
    item = np.dtype(dtype).itemsize
    raw = np.zeros(m * k * item + 1, dtype=np.uint8)
    a = raw[1:].view(dtype).reshape(m, k)
    assert not a.flags.aligned
    a[...] = make(rng, (m, k), dtype)
    b = make(rng, (k, n), dtype)
    check_matmul(fastmlp.matmul(a, b), a, b, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_exact_small_integers(isa, rng, dtype):
    # Sums of products of small integers are exact in any order: results must be equal.
    m, k, n = 37, 300, 41
    a = rng.integers(-8, 9, size=(m, k)).astype(dtype)
    b = rng.integers(-8, 9, size=(k, n)).astype(dtype)
    np.testing.assert_array_equal(fastmlp.matmul(a, b), a.astype(np.int64) @ b.astype(np.int64))


@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_and_inf_propagate_like_numpy(isa, rng, dtype):
    m, k, n = 19, 23, 29
    a = make(rng, (m, k), dtype, low=0.5, high=1.0)
    b = make(rng, (k, n), dtype, low=0.5, high=1.0)
    a[3, 5] = np.nan
    b[7, 11] = np.nan
    a[10, 0] = np.inf
    with np.errstate(invalid="ignore"):
        ref = a.astype(np.float64) @ b.astype(np.float64)
    c = fastmlp.matmul(a, b)
    np.testing.assert_array_equal(np.isnan(c), np.isnan(ref))
    np.testing.assert_array_equal(np.isposinf(c), np.isposinf(ref))
    assert np.isnan(c[3]).all() and np.isnan(c[:, 11]).all() and np.isposinf(c[10, :11]).all()
    finite = np.isfinite(ref)
    np.testing.assert_allclose(c[finite], ref[finite], rtol=1e-5)

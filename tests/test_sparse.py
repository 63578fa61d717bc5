"""The first layer on CSR input (fastmlp.sparse_linear, sparse_linear_backward and the
MLP engine on scipy.sparse X): against float64 NumPy on the densified matrix and
against fastmlp's dense path, on every ISA; the same bits for 1 and 2 threads; empty
rows and matrices, unsorted and repeated indices, int32 and int64 indices; bad input
raises errors that name the argument and the shapes."""

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import DTYPES, check_linear, check_linear_backward, f64

import fastmlp

ACTS = ("identity", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax")


def random_csr(rng, shape, density, dtype, index_dtype=np.int32, empty_rows=()):
    x = sp.random(
        *shape,
        density=density,
        format="csr",
        dtype=dtype,
        random_state=int(rng.integers(2**31)),
        data_rvs=lambda n: rng.uniform(-1, 1, n),
    )
    x = x.tolil()
    for i in empty_rows:
        x.rows[i], x.data[i] = [], []
    x = x.tocsr()
    x.indices = x.indices.astype(index_dtype)
    x.indptr = x.indptr.astype(index_dtype)
    return x


def layer(rng, n, k, dtype):
    return (rng.uniform(-1, 1, (n, k)).astype(dtype), rng.uniform(-1, 1, n).astype(dtype))


def forward_and_backward(x, w, b, act, gy):
    pre = np.empty((x.shape[0], w.shape[0]), w.dtype)
    y = fastmlp.sparse_linear(x, w, b, act, pre_activation_out=pre)
    gw, gb = fastmlp.sparse_linear_backward(gy, x, y, act, pre_activation=pre)
    return y, pre, gw, gb


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", (np.int32, np.int64))
@pytest.mark.parametrize("act", ACTS)
def test_forward_and_backward_match_float64(isa, rng, dtype, index_dtype, act):
    x = random_csr(rng, (37, 300), 0.05, dtype, index_dtype, empty_rows=(0, 5, 36))
    w, b = layer(rng, 21, 300, dtype)
    gy = rng.uniform(-1, 1, (37, 21)).astype(dtype)
    y, pre, gw, gb = forward_and_backward(x, w, b, act, gy)
    dense = x.toarray()
    check_linear(y, dense, w, b, act, dtype, pre=pre)
    gx = fastmlp.linear_backward(gy, dense, w, y, act, pre_activation=pre)[0]
    check_linear_backward((gx, gw, gb), gy, dense, w, pre, act, dtype, what="sparse")


@pytest.mark.parametrize("dtype", DTYPES)
def test_matches_the_dense_path(isa, rng, dtype):
    x = random_csr(rng, (64, 500), 0.02, dtype)
    w, b = layer(rng, 40, 500, dtype)
    gy = rng.uniform(-1, 1, (64, 40)).astype(dtype)
    y, pre, gw, gb = forward_and_backward(x, w, b, "tanh", gy)
    dense = x.toarray()
    pre_d = np.empty_like(pre)
    y_d = fastmlp.linear(dense, w, b, "tanh", pre_activation_out=pre_d)
    _, gw_d, gb_d = fastmlp.linear_backward(gy, dense, w, y_d, "tanh", pre_activation=pre_d)
    tol = dict(rtol=50 * np.finfo(dtype).eps, atol=50 * np.finfo(dtype).eps)
    np.testing.assert_allclose(y, y_d, **tol)
    np.testing.assert_allclose(gw, gw_d, **tol)
    np.testing.assert_allclose(gb, gb_d, **tol)


def test_without_bias_csc_and_strided_weight(rng):
    x = random_csr(rng, (20, 50), 0.1, np.float64)
    w = rng.uniform(-1, 1, (50, 12)).T  # F-ordered (12, 50)
    ref = x.toarray() @ w.T
    np.testing.assert_allclose(fastmlp.sparse_linear(x.tocsc(), w), ref, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(fastmlp.sparse_linear(sp.csr_array(x), w), ref, rtol=1e-13, atol=1e-13)


def test_unsorted_and_repeated_indices_add_up_as_scipy(rng):
    # row 0: columns 4, 1, 4 (unsorted, 4 twice); row 1 empty; row 2: 0, 3, 0
    data = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    indices = np.array([4, 1, 4, 0, 3, 0], np.int32)
    indptr = np.array([0, 3, 3, 6], np.int32)
    x = sp.csr_matrix((data, indices, indptr), shape=(3, 5))
    assert not x.has_canonical_format
    w, b = layer(rng, 7, 5, np.float64)
    gy = rng.uniform(-1, 1, (3, 7))
    y, pre, gw, gb = forward_and_backward(x, w, b, "identity", gy)
    dense = x.toarray()  # scipy sums the repeats
    np.testing.assert_allclose(y, dense @ w.T + b, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(gw, gy.T @ dense, rtol=1e-14, atol=1e-14)


def test_few_entries_in_many_columns(rng):
    # Few entries for the columns (predicting a few rows) take the comparison sort, many
    # the counting sort; both order each row's sum the same way: the same bits.
    x = random_csr(rng, (400, 4000), 0.01, np.float32)
    head = x[:2]
    assert head.nnz * 16 < 4000 < x.nnz * 16
    w, b = layer(rng, 9, 4000, np.float32)
    np.testing.assert_array_equal(fastmlp.sparse_linear(head, w, b), fastmlp.sparse_linear(x, w, b)[:2])
    # unsorted and repeated, wide
    data, indices, indptr = np.array([1.0, 2.0, 3.0, 4.0]), np.array([900, 3, 900, 7]), np.array([0, 3, 4])
    x = sp.csr_matrix((data, indices, indptr), shape=(2, 1000))
    w, b = layer(rng, 5, 1000, np.float64)
    gy = rng.uniform(-1, 1, (2, 5))
    y, pre, gw, gb = forward_and_backward(x, w, b, "identity", gy)
    np.testing.assert_allclose(y, x.toarray() @ w.T + b, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(gw, gy.T @ x.toarray(), rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("shape", [(0, 10), (5, 10), (0, 0), (4, 0)])
def test_empty(rng, shape):
    x = sp.csr_matrix(shape, dtype=np.float32)  # no stored entry
    w, b = layer(rng, 3, shape[1], np.float32)
    gy = np.ones((shape[0], 3), np.float32)
    y, pre, gw, gb = forward_and_backward(x, w, b, "sigmoid", gy)
    np.testing.assert_allclose(y, np.broadcast_to(1 / (1 + np.exp(-f64(b))), (shape[0], 3)), rtol=1e-6)
    np.testing.assert_array_equal(gw, np.zeros((3, shape[1])))
    assert gb.shape == (3,)


def test_one_to_two_threads_same_bits(rng, restore_threads):
    # Big enough that both kernels start 2 threads.
    x = random_csr(rng, (400, 3000), 0.01, np.float32)
    w, b = layer(rng, 96, 3000, np.float32)
    gy = rng.uniform(-1, 1, (400, 96)).astype(np.float32)
    results = []
    for threads in (1, 2):
        fastmlp.set_num_threads(threads)
        results.append(forward_and_backward(x, w, b, "relu", gy))
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


def test_mlp_training_same_bits_for_1_and_2_threads(rng, restore_threads):
    x = random_csr(rng, (700, 2000), 0.01, np.float32)
    y = rng.integers(0, 4, 700)
    weights = []
    for threads in (1, 2):
        fastmlp.set_num_threads(threads)
        m = fastmlp.MLP([2000, 64, 4], seed=3)
        m.fit(x, y, "cross_entropy", epochs=2, batch_size=350, verbose=False)  # per-op threads
        m.fit(x, y, "cross_entropy", epochs=1, batch_size=10, verbose=False)  # halved steps
        weights.append([p.copy() for p in m.parameters()])
    for one, two in zip(*weights):
        np.testing.assert_array_equal(one, two)


# ---- the MLP engine on sparse X ------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", (np.int32, np.int64))
def test_mlp_on_sparse_equals_dense(isa, rng, dtype, index_dtype):
    x = random_csr(rng, (90, 120), 0.05, dtype, index_dtype, empty_rows=(3,))
    y = rng.integers(0, 3, 90)
    dense = x.toarray()
    a = fastmlp.MLP([120, 32, 16, 3], activation="tanh", dtype=dtype, seed=1)
    b = fastmlp.MLP([120, 32, 16, 3], activation="tanh", dtype=dtype, seed=1)
    tol = dict(rtol=1e3 * np.finfo(dtype).eps, atol=1e3 * np.finfo(dtype).eps)
    np.testing.assert_allclose(a.predict(x), b.predict(dense), **tol)
    np.testing.assert_allclose(
        a.evaluate(x, y, "cross_entropy"), b.evaluate(dense, y, "cross_entropy"), **tol
    )
    (la, ga), (lb, gb) = a.loss_and_grads(x, y, "cross_entropy"), b.loss_and_grads(dense, y, "cross_entropy")
    np.testing.assert_allclose(la, lb, **tol)
    for (wa, ba), (wb, bb) in zip(ga, gb):
        np.testing.assert_allclose(wa, wb, **tol)
        np.testing.assert_allclose(ba, bb, **tol)
    np.testing.assert_allclose(
        a.train_step(x, y, "cross_entropy"), b.train_step(dense, y, "cross_entropy"), **tol
    )
    for shuffle in (True, False):
        ha = a.fit(
            x,
            y,
            "cross_entropy",
            epochs=3,
            batch_size=16,
            shuffle=shuffle,
            verbose=False,
            validation_data=(x, y),
        )
        hb = b.fit(
            dense,
            y,
            "cross_entropy",
            epochs=3,
            batch_size=16,
            shuffle=shuffle,
            verbose=False,
            validation_data=(dense, y),
        )
        np.testing.assert_allclose(ha["loss"], hb["loss"], **tol)
        np.testing.assert_allclose(ha["val_loss"], hb["val_loss"], **tol)
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(pa, pb, **tol)


def test_mlp_with_sample_weight_dropout_and_csc(rng):
    x = random_csr(rng, (60, 40), 0.1, np.float64)
    y = rng.uniform(-1, 1, (60, 2))
    w = rng.uniform(0, 2, 60)
    a = fastmlp.MLP([40, 8, 2], dropout=0.2, dtype="float64", seed=5)
    b = fastmlp.MLP([40, 8, 2], dropout=0.2, dtype="float64", seed=5)
    ha = a.fit(x.tocsc(), y, epochs=2, batch_size=7, sample_weight=w, verbose=False)
    hb = b.fit(x.toarray(), y, epochs=2, batch_size=7, sample_weight=w, verbose=False)
    np.testing.assert_allclose(ha["loss"], hb["loss"], rtol=1e-12)


def test_mlp_sparse_input_errors(rng):
    m = fastmlp.MLP([10, 4, 2], seed=0)
    with pytest.raises(ValueError, match=r"X has shape \(5, 9\) but the model takes 10 features"):
        m.predict(sp.random(5, 9, density=0.5, format="csr"))
    with pytest.raises(ValueError, match="X is empty"):
        m.fit(sp.csr_matrix((0, 10)), np.zeros((0, 2)), verbose=False)
    bad = sp.csr_matrix(np.eye(3, 10))
    bad.data[1] = np.nan
    with pytest.raises(ValueError, match="X contains NaN or inf"):
        m.fit(bad, np.zeros((3, 2)), verbose=False)


# ---- the checked CsrMatrix ---------------------------------------------------------


def csr(data, indices, indptr, shape):
    return fastmlp._core.CsrMatrix(
        np.asarray(data, np.float64), np.asarray(indices, np.int64), np.asarray(indptr, np.int64), shape
    )


def test_out_of_range_and_bad_offsets_raise_value_error():
    with pytest.raises(ValueError, match=r"indices\[1\] = 5 is out of range for 5 columns"):
        csr([1, 2], [0, 5], [0, 2], (1, 5))
    with pytest.raises(ValueError, match=r"indices\[0\] = -1 is out of range"):
        csr([1], [-1], [0, 1], (1, 5))
    with pytest.raises(ValueError, match="indptr must be non-decreasing"):
        csr([1, 2], [0, 1], [0, 2, 1], (2, 5))
    with pytest.raises(ValueError, match=r"indptr\[0\] must be 0"):
        csr([1, 2], [0, 1], [1, 2], (1, 5))
    with pytest.raises(ValueError, match=r"indptr\[-1\] = 3 stored entries, but data and indices have 2"):
        csr([1, 2], [0, 1], [0, 3], (1, 5))
    with pytest.raises(ValueError, match=r"indptr of shape \(2,\) does not fit shape \(2, 5\)"):
        csr([1, 2], [0, 1], [0, 2], (2, 5))
    with pytest.raises(ValueError, match=r"indices of shape \(1,\) does not fit data of shape \(2,\)"):
        csr([1, 2], [0], [0, 1], (1, 5))
    with pytest.raises(TypeError, match="int32 or int64"):
        fastmlp._core.CsrMatrix(np.ones(1), np.zeros(1, np.uint8), np.array([0, 1]), (1, 2))
    with pytest.raises(TypeError, match="must have one dtype"):
        fastmlp._core.CsrMatrix(np.ones(1), np.zeros(1, np.int32), np.array([0, 1], np.int64), (1, 2))
    # the same checks on a scipy matrix whose arrays were tampered with
    x = sp.csr_matrix(np.eye(2, 3))
    x.indices[0] = 7
    with pytest.raises(ValueError, match=r"x of shape \(2, 3\): indices\[0\] = 7 is out of range"):
        fastmlp.sparse_linear(x, np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"indices\[0\] = 7 is out of range"):
        fastmlp.MLP([3, 1], dtype="float64", seed=0).predict(x)


def test_wrong_shapes_and_dtypes_name_them(rng):
    x = random_csr(rng, (4, 6), 0.5, np.float32)
    w, b = layer(rng, 3, 6, np.float32)
    with pytest.raises(ValueError, match=r"x of shape \(4, 6\) does not fit weight of shape \(3, 5\)"):
        fastmlp.sparse_linear(x, w[:, :5])
    with pytest.raises(ValueError, match=r"bias of shape \(2,\) does not fit weight of shape \(3, 6\)"):
        fastmlp.sparse_linear(x, w, b[:2])
    with pytest.raises(TypeError, match="weight is float64 but x is float32"):
        fastmlp.sparse_linear(x, w.astype(np.float64))
    y = fastmlp.sparse_linear(x, w, b)
    with pytest.raises(
        ValueError,
        match=r"grad_y of shape \(4, 2\), expected \(4, 3\)|y of shape \(4, 3\), expected \(4, 2\)",
    ):
        fastmlp.sparse_linear_backward(y[:, :2], x, y)
    with pytest.raises(ValueError, match=r"grad_y of shape \(3, 3\), expected \(4, 3\)"):
        fastmlp.sparse_linear_backward(y[:3], x, y)
    with pytest.raises(ValueError, match="needs pre_activation"):
        fastmlp.sparse_linear_backward(y, x, y, "gelu")
    with pytest.raises(ValueError, match="must be 2-D"):
        fastmlp.sparse_linear(sp.coo_array(np.ones(6)), w)

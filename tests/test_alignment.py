"""What the engine updates in place starts on a cache line: the parameters of every MLP
and the optimizer state (NumPy's own allocations start on any 16-byte boundary, and
a vector access 16 bytes off a line straddles two; fastmlp/_aligned.py)."""

import pickle

import numpy as np
import pytest

import fastmlp
from fastmlp._aligned import aligned_empty, aligned_zeros, is_aligned
from fastmlp.sklearn import MLPRegressor


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "uint8"])
@pytest.mark.parametrize("shape", [0, 1, 3, 17, (5, 3), (256, 256), (2, 3, 4), ()])
def test_aligned_arrays_start_on_a_cache_line_with_the_shape_asked_for(shape, dtype):
    for _ in range(8):  # NumPy's start varies between allocations
        a = aligned_empty(shape, dtype)
        assert a.size == 0 or is_aligned(a)  # an empty array has no data to align
        assert a.flags.c_contiguous and a.flags.writeable
        assert a.shape == ((shape,) if isinstance(shape, int) else shape) and a.dtype == dtype
        z = aligned_zeros(shape, dtype)
        assert (z.size == 0 or is_aligned(z)) and not z.any()
    a[...] = 7  # writes stay inside the array
    assert (a == 7).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop", "adamw"])
def test_parameters_and_optimizer_state_start_on_cache_lines(dtype, optimizer):
    for seed in range(4):
        model = fastmlp.MLP([3, 33, 256, 5], dtype=dtype, seed=seed)
        opt = fastmlp.optim.get(optimizer)
        if optimizer == "sgd":
            opt = fastmlp.optim.SGD(lr=0.01, momentum=0.9)  # with a state to keep
        x = np.random.default_rng(seed).standard_normal((40, 3)).astype(dtype)
        model.fit(x, x[:, :1].repeat(5, axis=1), optimizer=opt, epochs=1, batch_size=16, verbose=False)
        assert all(is_aligned(p) for p in model.parameters())
        assert opt.state and all(is_aligned(a) for arrays in opt.state for a in arrays)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_an_estimators_model_starts_on_cache_lines():
    X = np.random.default_rng(0).standard_normal((60, 4))
    est = MLPRegressor(hidden_layer_sizes=(50, 20), max_iter=3).fit(X, X[:, 0])
    assert all(is_aligned(c) for c in est.coefs_ + est.intercepts_)


def _step_data(dtype="float32"):
    rng = np.random.default_rng(3)
    return rng.standard_normal((24, 3)).astype(dtype), rng.standard_normal((24, 5)).astype(dtype)


def test_an_unpickled_optimizer_keeps_its_state_on_cache_lines_and_its_trajectory():
    x, y = _step_data()
    model = fastmlp.MLP([3, 40, 5], seed=0)
    opt = fastmlp.optim.Adam(lr=0.01)
    model.fit(x, y, optimizer=opt, epochs=2, batch_size=8, shuffle=False, verbose=False)
    twin_model, twin_opt = pickle.loads(pickle.dumps((model, opt)))  # one pickle: shared arrays
    for arrays, twin_arrays in zip(opt.state, twin_opt.state):
        for a, b in zip(arrays, twin_arrays):
            assert is_aligned(b) and np.array_equal(a, b)
    for m, o in ((model, opt), (twin_model, twin_opt)):
        m.fit(x, y, optimizer=o, epochs=2, batch_size=8, shuffle=False, verbose=False)
    for p, q in zip(model.parameters(), twin_model.parameters()):
        np.testing.assert_array_equal(p, q)


def test_a_model_unpickled_from_read_only_buffers_trains_on_with_its_named_optimizer():
    """Out-of-band pickle buffers (as Dask sends them) are read-only: the model trains on
    aligned copies, and the optimizer train_step created by name follows them."""
    x, y = _step_data()
    model = fastmlp.MLP([3, 40, 5], seed=0)
    model.train_step(x, y, optimizer="adam")
    buffers = []
    data = pickle.dumps(model, protocol=5, buffer_callback=buffers.append)
    twin = pickle.loads(data, buffers=[memoryview(b.raw()).toreadonly() for b in buffers])
    assert all(is_aligned(p) and p.flags.writeable for p in twin.parameters())
    assert model.train_step(x, y, optimizer="adam") == twin.train_step(x, y, optimizer="adam")
    for p, q in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(p, q)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_an_unpickled_estimator_continues_partial_fit_on_cache_lines():
    X = np.random.default_rng(0).standard_normal((60, 4))
    est = MLPRegressor(hidden_layer_sizes=(50,), random_state=0).partial_fit(X, X[:, 0])
    twin = pickle.loads(pickle.dumps(est))
    est.partial_fit(X, X[:, 0])
    twin.partial_fit(X, X[:, 0])
    assert all(is_aligned(a) for arrays in twin._optimizer.state for a in arrays)
    for a, b in zip(est.coefs_ + est.intercepts_, twin.coefs_ + twin.intercepts_):
        np.testing.assert_array_equal(a, b)

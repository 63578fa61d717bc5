"""Kernels keep working in child processes, whatever the start method: libgomp's thread
pool does not survive fork(), so a forked child runs fastmlp on one thread (a
pthread_atfork handler). Each wait has a timeout, so a regression fails instead of
hanging the suite."""

import multiprocessing

import joblib  # comes with scikit-learn (a test dependency)
import numpy as np
import pytest

import fastmlp

TIMEOUT = 30  # seconds; a working child needs well under one
CONTEXTS = ("fork", "forkserver", "spawn")


def _matmul_sum(n):
    a = np.ones((n, n))
    return float(fastmlp.matmul(a, a).sum()), fastmlp.get_num_threads()


@pytest.fixture
def two_threads(restore_threads):
    """The parent's OpenMP pool has a second thread (the state that fork breaks)."""
    fastmlp.set_num_threads(2)
    a = np.ones((512, 512))
    fastmlp.matmul(a, a)


@pytest.mark.parametrize("method", CONTEXTS)
def test_process_after_threaded_kernel(two_threads, method):
    ctx = multiprocessing.get_context(method)
    with ctx.Pool(1) as pool:
        total, threads = pool.apply_async(_matmul_sum, (512,)).get(timeout=TIMEOUT)
    assert total == 512.0**3
    if method == "fork":
        assert threads == 1  # the child's cap; the parent keeps its threads
    assert fastmlp.get_num_threads() == 2


def test_plain_process_fork(two_threads):
    a = np.ones((512, 512))
    p = multiprocessing.get_context("fork").Process(target=fastmlp.matmul, args=(a, a))
    p.start()
    p.join(TIMEOUT)
    if p.is_alive():
        p.kill()
        p.join()
        pytest.fail("the forked child hung in matmul")
    assert p.exitcode == 0


@pytest.fixture
def fitted():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 64)).astype(np.float32)
    y = X[:, :4] @ rng.standard_normal((4, 3)).astype(np.float32)
    model = fastmlp.MLP([64, 256, 256, 3], seed=0)
    model.fit(X, y, epochs=1, batch_size=512, verbose=False)
    return model, np.array_split(X, 4)


@pytest.mark.parametrize("method", CONTEXTS)
def test_pool_map_predict_after_fit(two_threads, fitted, method):
    model, chunks = fitted
    with multiprocessing.get_context(method).Pool(2) as pool:
        outs = pool.map_async(model.predict, chunks).get(timeout=TIMEOUT)
    for chunk, out in zip(chunks, outs):
        np.testing.assert_array_equal(out, model.predict(chunk))


@pytest.mark.parametrize("backend", ("loky", "multiprocessing"))
def test_joblib_predict_after_fit(two_threads, fitted, backend):
    model, chunks = fitted
    outs = joblib.Parallel(n_jobs=2, backend=backend, timeout=TIMEOUT)(
        joblib.delayed(model.predict)(c) for c in chunks
    )
    for chunk, out in zip(chunks, outs):
        np.testing.assert_array_equal(out, model.predict(chunk))

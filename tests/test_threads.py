"""Results do not depend on the number of OpenMP threads, and kernels called from many
Python threads at once (the GIL is released) give exactly the serial results."""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import DTYPES, check_matmul, make

import fastmlp

# Big enough that every kernel starts 2 threads, small enough to stay fast.
M, K, N = 300, 500, 700


def run_all(x, w, b, gy):
    """Every kernel once, with its results (arrays) in a flat list."""
    out = [fastmlp.matmul(x, w.T)]
    for act in ("relu", "gelu", "softmax", "step"):
        pre = np.empty((x.shape[0], w.shape[0]), x.dtype)
        y = fastmlp.linear(x, w, b, act, pre_activation_out=pre)
        out += [y, pre]
        if act != "step":
            out += list(fastmlp.linear_backward(gy, x, w, y, act, pre_activation=pre))
    out.append(fastmlp.activation("tanh", out[0]))
    out.append(fastmlp.activation_backward("sigmoid", gy, out[-1]))
    return out


def test_set_and_get_num_threads(restore_threads):
    fastmlp.set_num_threads(1)
    assert fastmlp.get_num_threads() == 1
    assert fastmlp.cpu_info()["num_threads"] == 1
    fastmlp.set_num_threads(2)
    assert fastmlp.get_num_threads() == 2
    assert fastmlp.cpu_info()["num_threads"] == 2


def test_small_training_steps_leave_the_thread_count_as_it_was(restore_threads):
    # Steps too small to share run capped at one thread; the cap must end with them,
    # also when the step raises.
    fastmlp.set_num_threads(2)
    model = fastmlp.MLP([3, 4, 1], seed=0)
    X, y = np.ones((8, 3)), np.ones((8, 1))
    model.fit(X, y, epochs=1)
    model.train_step(X, y, "mse", "sgd")
    with pytest.raises(ValueError, match="sample_weight"):
        model.train_step(X, y, "mse", "sgd", sample_weight=np.zeros(8))
    with pytest.raises(ValueError, match="sample_weight"):
        model.loss_and_grads(X, y, sample_weight=np.zeros(8))
    assert fastmlp.get_num_threads() == 2
    assert fastmlp.cpu_info()["num_threads"] == 2


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_and_two_threads_bit_identical(isa, rng, restore_threads, dtype):
    x, w = make(rng, (M, K), dtype), make(rng, (N, K), dtype)
    b, gy = make(rng, (N,), dtype), make(rng, (M, N), dtype)
    fastmlp.set_num_threads(1)
    one = run_all(x, w, b, gy)
    fastmlp.set_num_threads(2)
    two = run_all(x, w, b, gy)
    assert len(one) == len(two)
    for i, (r1, r2) in enumerate(zip(one, two)):
        np.testing.assert_array_equal(r1, r2, err_msg=f"result {i} differs with 2 threads")
    check_matmul(two[0], x, w.T, dtype)  # and they are right


@pytest.mark.parametrize("dtype", DTYPES)
def test_block_edges_bit_identical_across_threads(isa, rng, restore_threads, dtype):
    # Several M blocks and N blocks (thread grids split both) plus edge tiles.
    from conftest import blocking

    bl = blocking(dtype)
    m, k, n = bl["mc"] + bl["mr"] + 1, 37, bl["nc"] + bl["nr"] + 1
    a, b = make(rng, (m, k), dtype, "F"), make(rng, (k, n), dtype, "strided")
    fastmlp.set_num_threads(1)
    c1 = fastmlp.matmul(a, b)
    fastmlp.set_num_threads(2)
    c2 = fastmlp.matmul(a, b)
    np.testing.assert_array_equal(c1, c2)
    check_matmul(c2, a, b, dtype)


@pytest.mark.parametrize("threads", (2, 3, 4))
@pytest.mark.parametrize("a_block", ("private", "shared"))
@pytest.mark.parametrize("dtype", DTYPES)
def test_packed_a_private_or_shared_bit_identical(isa, rng, restore_threads, dtype, a_block, threads):
    # Each thread packs its own copy of A while the copies fit the L3 budget of one shared
    # block (a quarter of the L3), else the threads share one (gemm.cpp). A 2 MiB L3 puts
    # 32 rows of A, k = 300, below it and 600 rows above; 14 column panels let two
    # threads split the columns and four split both ways.
    from conftest import blocking

    from fastmlp import _core

    _core._set_caches("l2=256K,l3=2M")
    try:
        bl = blocking(dtype)
        m, k, n = (32 if a_block == "private" else 600), 300, 14 * bl["nr"] - 5
        two_copies = 2 * m * min(k, bl["kc"]) * np.dtype(dtype).itemsize
        assert (two_copies <= 512 * 1024) == (a_block == "private")
        a, b = make(rng, (m, k), dtype), make(rng, (k, n), dtype)  # row-major: packed, not dot
        fastmlp.set_num_threads(1)
        c1 = fastmlp.matmul(a, b)
        fastmlp.set_num_threads(threads)
        fastmlp.matmul(make(rng, (m, k), dtype), b)  # other values in every packing buffer
        c2 = fastmlp.matmul(a, b)
    finally:
        _core._set_caches("")
    np.testing.assert_array_equal(c1, c2)
    check_matmul(c2, a, b, dtype)


@pytest.mark.parametrize("threads", (2, 3))
@pytest.mark.parametrize("dtype", DTYPES)
def test_stolen_panels_bit_identical_while_a_core_is_busy(
    isa, rng, restore_threads, busy_core, dtype, threads
):
    # Few rows (the threads split N alone), three K blocks (each waits for the last) and
    # several B blocks a thread, computed a few times over while another process takes
    # one core.
    from conftest import blocking

    bl = blocking(dtype)
    m, k, n = 4 * bl["mr"] + 1, 2 * bl["kc"] + 1, 4 * bl["nc"] + bl["nr"] + 1
    a, b = make(rng, (m, k), dtype), make(rng, (k, n), dtype)
    fastmlp.set_num_threads(1)
    c1 = fastmlp.matmul(a, b)
    fastmlp.set_num_threads(threads)
    for _ in range(4):
        np.testing.assert_array_equal(fastmlp.matmul(a, b), c1)
    check_matmul(c1, a, b, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_concurrent_python_threads_get_serial_results(isa, rng, dtype):
    shapes = [(M, K, N), (37, 41, 43), (5, 3, 7), (130, 257, 129)]
    inputs = []
    for m, k, n in shapes:
        inputs.append(
            (
                make(rng, (m, k), dtype),
                make(rng, (n, k), dtype),
                make(rng, (n,), dtype),
                make(rng, (m, n), dtype),
            )
        )
    serial = [run_all(*args) for args in inputs]
    jobs = [i % len(inputs) for i in range(24)]  # each shape several times, interleaved
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: (i, run_all(*inputs[i])), jobs))
    for i, got in results:
        for j, (r, s) in enumerate(zip(got, serial[i])):
            np.testing.assert_array_equal(r, s, err_msg=f"shape {shapes[i]} result {j}")


def test_concurrent_threads_with_different_dtypes(isa, rng):
    a32, b32 = make(rng, (200, 300), np.float32), make(rng, (300, 250), np.float32)
    a64, b64 = a32.astype(np.float64), b32.astype(np.float64)
    ref32, ref64 = fastmlp.matmul(a32, b32), fastmlp.matmul(a64, b64)

    def job(i):
        return i, (fastmlp.matmul(a32, b32) if i % 2 else fastmlp.matmul(a64, b64))

    with ThreadPoolExecutor(max_workers=8) as pool:
        for i, c in pool.map(job, range(32)):
            np.testing.assert_array_equal(c, ref32 if i % 2 else ref64)


def test_threadpoolctl_limits_fastmlp(restore_threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    fastmlp.set_num_threads(2)
    libs = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "openmp"]
    assert libs, "fastmlp's OpenMP runtime must be visible to threadpoolctl"
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert fastmlp.get_num_threads() == 1
        assert fastmlp.cpu_info()["num_threads"] == 1
    assert fastmlp.get_num_threads() == min(2, os.cpu_count())


@pytest.mark.parametrize("n", [1, 2])
def test_omp_num_threads_is_honoured(n):
    code = "import fastmlp; print(fastmlp.get_num_threads())"
    env = {**os.environ, "OMP_NUM_THREADS": str(n)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert int(out.stdout) == n


THREAD_LIMIT_SCRIPT = """
import sys
import numpy as np
import fastmlp
rng = np.random.default_rng(0)
out = {"threads": np.array(fastmlp.cpu_info()["num_threads"])}
for m, k, n in [(4000, 512, 32), (6000, 700, 16), (1000, 1000, 1000), (5000, 1024, 64)]:
    for dt in ("float32", "float64"):
        a, b = rng.random((m, k)).astype(dt), rng.random((k, n)).astype(dt)
        out[f"{m}x{k}x{n}{dt}"] = fastmlp.matmul(a, b)
x, w, bias = rng.random((3000, 800)), rng.random((600, 800)), rng.random(600)
out["linear"] = fastmlp.linear(x, w, bias, "relu")
model = fastmlp.MLP([20, 300, 300, 4], seed=0)
model.fit(rng.random((1024, 20)), rng.random((1024, 4)), epochs=2, batch_size=128, loss="mse", verbose=False)
out.update({f"param{i}": p for i, p in enumerate(model.parameters())})
np.savez(sys.argv[1], **out)
"""


def test_a_thread_limit_below_the_threads_asked_for_gives_the_serial_results(tmp_path):
    # OMP_THREAD_LIMIT=1 under OMP_NUM_THREADS=2: a region asking for 2 threads gets 1. The
    # kernels must plan for the team they get; they once planned for 2 and left the other
    # thread's tiles unwritten (products split along M, the packed path's M blocks).
    def results(name, **env):
        path = tmp_path / f"{name}.npz"
        subprocess.run(
            [sys.executable, "-c", THREAD_LIMIT_SCRIPT, str(path)], check=True, env={**os.environ, **env}
        )
        return np.load(path)

    limited = results("limited", OMP_THREAD_LIMIT="1", OMP_NUM_THREADS="2")
    assert int(limited["threads"]) == 1
    expected = results("serial", OMP_NUM_THREADS="1")
    assert set(limited.files) == set(expected.files)
    for name in expected.files:
        if name != "threads":
            np.testing.assert_array_equal(limited[name], expected[name], err_msg=name)


def test_the_peak_probe_runs_the_team_it_reports_for_or_fails():
    # Under a thread limit (as under OMP_DYNAMIC on a loaded machine) a region gets fewer
    # threads than asked for: the probe must not report that team's peak as two threads'.
    code = (
        "import fastmlp\n"
        "try:\n"
        "    fastmlp._core._peak_gflops(fastmlp.cpu_info()['isa'], 'float32', 2, 0.01)\n"
        "except RuntimeError as e:\n"
        "    print(e)\n"
        "else:\n"
        "    print('no error')\n"
    )
    env = {**os.environ, "OMP_THREAD_LIMIT": "1", "OMP_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert "OpenMP started 1 of the 2 threads" in out.stdout

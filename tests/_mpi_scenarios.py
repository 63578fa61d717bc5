"""Scenarios of data-parallel fits, run on every rank by tests/test_distributed_mpi.py:
``mpiexec -n N python tests/_mpi_scenarios.py NAME``. A scenario prints ``ok`` on each
rank when its checks pass and raises otherwise."""

import os
import signal
import sys
import threading

import numpy as np
from mpi4py import MPI

import fastmlp
from fastmlp.distributed import save

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
TOL = {"float32": 1e-5, "float64": 1e-10}


def data(rows, dtype, features=6, outputs=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features)).astype(dtype)
    y = np.tanh(X[:, :outputs] * 1.5 + X[:, outputs : 2 * outputs]).astype(dtype)
    return X, y


def uneven_bounds(rows):
    """Shards of decreasing size (the last rank has the fewest rows), in order."""
    weights = np.arange(size, 0, -1) + 1
    cuts = np.concatenate([[0], np.cumsum(weights)]) * rows // weights.sum()
    return [(int(cuts[r]), int(cuts[r + 1])) for r in range(size)]


def global_batches(bounds, batch_size):
    """The rows of each step's global batch: the ranks' k-th minibatches in rank order."""
    steps = max(-(-(hi - lo) // batch_size) for lo, hi in bounds)
    return [
        np.concatenate([np.arange(lo, hi)[k * batch_size : (k + 1) * batch_size] for lo, hi in bounds])
        for k in range(steps)
    ]


def same_on_every_rank(model, what):
    """The test's own check (not fit's): every rank's weights equal rank 0's bit for bit."""
    mine = np.concatenate([p.ravel() for p in model.parameters()])
    theirs = comm.bcast(mine, root=0)
    assert np.array_equal(mine, theirs), f"{what}: rank {rank}'s weights differ from rank 0's"


def follows_one_process(dtype="float32", optimizer="adam", loss="mse", epochs=3, batch_size=16):
    """With shuffling off, the ranks' fit follows one process training on each step's
    global batch (uneven shards with 3 ranks), and the ranks agree after every epoch."""
    X, y = data(203, dtype)
    if loss == "cross_entropy":
        y = np.argmax(y, axis=1)
    bounds = uneven_bounds(len(X))
    lo, hi = bounds[rank]
    net = fastmlp.MLP([6, 16, 16, 2], activation="tanh", dtype=dtype, seed=3)
    ref = fastmlp.MLP([6, 16, 16, 2], activation="tanh", dtype=dtype, seed=3)
    opt, ref_opt = fastmlp.optim.get(optimizer), fastmlp.optim.get(optimizer)
    batches = global_batches(bounds, batch_size)
    for epoch in range(epochs):
        hist = net.fit(
            X[lo:hi],
            y[lo:hi],
            loss=loss,
            optimizer=opt,
            epochs=1,
            batch_size=batch_size,
            shuffle=False,
            verbose=False,
            comm=comm,
        )
        ref_losses = [ref.train_step(X[b], y[b], loss=loss, optimizer=ref_opt) for b in batches]
        same_on_every_rank(net, f"epoch {epoch}")
        for p, q in zip(net.parameters(), ref.parameters()):
            np.testing.assert_allclose(p, q, rtol=TOL[dtype], atol=TOL[dtype])
        weights = np.array([len(b) for b in batches], dtype=float)
        np.testing.assert_allclose(hist["loss"][0], weights @ ref_losses / weights.sum(), rtol=1e-5)
    assert opt.steps == ref_opt.steps == epochs * len(batches)


def follows_fit():
    """Equal shards: the ranks follow fit in one process of the same global batch (the
    rows in the order of the global batches, batch_size = ranks x batch_size)."""
    for dtype in ("float32", "float64"):
        X, y = data(64 * size * 3, dtype)
        per = len(X) // size
        bounds = [(r * per, (r + 1) * per) for r in range(size)]
        order = np.concatenate(global_batches(bounds, 16))
        net = fastmlp.MLP([6, 32, 2], dtype=dtype, seed=5)
        ref = fastmlp.MLP([6, 32, 2], dtype=dtype, seed=5)
        h = net.fit(
            X[rank * per : (rank + 1) * per],
            y[rank * per : (rank + 1) * per],
            optimizer="sgd",
            epochs=4,
            batch_size=16,
            shuffle=False,
            verbose=False,
            comm=comm,
        )
        h_ref = ref.fit(
            X[order], y[order], optimizer="sgd", epochs=4, batch_size=16 * size, shuffle=False, verbose=False
        )
        same_on_every_rank(net, dtype)
        for p, q in zip(net.parameters(), ref.parameters()):
            np.testing.assert_allclose(p, q, rtol=TOL[dtype], atol=TOL[dtype])
        np.testing.assert_allclose(h["loss"], h_ref["loss"], rtol=TOL[dtype])


def reproducible():
    """Shuffling and dropout on: the same seed and split give the same weights bit for
    bit, run after run, and every rank holds them after every epoch."""
    X, y = data(300, "float32")
    lo, hi = uneven_bounds(len(X))[rank]
    runs = []
    for _ in range(2):
        net = fastmlp.MLP([6, 32, 2], dropout=0.2, seed=11)
        opt = fastmlp.optim.Adam(lr=0.01)
        for epoch in range(3):
            net.fit(X[lo:hi], y[lo:hi], optimizer=opt, epochs=1, batch_size=20, verbose=False, comm=comm)
            same_on_every_rank(net, f"epoch {epoch}")
        runs.append(np.concatenate([p.ravel() for p in net.parameters()]))
    assert np.array_equal(runs[0], runs[1])


def validation_and_early_stopping():
    """Validation shards are summed over the ranks; early stopping ends every rank at
    the same epoch; rank 0 saves, and every rank can then load the file."""
    X, y = data(400, "float64")
    Xv, yv = data(90, "float64", seed=1)
    lo, hi = uneven_bounds(len(X))[rank]
    vlo, vhi = uneven_bounds(len(Xv))[rank]
    net = fastmlp.MLP([6, 64, 2], dtype="float64", seed=2)
    h = net.fit(
        X[lo:hi],
        y[lo:hi],
        optimizer=fastmlp.optim.Adam(lr=0.05),
        epochs=60,
        batch_size=8,
        validation_data=(Xv[vlo:vhi], yv[vlo:vhi]),
        early_stopping=2,
        verbose=False,
        comm=comm,
    )
    everyone = comm.allgather((h["val_loss"], h["loss"], h["best_epoch"]))
    assert all(e == everyone[0] for e in everyone), "the ranks' histories differ"
    assert len(h["val_loss"]) < 60, "early stopping did not stop"
    same_on_every_rank(net, "after early stopping")
    np.testing.assert_allclose(h["val_loss"][h["best_epoch"] - 1], net.evaluate(Xv, yv), rtol=1e-10)
    path = comm.bcast(os.path.join(sys.argv[2], "model.safetensors") if rank == 0 else None)
    save(net, path, comm)
    loaded = fastmlp.load(path)
    for p, q in zip(net.parameters(), loaded.parameters()):
        assert np.array_equal(p, q)


def one_rank():
    """On one rank, fit(comm=) shuffles and drops out as fit without comm, and follows it
    to rounding (the mean is taken after the backward pass instead of before); a comm
    that is not an MPI communicator is a TypeError."""
    X, y = data(500, "float32")
    nets = [fastmlp.MLP([6, 32, 2], dropout=0.1, seed=4) for _ in range(2)]
    for net, c in zip(nets, (comm, None)):
        net.fit(X, y, epochs=3, batch_size=32, verbose=False, comm=c)
    for p, q in zip(nets[0].parameters(), nets[1].parameters()):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-5)
    try:
        nets[0].fit(X, y, epochs=1, verbose=False, comm="COMM_WORLD")
    except TypeError as e:
        assert "comm must be an mpi4py.MPI.Comm" in str(e), str(e)
    else:
        raise AssertionError("a comm of the wrong type was accepted")


def raises_everywhere(error, words, fit):
    """fit() raises error, with words in its message, on every rank."""
    try:
        fit()
    except error as e:
        message = str(e)
        assert all(w in message for w in words), f"rank {rank}: {message!r} lacks {words}"
        print(f"rank {rank}: {type(e).__name__}: {message}")
        return
    raise AssertionError(f"rank {rank}: fit did not raise {error.__name__}")


def expect_error_everywhere(error, words, changes):
    """fit with changes[rank] (fit's arguments on that rank) raises error, with words in
    its message, on every rank."""
    X, y = data(50, "float32")
    net = fastmlp.MLP([6, 8, 2], seed=0)
    args = dict(X=X, y=y, epochs=1, verbose=False, comm=comm)
    args.update(changes.get(rank, {}))
    raises_everywhere(error, words, lambda: net.fit(**args))


def bad_input():
    """Shards that cannot train together raise on every rank, saying which rank and why."""
    X, y = data(50, "float32")
    last = size - 1
    # rank `last` has 5 features: it raises its own ValueError, the others name it
    expect_error_everywhere(
        (ValueError, RuntimeError), ["feature"], {last: dict(X=np.zeros((50, 5), np.float32))}
    )
    expect_error_everywhere(
        ValueError, ["X (dtype", "float64", "float32"], {last: dict(X=X.astype(np.float64))}
    )
    expect_error_everywhere((ValueError, RuntimeError), ["y"], {last: dict(y=None)})
    try:
        fastmlp.MLP([6, 8, 2], seed=rank).fit(X, y, epochs=1, verbose=False, comm=comm)
    except ValueError as e:
        assert "the model" in str(e) and "'seed': 1" in str(e), str(e)
    else:
        raise AssertionError("different seeds were not noticed")
    net = fastmlp.MLP([6, 8, 2], seed=0)
    net.layers[0].weight[0, 0] += rank  # the same seed, but weights changed on one rank
    try:
        net.fit(X, y, epochs=1, verbose=False, comm=comm)
    except ValueError as e:
        assert "initial weights" in str(e), str(e)
    else:
        raise AssertionError("different initial weights were not noticed")


def diverging_rank():
    """A rank whose loss becomes inf makes the global loss inf: every rank raises
    FloatingPointError at the same step and keeps the same last finite weights."""
    X, y = data(64, "float32")
    if rank == size - 1:
        y = y * np.float32(1e30)
    net = fastmlp.MLP([6, 8, 2], seed=0)
    try:
        net.fit(X, y, optimizer="sgd", epochs=2, batch_size=16, verbose=False, comm=comm)
    except FloatingPointError:
        same_on_every_rank(net, "after the divergence")
        return
    raise AssertionError("no FloatingPointError")


def interrupted_rank():
    """Ctrl-C on one rank during an epoch: that rank raises KeyboardInterrupt, the others
    a RuntimeError, at the same step, with equal weights; nobody hangs."""
    X, y = data(20_000, "float32", features=64)
    net = fastmlp.MLP([64, 256, 2], seed=0)
    stopped_by_last_rank(
        net,
        lambda: net.fit(
            X,
            y,
            optimizer="sgd",
            epochs=10_000,
            batch_size=32,
            verbose=False,
            comm=comm,
            early_stopping=InterruptAfterEpoch(1, delay=0.02),
        ),
    )


def stopped_by_last_rank(net, fit):
    """fit() must end with KeyboardInterrupt on the last rank (the interrupted one) and
    RuntimeError on the others, with the same weights everywhere."""
    try:
        fit()
    except (KeyboardInterrupt, RuntimeError) as e:
        expected = KeyboardInterrupt if rank == size - 1 else RuntimeError
        assert isinstance(e, expected), f"rank {rank}: {e!r}"
        same_on_every_rank(net, "after the interrupt")
        return
    raise AssertionError("the fit was not interrupted")


class InterruptAfterEpoch(fastmlp.EarlyStopping):
    """Early stopping that never stops, but whose check of epoch `epoch` on the last rank
    delivers a Ctrl-C there. With no `delay`, at once: a signal that lands in fit's
    Python code between two epochs, outside the engine and outside any collective. With
    a `delay` in seconds, from a timer: most often inside the next epoch's engine run,
    and always after fit installed its handler (a timer started before fit could fire
    before it, and a KeyboardInterrupt caught outside fit leaves the other ranks waiting
    in its first collective)."""

    def __init__(self, epoch, delay=None):
        super().__init__(patience=10_000)
        self.epoch = epoch
        self.delay = delay

    def should_stop(self, epoch, loss, params):
        if rank == size - 1 and epoch == self.epoch:
            if self.delay is None:
                signal.raise_signal(signal.SIGINT)
            else:
                threading.Timer(self.delay, os.kill, (os.getpid(), signal.SIGINT)).start()
        return super().should_stop(epoch, loss, params)


def interrupted_between_epochs():
    """Ctrl-C on one rank while it runs Python between two epochs: it waits for the next
    collective (the check after the next epoch), where that rank raises KeyboardInterrupt
    and the others a RuntimeError, with equal weights; nobody hangs."""
    X, y = data(600, "float32", features=8)
    net = fastmlp.MLP([8, 16, 2], seed=0)
    stopped_by_last_rank(
        net,
        lambda: net.fit(
            X, y, epochs=50, batch_size=32, verbose=False, comm=comm, early_stopping=InterruptAfterEpoch(2)
        ),
    )


if __name__ == "__main__":
    fastmlp.set_num_threads(1)
    name = sys.argv[1]
    if name == "follows_one_process":
        for dt in ("float32", "float64"):
            follows_one_process(dt, "adam")
            follows_one_process(dt, "sgd", loss="cross_entropy")
    else:
        globals()[name]()
    print(f"rank {rank} of {size}: ok")

"""Data-parallel training over MPI: each rank trains on its shard, the gradients of
every step are summed by one all-reduce, and all ranks end with the same model (an
MLP, then scikit-learn's MLPClassifier with comm=).

Run: mpiexec -n 2 python -m mpi4py examples/mpi_data_parallel.py [--quick] [--out DIR]
(``python examples/mpi_data_parallel.py`` starts itself that way on 2 ranks; with
``python -m mpi4py``, an uncaught error on one rank aborts all of them.)
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from _common import parse_args
from _common import save as save_plot
from mpi4py import MPI

import fastmlp
from fastmlp.distributed import save
from fastmlp.sklearn import MLPClassifier

comm = MPI.COMM_WORLD
RANKS = 2


def relaunch():
    """Run this script again under mpiexec on RANKS processes; return its exit status."""
    mpiexec = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.call([mpiexec, "-n", str(RANKS), sys.executable, "-m", "mpi4py"] + sys.argv, env=env)


def spirals(n, rng):
    """Two interleaved spirals in 2-d, 16 noisy copies of the coordinates as features."""
    t = rng.uniform(0.5, 3 * np.pi, n)
    label = rng.integers(0, 2, n)
    xy = np.stack([t * np.cos(t + np.pi * label), t * np.sin(t + np.pi * label)], axis=1) / 10
    return np.repeat(xy, 8, axis=1) + rng.normal(0, 0.02, (n, 16)), label


def main():
    args = parse_args(__doc__.splitlines()[0])
    rank, size = comm.Get_rank(), comm.Get_size()
    rng = np.random.default_rng(0)  # the same data set on every rank; each keeps its shard
    X, y = spirals(4000 if args.quick else 40_000, rng)
    Xv, yv = spirals(1000, rng)
    mine = slice(rank * len(X) // size, (rank + 1) * len(X) // size)
    vmine = slice(rank * len(Xv) // size, (rank + 1) * len(Xv) // size)
    net = fastmlp.MLP([16, 64, 64, 2], activation="tanh", dtype="float32", seed=0)
    history = net.fit(
        X[mine],
        y[mine],
        loss="cross_entropy",
        optimizer=fastmlp.optim.Adam(lr=0.01),
        epochs=15 if args.quick else 60,
        batch_size=64,
        early_stopping=5,
        validation_data=(Xv[vmine], yv[vmine]),
        verbose=False,
        comm=comm,
    )
    accuracy = comm.allreduce(int((net.predict(Xv[vmine]).argmax(1) == yv[vmine]).sum())) / len(Xv)
    # The scikit-learn estimator on the same shards: one fit of all of them, its
    # early-stopping split a tenth of each shard, scored together.
    clf = MLPClassifier(
        (64, 64),
        activation="tanh",
        batch_size=64,
        learning_rate_init=0.01,
        early_stopping=True,
        random_state=0,
        max_iter=15 if args.quick else 60,
    )
    clf.fit(X[mine], y[mine], comm=comm)
    clf_accuracy = comm.allreduce(int((clf.predict(Xv[vmine]) == yv[vmine]).sum())) / len(Xv)
    model_path = os.path.join(args.out, "spirals.safetensors")
    save(net, model_path, comm)  # written by rank 0, once
    if rank == 0:
        import matplotlib.pyplot as plt

        steps = -(-len(X[mine]) // 64)
        print(
            f"{size} ranks x {len(X) // size} rows, global batch {64 * size}: "
            f"{len(history['loss'])} epochs, validation loss {history['val_loss'][-1]:.4f}, "
            f"accuracy {accuracy:.3f}; all-reduce {1e6 * np.mean(history['allreduce_seconds']) / steps:.0f}"
            f" us a step; model saved to {model_path}"
        )
        print(
            f"MLPClassifier(comm=): {clf.n_iter_} epochs, best validation accuracy "
            f"{clf.best_validation_score_:.3f}, accuracy {clf_accuracy:.3f}"
        )
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.plot(history["loss"], label="training (all ranks)")
        ax.plot(history["val_loss"], label="validation (all ranks)")
        ax.set(xlabel="epoch", ylabel="cross-entropy", title=f"data-parallel fit on {size} MPI ranks")
        ax.legend()
        save_plot(fig, args, "mpi_data_parallel.png")


if __name__ == "__main__":
    if comm.Get_size() == 1 and "MPI_LOCALNRANKS" not in os.environ and "PMI_SIZE" not in os.environ:
        sys.exit(relaunch())
    main()

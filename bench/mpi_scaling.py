"""Data-parallel scaling over MPI: epoch time of N ranks x 1 thread against 1 process.

    python bench/mpi_scaling.py                 # one process, the whole data set
    mpiexec -n 2 python bench/mpi_scaling.py    # two ranks, half of it each
    python bench/mpi_scaling.py --compare 3     # both, launches alternating 3 times, and the ratios

Both train the same global batch (batch_size x ranks rows a step, over 60,000 rows);
prints rows per second (best of --repeats epochs) and the all-reduce time per step.
--compare launches the two in turn (a slow phase of a shared machine then falls on both
sides), and prints each side's best epoch over the launches and their ratio.
"""

import argparse
import json
import shutil
import subprocess
import sys
import time

import numpy as np

import fastmlp

NETWORKS = {
    "784-256-10": ([784, 256, 10], "sgd", 256, "cross_entropy"),
    "2-256-256-256-1": ([2, 256, 256, 256, 1], "adam", 128, "mse"),
}


def bare_allreduce(comm, count, repeats=50):
    """The best time of an all-reduce of count float32 alone (no waiting for a slower rank)."""
    from mpi4py import MPI

    buffer = np.ones(count, np.float32)
    best = float("inf")
    for _ in range(repeats):
        comm.Barrier()
        t0 = time.perf_counter()
        comm.Allreduce(MPI.IN_PLACE, buffer)
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--compare", type=int, metavar="LAUNCHES", default=0)
    parser.add_argument("--json", action="store_true", help="one JSON line per network (for --compare)")
    args = parser.parse_args()
    if args.compare:
        return compare(args)
    try:
        from mpi4py import MPI

        comm = MPI.COMM_WORLD if MPI.COMM_WORLD.Get_size() > 1 else None
    except ImportError:
        comm = None
    rank, size = (comm.Get_rank(), comm.Get_size()) if comm is not None else (0, 1)
    fastmlp.set_num_threads(1)
    rng = np.random.default_rng(0)
    for name, (sizes, optimizer, global_batch, loss) in NETWORKS.items():
        X = rng.standard_normal((args.rows, sizes[0])).astype(np.float32)
        y = (
            rng.integers(0, sizes[-1], args.rows)
            if loss == "cross_entropy"
            else np.sin(X[:, :1]).astype(np.float32)
        )
        shard = slice(rank * args.rows // size, (rank + 1) * args.rows // size)
        net = fastmlp.MLP(sizes, seed=0)
        opt = fastmlp.optim.get(optimizer)
        best, reduce_s = float("inf"), 0.0
        for _ in range(args.repeats):
            if comm is not None:
                comm.Barrier()
            t0 = time.perf_counter()
            h = net.fit(
                X[shard],
                y[shard],
                loss=loss,
                optimizer=opt,
                epochs=1,
                batch_size=global_batch // size,
                verbose=False,
                comm=comm,
            )
            seconds = time.perf_counter() - t0
            if comm is not None:
                seconds = comm.allreduce(seconds, op=MPI.MAX)
            if seconds < best:
                best, reduce_s = seconds, h.get("allreduce_seconds", [0.0])[0]
        if args.json:  # --compare's child: the epoch only, without the bare all-reduce's 50 calls
            if rank == 0:
                print(json.dumps({"network": name, "ranks": size, "epoch_seconds": best}), flush=True)
            continue
        steps = -(-args.rows // global_batch)
        bare = bare_allreduce(comm, sum(p.size for p in net.parameters()) + 3) if comm else 0.0
        if rank == 0:
            print(
                f"{name} b{global_batch} {optimizer}: {size} x 1 thread: epoch {best * 1e3:.1f} ms, "
                f"{args.rows / best:,.0f} rows/s, all-reduce {reduce_s / steps * 1e6:.0f} us/step "
                f"(rank 0; a bare all-reduce of the buffer, {bare * 1e6:.0f} us), best of {args.repeats}",
                flush=True,
            )


def compare(args):
    """1 process and 2 ranks, launched in turn args.compare times: best epochs and ratios."""
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        raise SystemExit("mpiexec not found: pip install 'fastmlp[mpi]'")
    child = [sys.executable, __file__, "--rows", str(args.rows), "--repeats", str(args.repeats), "--json"]
    best = {}  # (network, ranks) -> seconds
    for _ in range(args.compare):
        for command in (child, [mpiexec, "-n", "2", *child]):
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            for line in out.splitlines():
                if line.startswith("{"):
                    r = json.loads(line)
                    key = (r["network"], r["ranks"])
                    best[key] = min(best.get(key, float("inf")), r["epoch_seconds"])
    for name in NETWORKS:
        one, two = best[(name, 1)], best[(name, 2)]
        print(
            f"{name}: 1 process {one * 1e3:.1f} ms, 2 ranks {two * 1e3:.1f} ms an epoch "
            f"(best of {args.compare} launches x {args.repeats} epochs): {one / two:.2f}x",
            flush=True,
        )


if __name__ == "__main__":
    main()

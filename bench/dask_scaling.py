"""Batch inference on Dask: rows per second of fastmlp.distributed.predict on a
LocalCluster of 1 and of 2 worker processes (1 thread each), the rows generated and
held on the workers. The two clusters take turns, --rounds times (a new cluster each
time), so that a slow phase of a shared machine does not fall on one side only; each
side's figure is its best over every round's --repeats passes.

    python bench/dask_scaling.py
"""

import argparse
import time

import dask.array as da
import distributed
import numpy as np

import fastmlp
from fastmlp.distributed import cap_threads, predict


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=16 * 16384)
    parser.add_argument("--chunk", type=int, default=16384)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for sizes in ([784, 256, 10], [2, 256, 256, 256, 1]):
        net = fastmlp.MLP(sizes, seed=0)
        best = {1: float("inf"), 2: float("inf")}
        for _ in range(args.rounds):
            for workers in best:
                best[workers] = min(best[workers], best_pass(net, sizes[0], workers, args))
        name = "-".join(map(str, sizes))
        for workers, seconds in best.items():
            print(
                f"{name}: {workers} worker(s) x 1 thread: {args.rows / seconds:,.0f} rows/s "
                f"({args.rows:,} rows in {-(-args.rows // args.chunk)} chunks, best of "
                f"{args.rounds} x {args.repeats})",
                flush=True,
            )
        print(f"{name}: 2 workers / 1: {best[1] / best[2]:.2f}x", flush=True)


def best_pass(net, n_features, workers, args):
    """The best time of --repeats predict passes on a new cluster of ``workers`` processes."""
    with (
        distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        cap_threads(client)
        X = (
            da.random.default_rng(0)
            .standard_normal((args.rows, n_features), dtype=np.float32, chunks=(args.chunk, -1))
            .persist()
        )
        distributed.wait(X)
        best = float("inf")
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            predict(net, X).sum().compute()  # only a number comes back
            best = min(best, time.perf_counter() - t0)
        return best


if __name__ == "__main__":
    main()

"""Batch inference on Dask: rows per second of fastmlp.distributed.predict on a
LocalCluster of 1 and then 2 worker processes (1 thread each), the rows generated and
held on the workers, best of --repeats.

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
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for sizes in ([784, 256, 10], [2, 256, 256, 256, 1]):
        net = fastmlp.MLP(sizes, seed=0)
        for workers in (1, 2):
            with (
                distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
                ) as cluster,
                distributed.Client(cluster) as client,
            ):
                cap_threads(client)
                X = (
                    da.random.default_rng(0)
                    .standard_normal((args.rows, sizes[0]), dtype=np.float32, chunks=(args.chunk, -1))
                    .persist()
                )
                distributed.wait(X)
                best = float("inf")
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    predict(net, X).sum().compute()  # only a number comes back
                    best = min(best, time.perf_counter() - t0)
                print(
                    f"{'-'.join(map(str, sizes))}: {workers} worker(s) x 1 thread: "
                    f"{args.rows / best:,.0f} rows/s ({args.rows:,} rows in {X.numblocks[0]} chunks, "
                    f"best of {args.repeats})",
                    flush=True,
                )


if __name__ == "__main__":
    main()

"""Batch inference on Dask: score a dask.array and a dask.dataframe lazily on a cluster
of worker processes, the model sent to each worker once.

Run: python examples/dask_batch_inference.py [--quick] [--out DIR]
(a LocalCluster of 2 worker processes here; pass a Client of any dask.distributed
cluster the same way.)
"""

import time

import dask.array as da
import dask.dataframe as dd
import distributed
import numpy as np
import pandas as pd
from _common import parse_args, save

import fastmlp
from fastmlp.distributed import cap_threads, predict


def main():
    args = parse_args(__doc__.splitlines()[0])
    rows = 40_960 if args.quick else 409_600
    rng = np.random.default_rng(0)
    net = fastmlp.MLP([784, 256, 10], seed=0)
    X = da.random.default_rng(1).standard_normal((rows, 784), chunks=(8192, -1), dtype=np.float32)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        cap_threads(client)  # one fastmlp thread per worker thread
        X = X.persist()  # the rows, generated on the workers, stay there
        distributed.wait(X)
        lazy = predict(net, X)  # nothing computed yet
        t0 = time.perf_counter()
        scores = client.compute(lazy).result()
        seconds = time.perf_counter() - t0
        same = np.array_equal(scores, net.predict(X.compute()))
        frame = dd.from_pandas(
            pd.DataFrame(rng.standard_normal((512, 784)).astype(np.float32)), npartitions=2
        )
        labels = predict(net, frame).compute().to_numpy().argmax(1)
    print(
        f"{rows:,} rows in {X.numblocks[0]} chunks on 2 workers: {rows / seconds:,.0f} rows/s; "
        f"equal to in-memory predict bit for bit: {same}; "
        f"a dataframe's first labels: {labels[:8]}"
    )
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.hist(scores.argmax(1), bins=np.arange(11) - 0.5)
    ax.set(xlabel="predicted class", ylabel="rows", title="an untrained 784-256-10 on random rows")
    save(fig, args, "dask_batch_inference.png")


if __name__ == "__main__":
    main()

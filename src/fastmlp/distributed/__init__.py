"""fastmlp beyond one machine, on the engines people already run.

- Data-parallel training over MPI: ``MLP.fit(X_shard, y_shard, ..., comm=MPI.COMM_WORLD)``
  or an estimator's ``fit(X_shard, y_shard, comm=MPI.COMM_WORLD)`` on every rank
  (``mpiexec -n 4 python -m mpi4py train.py``), and :func:`save` from rank 0. Needs
  ``fastmlp[mpi]`` (mpi4py and the mpich wheel).
- Batch inference on Dask: :func:`predict` and :func:`predict_proba` over a dask.array
  or dask.dataframe, lazily; model search with joblib's Dask backend after
  :func:`cap_threads`. Needs ``fastmlp[dask]``.
"""

from fastmlp.distributed._save import save

__all__ = ["cap_threads", "predict", "predict_proba", "save"]


def __getattr__(name):  # the Dask helpers import dask only when used
    if name in ("predict", "predict_proba", "cap_threads"):
        from fastmlp.distributed import _dask

        return getattr(_dask, name)
    raise AttributeError(f"module 'fastmlp.distributed' has no attribute {name!r}")

"""Batch inference on Dask, and fastmlp's threads on Dask workers.

predict / predict_proba map a model over the row blocks of a dask.array or the
partitions of a dask.dataframe, lazily: the model enters the task graph once, as one
key that every block's task depends on, so a distributed scheduler ships it to each
worker once (and keeps it there while that worker has blocks to score), not with every
chunk.
"""

import math

import numpy as np

try:
    import dask
    import dask.array as da
    import dask.dataframe as dd
except ImportError as e:  # pragma: no cover - the extra is missing
    raise ImportError("fastmlp.distributed.predict needs dask: pip install 'fastmlp[dask]'") from e


def predict(model, X):
    """``model.predict`` over the rows of a Dask collection, lazily.

    Parameters
    ----------
    model : fastmlp.MLP or a fastmlp scikit-learn estimator (fitted)
    X : dask.array.Array, shape (n_samples, n_features), or dask.dataframe.DataFrame
        with n_features columns. An array chunked along its columns is rechunked to
        whole rows first.

    Returns
    -------
    A dask.array.Array of shape (n_samples, n_outputs) or (n_samples,), as
    ``model.predict`` returns for NumPy input, for a dask.array; a dask.dataframe
    Series (one output) or DataFrame (columns 0..n_outputs-1) with the index of X for a
    dask.dataframe. The array's row chunks are aligned to the engine's passes of
    ``predict`` (2048 rows; rechunked if they are not), so the values are those of
    ``model.predict`` on the whole array bit for bit. A dataframe's partitions are
    scored as they are: bit for bit when their lengths are multiples of 2048 rows,
    otherwise to rounding (a short pass may use other kernels).
    """
    return _map_rows(model, X, "predict")


def predict_proba(model, X):
    """``model.predict_proba`` of a fastmlp classifier over a Dask collection, lazily
    (as predict): shape (n_samples, n_classes)."""
    if not hasattr(model, "predict_proba"):
        raise TypeError(f"{type(model).__name__} has no predict_proba (a fastmlp classifier has)")
    return _map_rows(model, X, "predict_proba")


def _map_rows(model, X, method):
    n_features = _n_features(model)
    # What the method returns for one row (its dtype and row shape): computed here, on
    # one row of zeros, so that the result's metadata is known without computing X.
    sample = np.asarray(getattr(model, method)(np.zeros((1, n_features), dtype=_input_dtype(model))))
    model_key = dask.delayed(model, pure=False)  # one key in the graph, for every block
    if isinstance(X, dd.DataFrame):
        if len(X.columns) != n_features:
            raise ValueError(f"X has {len(X.columns)} columns, the model expects {n_features} features")
        return X.map_partitions(_score_partition, model_key, method, meta=_frame_meta(sample))
    if not isinstance(X, da.Array):
        raise TypeError(f"X must be a dask.array.Array or dask.dataframe.DataFrame, got {type(X).__name__}")
    if X.ndim != 2 or X.shape[1] != n_features:
        raise ValueError(f"X must have shape (n_samples, {n_features}), got {X.shape}")
    X = X.rechunk({1: -1, 0: _aligned_rows(X.chunks[0])})
    if sample.ndim == 1:
        return X.map_blocks(
            _score_block,
            model_key,
            method,
            drop_axis=1,
            dtype=sample.dtype,
            meta=np.empty((0,), sample.dtype),
        )
    return X.map_blocks(
        _score_block,
        model_key,
        method,
        chunks=(X.chunks[0], sample.shape[1:]),
        dtype=sample.dtype,
        meta=np.empty((0, sample.shape[1]), sample.dtype),
    )


def _aligned_rows(chunks):
    """Row chunks that start where a pass of the engine's predict on the whole array
    starts (every multiple of _inference_rows()), so that each block is computed by
    the same kernels, in the same passes, as in memory: the result is the same bit for
    bit. Chunks already aligned are kept; others become the nearest multiple."""
    from fastmlp import _core

    rows = _core._inference_rows()
    if any(math.isnan(c) for c in chunks) or all(c % rows == 0 for c in chunks[:-1]):
        return chunks  # aligned already, or of unknown sizes (then scored as they are)
    return max(rows, round(float(np.median(chunks)) / rows) * rows)


def _score_block(block, model, method):
    return getattr(model, method)(block)


def _score_partition(part, model, method):
    import pandas as pd

    out = getattr(model, method)(part.to_numpy())
    if out.ndim == 1:
        return pd.Series(out, index=part.index)
    return pd.DataFrame(out, index=part.index)


def _frame_meta(sample):
    import pandas as pd

    if sample.ndim == 1:
        return pd.Series(np.empty(0, sample.dtype))
    return pd.DataFrame(np.empty((0, sample.shape[1]), sample.dtype))


def _n_features(model):
    n = getattr(model, "n_features_in_", None) or getattr(model, "n_features", None)
    if n is None:
        raise ValueError(f"{type(model).__name__} is not fitted (it has no n_features_in_)")
    return int(n)


def _input_dtype(model):
    return getattr(model, "dtype", None) or np.float64


class _CapThreads:
    """A Dask worker plugin: fastmlp's threads on each worker, as many as the worker's
    (its task threads are its share of the cores)."""

    def setup(self, worker):
        import fastmlp

        fastmlp.set_num_threads(worker.state.nthreads)


def cap_threads(client):
    """Cap fastmlp's threads on every worker of a dask.distributed Client (present and
    future ones) to that worker's number of threads, so that workers do not
    oversubscribe the cores (e.g. before a model search through
    ``joblib.parallel_backend("dask")``)."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class CapThreads(_CapThreads, WorkerPlugin):
        name = "fastmlp-cap-threads"

    client.register_plugin(CapThreads())

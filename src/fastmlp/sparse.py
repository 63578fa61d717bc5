"""Sparse input: scipy.sparse matrices and arrays as the first layer's input, without
densifying them.

CSR is read as it is (its index dtype, int32 or int64, kept); CSC, COO and the other
formats are converted to CSR once per call (``X.tocsr()``). Rows may hold their column
indices in any order, and a repeated index adds up, as in scipy. Only the first layer
reads X; its output and every layer above it are dense. scipy itself is not imported:
sparse input is recognised by its attributes.
"""

import numpy as np

from fastmlp import _core

__all__ = ["issparse", "as_csr", "sparse_linear", "sparse_linear_backward"]


def issparse(X):
    """Whether X is a scipy.sparse matrix or array (or a fastmlp CsrMatrix)."""
    return isinstance(X, _core.CsrMatrix) or (
        hasattr(X, "tocsr") and hasattr(X, "nnz") and hasattr(X, "format")
    )


def as_csr(X, name="X", dtype=None, finite=True):
    """X (scipy.sparse, 2-D) as a fastmlp._core.CsrMatrix for the kernels.

    dtype : float32 or float64, optional
        Convert the values to it (the model's dtype); None keeps float32 or float64 values.
    finite : bool
        Refuse NaN or inf among the stored values.
    """
    if isinstance(X, _core.CsrMatrix):
        if dtype is not None and X.dtype != np.dtype(dtype):
            X = _core.CsrMatrix(X.data.astype(dtype), X.indices, X.indptr, X.shape)
        csr = X
    else:
        if len(X.shape) != 2:
            raise ValueError(f"{name} must be 2-D, got a sparse array of shape {X.shape}")
        if X.format != "csr":
            X = X.tocsr()  # CSC, COO, ...: converted once
        data = np.asarray(X.data)
        if data.dtype.kind not in "biuf":
            raise ValueError(f"{name} must hold numbers, got sparse values of dtype {data.dtype}")
        if dtype is not None:
            data = np.ascontiguousarray(data, dtype=dtype)
        elif data.dtype not in (np.float32, np.float64):
            data = data.astype(np.float64)
        indices, indptr = np.asarray(X.indices), np.asarray(X.indptr)
        if indices.dtype != indptr.dtype:
            indices, indptr = indices.astype(np.int64), indptr.astype(np.int64)
        try:
            csr = _core.CsrMatrix(data, indices, indptr, tuple(int(s) for s in X.shape))
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"{name} of shape {tuple(X.shape)}: {exc}") from None
    if finite and not np.isfinite(csr.data[: csr.nnz]).all():
        raise ValueError(f"{name} contains NaN or inf")
    return csr


def sparse_linear(x, weight, bias=None, activation="identity", negative_slope=0.01, pre_activation_out=None):
    """``activation(x @ weight.T + bias)`` for sparse x, as fastmlp.linear for dense x.

    Parameters
    ----------
    x : scipy.sparse matrix or array, shape (batch, in_features)
        Its values must have weight's dtype (fastmlp never casts implicitly).
    weight : ndarray, shape (out_features, in_features)
    bias : ndarray, shape (out_features,), optional
    activation : str
    negative_slope : float, leaky_relu's slope
    pre_activation_out : ndarray, shape (batch, out_features), optional
        Receives ``x @ weight.T + bias`` (sparse_linear_backward needs it for some
        activations).

    Returns
    -------
    ndarray, shape (batch, out_features), C-contiguous.
    """
    return _core._sparse_linear(
        as_csr(x, "x", finite=False), weight, bias, activation, negative_slope, pre_activation_out
    )


def sparse_linear_backward(grad_y, x, y, activation="identity", pre_activation=None, negative_slope=0.01):
    """The gradients of sparse_linear's parameters: ``grad_weight = grad_pre.T @ x`` and
    ``grad_bias = grad_pre.sum(0)``, with ``grad_pre = grad_y * activation'(.)``. (x's
    own gradient is not computed: sparse x is data.) Each sum runs over x's rows in
    order, so the result is the same for any number of threads.

    Parameters
    ----------
    grad_y, y : ndarray, shape (batch, out_features)
    x : scipy.sparse matrix or array, shape (batch, in_features)
    pre_activation : ndarray, shape (batch, out_features), optional (as linear_backward)

    Returns
    -------
    (grad_weight (out_features, in_features), grad_bias (out_features,))
    """
    return _core._sparse_linear_backward(
        grad_y, as_csr(x, "x", finite=False), y, activation, pre_activation, negative_slope
    )

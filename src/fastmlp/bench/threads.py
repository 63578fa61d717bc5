"""One thread count for every library in the process: OpenBLAS/MKL (threadpoolctl),
PyTorch (torch.set_num_threads) and fastmlp (fastmlp.set_num_threads)."""

import contextlib

from threadpoolctl import threadpool_limits

import fastmlp
from fastmlp.bench.optional import torch_module


@contextlib.contextmanager
def use_threads(n):
    """Run the body with ``n`` threads in NumPy's BLAS, PyTorch and fastmlp, then restore."""
    torch = torch_module()
    before_fastmlp = fastmlp.get_num_threads()
    before_torch = torch.get_num_threads() if torch else None
    with threadpool_limits(limits=n):
        fastmlp.set_num_threads(n)
        if torch:
            torch.set_num_threads(n)
        try:
            yield n
        finally:
            fastmlp.set_num_threads(before_fastmlp)
            if torch:
                torch.set_num_threads(before_torch)


@contextlib.contextmanager
def use_isa(name):
    """Run the body with fastmlp's micro-kernel set ``name`` (None: leave it), then restore."""
    if name is None:
        yield
        return
    before = fastmlp.cpu_info()["isa"]
    fastmlp._core._set_isa(name)
    try:
        yield
    finally:
        fastmlp._core._set_isa(before)

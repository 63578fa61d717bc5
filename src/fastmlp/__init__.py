"""fastmlp: fast MLP training and inference on CPUs.

Dense-layer kernels in C++ with OpenMP (a packed GEMM with a micro-kernel per
instruction set, fused bias + activation) exposed to NumPy without copies, and an
MLP model whose training epochs run in one C++ call each.
"""

from fastmlp import _core

# FASTMLP_ISA or the best kernels for this CPU, with FASTMLP_CACHES and FASTMLP_BLOCKING
# applied; a bad value fails the import with a ValueError saying why (raised here, so it
# is not wrapped in an ImportError).
_core._init_from_environment()

from fastmlp import init, losses, optim, sparse  # noqa: E402
from fastmlp._core import (  # noqa: E402
    activation,
    activation_backward,
    get_num_threads,
    linear,
    linear_backward,
    matmul,
    set_num_threads,
)
from fastmlp._cpu import cpu_info  # noqa: E402
from fastmlp._version import __version__  # noqa: E402, F401 (re-exported)
from fastmlp.early_stopping import EarlyStopping  # noqa: E402
from fastmlp.io import load  # noqa: E402
from fastmlp.model import ACTIVATIONS, MLP, Dense  # noqa: E402
from fastmlp.sparse import sparse_linear, sparse_linear_backward  # noqa: E402

__all__ = [
    "ACTIVATIONS",
    "Dense",
    "EarlyStopping",
    "MLP",
    "activation",
    "activation_backward",
    "cpu_info",
    "get_num_threads",
    "init",
    "linear",
    "linear_backward",
    "load",
    "losses",
    "matmul",
    "optim",
    "set_num_threads",
    "sparse",
    "sparse_linear",
    "sparse_linear_backward",
]

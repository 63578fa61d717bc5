"""fastmlp: fast MLP training and inference on CPUs.

Dense-layer kernels in C++ with OpenMP (a packed GEMM with a micro-kernel per
instruction set, fused bias + activation) exposed to NumPy without copies, and an
MLP model whose training epochs run in one C++ call each.
"""
from fastmlp._core import (
    activation,
    activation_backward,
    get_num_threads,
    linear,
    linear_backward,
    matmul,
    set_num_threads,
)
from fastmlp._cpu import cpu_info
from fastmlp import init, losses, optim
from fastmlp.early_stopping import EarlyStopping
from fastmlp.io import load
from fastmlp.model import ACTIVATIONS, MLP, Dense

__version__ = "0.1.0"

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
]

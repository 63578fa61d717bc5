# Types of the extension module's public functions (src/csrc/bindings.cpp defines them;
# their docstrings give the shapes). Arrays are float32 or float64, one dtype per call.
# The private functions the package itself calls are left untyped (__getattr__).
from typing import Any

from numpy.typing import NDArray

_Array = NDArray[Any]

def matmul(a: _Array, b: _Array, *, out: _Array | None = None) -> _Array: ...
def linear(
    x: _Array,
    weight: _Array,
    bias: _Array | None = None,
    activation: str = "identity",
    *,
    negative_slope: float = 0.01,
    out: _Array | None = None,
    pre_activation_out: _Array | None = None,
) -> _Array: ...
def linear_backward(
    grad_y: _Array,
    x: _Array,
    weight: _Array,
    y: _Array,
    activation: str = "identity",
    *,
    pre_activation: _Array | None = None,
    negative_slope: float = 0.01,
) -> tuple[_Array, _Array, _Array]: ...
def activation(
    name: str, x: _Array, *, negative_slope: float = 0.01, out: _Array | None = None
) -> _Array: ...
def activation_backward(
    name: str,
    grad_y: _Array,
    y: _Array,
    x: _Array | None = None,
    *,
    negative_slope: float = 0.01,
    out: _Array | None = None,
) -> _Array: ...
def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...
def __getattr__(name: str) -> Any: ...

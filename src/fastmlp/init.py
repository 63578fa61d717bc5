"""Weight initializers with torch.nn.init's formulas, gains and fan modes.

Each function fills a NumPy array in place and returns it. Random ones take ``rng``:
a ``numpy.random.Generator``, an int seed, or None (fresh entropy). Fans follow
torch: for a (out_features, in_features) weight, fan_in = in_features and
fan_out = out_features (times the receptive field size for >2-D arrays).
"""

import math
from typing import Any, Optional, Union

import numpy as np
from numpy.typing import NDArray

# The public signatures' types: the array filled in place (and returned), and the
# random source (a Generator, a seed, or None for fresh entropy).
Array = NDArray[Any]
Rng = Union[np.random.Generator, int, None]

__all__ = [
    "calculate_gain",
    "uniform",
    "normal",
    "constant",
    "zeros",
    "ones",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "orthogonal",
    "linear_bias",
]

_LINEAR = (
    "linear",
    "identity",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
)


def calculate_gain(nonlinearity: str, param: Optional[float] = None) -> float:
    """The recommended gain for a nonlinearity, as torch.nn.init.calculate_gain."""
    if nonlinearity in _LINEAR or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"negative_slope {slope!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


def _rng(rng):
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _fans(array):
    if array.ndim < 2:
        raise ValueError(
            f"fan in and fan out need an array of at least 2 dimensions, got shape {array.shape}"
        )
    receptive = int(np.prod(array.shape[2:])) if array.ndim > 2 else 1
    return array.shape[1] * receptive, array.shape[0] * receptive


def _fan(array, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(array)
    return fan_in if mode == "fan_in" else fan_out


# Values drawn at a time: the generator draws float64, and a float32 weight filled in
# one draw would need a temporary twice its size (and three times with the cast).
_CHUNK = 1 << 16


def _fill(array, draw):
    """array filled with draw(n) (float64 values), in chunks of _CHUNK: the same values
    as one draw of array.size, without a temporary of the array's size."""
    flat = array.reshape(-1) if array.flags.c_contiguous else None
    if flat is None or array.size <= _CHUNK:
        array[...] = draw(array.size).reshape(array.shape)
        return array
    for start in range(0, flat.size, _CHUNK):
        flat[start : start + _CHUNK] = draw(min(_CHUNK, flat.size - start))
    return array


def uniform(array: Array, a: float = 0.0, b: float = 1.0, rng: Rng = None) -> Array:
    """Fill with U(a, b), as torch.nn.init.uniform_."""
    gen = _rng(rng)
    return _fill(array, lambda n: gen.uniform(a, b, size=n))


def normal(array: Array, mean: float = 0.0, std: float = 1.0, rng: Rng = None) -> Array:
    """Fill with N(mean, std^2), as torch.nn.init.normal_."""
    gen = _rng(rng)
    return _fill(array, lambda n: gen.normal(mean, std, size=n))


def constant(array: Array, val: float) -> Array:
    """Fill with val, as torch.nn.init.constant_."""
    array[...] = val
    return array


def zeros(array: Array) -> Array:
    """Fill with 0, as torch.nn.init.zeros_."""
    return constant(array, 0.0)


def ones(array: Array) -> Array:
    """Fill with 1, as torch.nn.init.ones_."""
    return constant(array, 1.0)


def xavier_uniform(array: Array, gain: float = 1.0, rng: Rng = None) -> Array:
    """Glorot uniform, as torch.nn.init.xavier_uniform_: U(-a, a) with
    a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(array)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(array, -a, a, rng)


def xavier_normal(array: Array, gain: float = 1.0, rng: Rng = None) -> Array:
    """Glorot normal, as torch.nn.init.xavier_normal_: std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(array)
    return normal(array, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng)


def kaiming_uniform(
    array: Array, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", rng: Rng = None
) -> Array:
    """He uniform, as torch.nn.init.kaiming_uniform_: U(-b, b) with
    b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a).

    With a = sqrt(5) this is torch.nn.Linear's default weight initialisation
    (b = 1 / sqrt(fan_in)), fastmlp.MLP's default too."""
    gain = calculate_gain(nonlinearity, a)
    bound = gain * math.sqrt(3.0 / _fan(array, mode))
    return uniform(array, -bound, bound, rng)


def kaiming_normal(
    array: Array, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", rng: Rng = None
) -> Array:
    """He normal, as torch.nn.init.kaiming_normal_: std = gain / sqrt(fan)."""
    gain = calculate_gain(nonlinearity, a)
    return normal(array, 0.0, gain / math.sqrt(_fan(array, mode)), rng)


def orthogonal(array: Array, gain: float = 1.0, rng: Rng = None) -> Array:
    """A (semi-)orthogonal matrix times gain, as torch.nn.init.orthogonal_: the Q of a
    QR decomposition of a normal matrix, signs fixed by R's diagonal."""
    if array.ndim < 2:
        raise ValueError(f"orthogonal needs an array of at least 2 dimensions, got shape {array.shape}")
    rows = array.shape[0]
    cols = array.size // rows if rows else 0
    flat = _rng(rng).normal(0.0, 1.0, size=(rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    array[...] = (gain * q).reshape(array.shape)
    return array


def linear_bias(bias: Array, fan_in: int, rng: Rng = None) -> Array:
    """torch.nn.Linear's bias initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return uniform(bias, -bound, bound, rng)


# What MLP(init=name) applies to each weight (biases always get linear_bias).
INITIALIZERS = {
    "uniform": lambda w, rng: uniform(w, rng=rng),
    "normal": lambda w, rng: normal(w, rng=rng),
    "zeros": lambda w, rng: zeros(w),
    "ones": lambda w, rng: ones(w),
    "xavier_uniform": lambda w, rng: xavier_uniform(w, rng=rng),
    "xavier_normal": lambda w, rng: xavier_normal(w, rng=rng),
    "kaiming_uniform": lambda w, rng: kaiming_uniform(w, a=math.sqrt(5), rng=rng),
    "kaiming_normal": lambda w, rng: kaiming_normal(w, rng=rng),
    "orthogonal": lambda w, rng: orthogonal(w, rng=rng),
}

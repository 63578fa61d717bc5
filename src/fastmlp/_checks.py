"""Input checks shared by the model, the losses and the optimizers: every error is a
ValueError (or TypeError) that names the argument and its shape."""

import numbers

import numpy as np


def check_int(value, name, minimum, maximum=2**63 - 1):
    """value as an int in [minimum, maximum] (by default one that fits the C++ int64_t
    it is passed on as)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return int(value)


def check_bool(value, name):
    """value as a bool: True, False, a NumPy bool, 0 or 1 (not any object with a truth
    value, e.g. the string "no")."""
    if not isinstance(value, (bool, np.bool_)) and not (
        isinstance(value, numbers.Integral) and value in (0, 1)
    ):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_slope(value, name, dtype):
    """A finite number that stays finite in `dtype` (1e39 is inf in float32)."""
    value = check_number(value, name)
    if abs(value) > float(np.finfo(dtype).max):
        raise ValueError(f"{name} {value} overflows {np.dtype(dtype)} (at most {np.finfo(dtype).max:.4g})")
    return value


def check_number(value, name, minimum=None, maximum=None, *, open_max=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and (value >= maximum if open_max else value > maximum):
        raise ValueError(f"{name} must be {'<' if open_max else '<='} {maximum}, got {value}")
    return float(value)


def check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r} (expected one of: {', '.join(choices)})")
    return value


def instance_or_named(value, kind, base, by_name):
    """value if it is a `base` instance, a default `by_name[value]()` for a known name,
    else a ValueError listing the names (fastmlp.losses.get, fastmlp.optim.get)."""
    if isinstance(value, base):
        return value
    if isinstance(value, str) and value in by_name:
        return by_name[value]()
    raise ValueError(
        f"unknown {kind} {value!r} (expected a {base.__module__}.{base.__name__} or "
        f"one of: {', '.join(by_name)})"
    )


def as_float_array(X, name, dtype, *, ndim=None, finite=True, contiguous=True):
    """X as an array of `dtype`, C-contiguous if `contiguous` (a copy only if needed;
    with contiguous=False a strided view of the right dtype, even a zero-stride one of
    one row repeated, is passed on as it is)."""
    try:
        arr = np.asarray(X)
        if arr.dtype.kind not in "biuf":
            raise TypeError
        arr = np.ascontiguousarray(arr, dtype=dtype) if contiguous else arr.astype(dtype, copy=False)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers, got {type(X).__name__}") from None
    if ndim is not None and arr.ndim not in ndim:
        raise ValueError(f"{name} must be {' or '.join(f'{d}-D' for d in ndim)}, got shape {arr.shape}")
    if finite and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def check_features(X, name, n_features):
    """X (1-D for one sample, or 2-D) as 2-D with n_features columns."""
    X2 = X.reshape(1, -1) if X.ndim == 1 else X
    if X2.ndim != 2 or X2.shape[1] != n_features:
        raise ValueError(
            f"{name} has shape {X.shape} but the model takes {n_features} features "
            f"(expected ({n_features},) or (n_samples, {n_features}))"
        )
    return X2


def check_sample_weight(sample_weight, n_samples, dtype, name="sample_weight"):
    """sample_weight as a C-contiguous (n_samples,) array of `dtype`, or None.

    Weights must be finite and >= 0 with at least one positive: a weight is how many
    times its row counts (integer weights train as repeated rows), so a zero removes
    the row and all zeros leave nothing to learn from.
    """
    if sample_weight is None:
        return None
    # Checked after the conversion: what the engine reads must be finite and not all zero.
    w = as_float_array(sample_weight, name, dtype, finite=False)
    if w.shape != (n_samples,):
        raise ValueError(f"{name} has shape {w.shape}, expected ({n_samples},): one weight per sample")
    if not np.isfinite(w).all():
        raise ValueError(f"{name} contains NaN or inf (in {np.dtype(dtype)})")
    if (w < 0).any():
        raise ValueError(f"{name} has negative weights (e.g. {w[w < 0][0]}); weights must be >= 0")
    if not (w > 0).any():
        raise ValueError(f"{name} is all zero: no sample left to learn from")
    return w

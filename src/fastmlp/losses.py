"""Loss functions with PyTorch's definitions, computed in C++.

Each loss compares the network output (batch, n_outputs) with targets and averages
(``reduction="mean"``, the default) or sums (``"sum"``) as the torch.nn loss of the
same name does. Strings work wherever a loss is expected: ``"mse"``,
``"cross_entropy"``, ``"bce"`` (or ``"binary_cross_entropy"``), ``"poisson"``.

Sample weights
--------------
Every loss takes an optional ``sample_weight``, one non-negative weight w_i per row
(sample), with per-sample losses l_i (for mse and bce: summed over the outputs):

- ``reduction="sum"``: ``sum_i w_i l_i``;
- ``reduction="mean"``: ``sum_i w_i l_i / sum_i w_i`` (divided further by n_outputs
  for the elementwise losses mse and bce, as their unweighted mean is over elements).

The mean normalises by the weights' sum, as torch.nn.CrossEntropyLoss does with class
weights and as scikit-learn 1.9's MLP does per minibatch
(``sklearn/neural_network/_multilayer_perceptron.py``: ``deltas *= sample_weight``,
then gradients divided by ``sw_sum = sample_weight.sum()``). Unit weights give
exactly the unweighted loss, and an integer weight k counts its row k times.
"""

from typing import Any, Optional

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fastmlp import _core
from fastmlp._checks import as_float_array, check_choice, check_sample_weight, instance_or_named

__all__ = ["Loss", "MSELoss", "CrossEntropyLoss", "BCEWithLogitsLoss", "PoissonLoss", "get"]


class Loss:
    """Base class: a named loss with a reduction ("mean" or "sum")."""

    name = None

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = check_choice(reduction, "reduction", ("mean", "sum"))

    def __repr__(self):
        return f"{type(self).__name__}(reduction={self.reduction!r})"

    def __call__(
        self, input: ArrayLike, target: ArrayLike, sample_weight: Optional[ArrayLike] = None
    ) -> float:
        """The loss of ``input`` (batch, n_outputs) against ``target``, a float;
        ``sample_weight`` (batch,) weights the rows (see the module docstring)."""
        return self.forward_backward(input, target, sample_weight)[0]

    def gradient(
        self, input: ArrayLike, target: ArrayLike, sample_weight: Optional[ArrayLike] = None
    ) -> NDArray[Any]:
        """d loss / d input, an array of the shape of ``input``."""
        return self.forward_backward(input, target, sample_weight)[1]

    def forward_backward(self, input, target, sample_weight=None):
        """(loss, d loss / d input) in one pass."""
        x = np.asarray(input)
        if x.dtype not in (np.float32, np.float64):
            x = x.astype(np.float64)
        if x.ndim != 2:
            raise ValueError(f"input must be 2-D (batch, n_outputs), got shape {x.shape}")
        if x.shape[0] == 0:
            raise ValueError(f"input is an empty batch (shape {x.shape}): the loss of no sample is undefined")
        t = self.prepare_target(target, x.shape[0], x.shape[1], x.dtype, "target")
        w = check_sample_weight(sample_weight, x.shape[0], x.dtype)
        return _core._loss(self.name, self.reduction, x, t, w)

    def denominator(self, n_samples, n_outputs):
        """What "mean" divides the summed loss of n_samples x n_outputs outputs by;
        with sample weights, n_samples is their sum (the rows' weight)."""
        if self.reduction == "sum":
            return 1.0
        return float(n_samples) * (1 if self.name == "cross_entropy" else n_outputs)

    def prepare_target(self, y, n_samples, n_outputs, dtype, name="y"):
        """y as the C-contiguous array the C++ loss reads, after checking it."""
        y = as_float_array(y, name, dtype, ndim=(1, 2))
        if y.ndim == 1 and n_outputs == 1:
            y = y.reshape(-1, 1)
        if y.shape != (n_samples, n_outputs):
            raise ValueError(
                f"{name} has shape {y.shape}, expected ({n_samples}, {n_outputs})"
                + (f" or ({n_samples},)" if n_outputs == 1 else "")
                + f" for {n_samples} samples and {n_outputs} outputs"
            )
        return y


class MSELoss(Loss):
    """Mean squared error, as torch.nn.MSELoss: mean (or sum) of (input - target)**2
    over all elements. Targets: (batch, n_outputs), or (batch,) for one output."""

    name = "mse"


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy on logits, as torch.nn.BCEWithLogitsLoss:
    ``max(x, 0) - x*t + log(1 + exp(-|x|))`` per element (stable for any x), averaged
    over all elements. Targets in [0, 1], shape (batch, n_outputs) or (batch,)."""

    name = "bce"


class CrossEntropyLoss(Loss):
    """Cross-entropy on logits, as torch.nn.CrossEntropyLoss: ``logsumexp(x) - x[c]``
    per sample, averaged over samples.

    Targets are integer class labels of shape (batch,) in [0, n_classes), or class
    probabilities (one-hot or soft) of shape (batch, n_classes).
    """

    name = "cross_entropy"

    def prepare_target(self, y, n_samples, n_outputs, dtype, name="y"):
        arr = np.asarray(y)
        if arr.ndim == 2:
            return super().prepare_target(arr, n_samples, n_outputs, dtype, name)
        if arr.ndim != 1 or arr.dtype.kind not in "iub":
            raise ValueError(
                f"{name} for cross_entropy must be integer class labels of shape "
                f"({n_samples},) or probabilities of shape ({n_samples}, {n_outputs}), "
                f"got {arr.dtype} of shape {arr.shape}"
            )
        if arr.shape[0] != n_samples:
            raise ValueError(f"{name} has {arr.shape[0]} labels for {n_samples} samples")
        labels = np.ascontiguousarray(arr, dtype=np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= n_outputs):
            bad = labels[(labels < 0) | (labels >= n_outputs)][0]
            raise ValueError(
                f"{name} has label {bad} outside [0, {n_outputs}) (the model has {n_outputs} outputs)"
            )
        return labels


class PoissonLoss(Loss):
    """Half Poisson deviance on log-rates, scikit-learn's (``HalfPoissonLoss``, and
    ``MLPRegressor(loss="poisson")``): ``exp(x) - t*x + t*log(t) - t`` per element,
    averaged over all elements, for counts (or rates) t >= 0.

    It is ``torch.nn.PoissonNLLLoss(log_input=True, full=False)`` plus ``t*log(t) - t``,
    which does not depend on x: the same gradient ``exp(x) - t``, and 0 where the
    predicted rate exp(x) equals t. Targets: (batch, n_outputs), or (batch,) for one
    output.
    """

    name = "poisson"

    def prepare_target(self, y, n_samples, n_outputs, dtype, name="y"):
        y = super().prepare_target(y, n_samples, n_outputs, dtype, name)
        if (y < 0).any():
            raise ValueError(f"{name} for the poisson loss must be >= 0 (counts or rates), got {y[y < 0][0]}")
        return y


_BY_NAME = {
    "mse": MSELoss,
    "cross_entropy": CrossEntropyLoss,
    "bce": BCEWithLogitsLoss,
    "binary_cross_entropy": BCEWithLogitsLoss,
    "poisson": PoissonLoss,
}


def get(loss):
    """A Loss from a Loss instance or a name ("mse", "cross_entropy", "bce", "poisson")."""
    return instance_or_named(loss, "loss", Loss, _BY_NAME)

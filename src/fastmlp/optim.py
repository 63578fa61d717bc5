"""Optimizers with torch.optim's update formulas, computed in C++.

An optimizer keeps its state (momentum buffers, moment estimates, step count) between
calls, like torch.optim: pass the same instance to several ``fit``/``train_step``
calls to continue where it stopped. Strings work wherever an optimizer is expected:
``"sgd"``, ``"adam"``, ``"adamw"``, ``"rmsprop"`` (default settings).

Every optimizer also takes ``l1``: an L1 penalty ``l1 * sum(|p|)`` added to the loss,
i.e. ``l1 * sign(p)`` added to the gradient (before weight decay), and ``decay_bias``:
with ``decay_bias=False`` neither ``weight_decay`` nor ``l1`` touches the biases (1-D
parameters), as scikit-learn's ``alpha``; the default decays every parameter, as a
torch.optim optimizer with one parameter group does; and ``penalty_in_loss``: with
``penalty_in_loss=True`` the weight_decay and l1 penalties are terms of each
minibatch's summed loss, so a "mean" reduction divides them by the batch's
denominator like the loss (its number of samples, or its sum of sample weights, times
n_outputs for mse/bce). That is scikit-learn's ``alpha``, whose minibatch objective is
``(sum_i w_i l_i + alpha/2 ||W||^2) / sum_i w_i``; the default (False) adds them to
the reduced gradient unscaled, as torch.optim. ``step()`` has no loss: it never scales.
"""

import numpy as np

from fastmlp import _core
from fastmlp._aligned import aligned_copy, aligned_zeros
from fastmlp._checks import check_number, instance_or_named

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "get"]


class Optimizer:
    """Base class. ``steps`` counts the updates done; ``state`` holds, per parameter,
    the arrays the update keeps (see each subclass)."""

    kind = None
    state_names = ()
    penalty_in_loss = False  # class default: optimizers pickled before the option load

    def __init__(
        self,
        lr: float,
        weight_decay: float = 0.0,
        l1: float = 0.0,
        decay_bias: bool = True,
        penalty_in_loss: bool = False,
    ) -> None:
        self.lr = check_number(lr, "lr", 0.0)
        self.weight_decay = check_number(weight_decay, "weight_decay", 0.0)
        self.l1 = check_number(l1, "l1", 0.0)
        self.decay_bias = bool(decay_bias)
        self.penalty_in_loss = bool(penalty_in_loss)
        self.reset()

    def reset(self) -> None:
        """Forget the state: the next update is a first step."""
        self.steps = 0
        self.state = []
        self._params = None

    def config(self):
        """The hyperparameters, as the C++ update reads them."""
        return {
            "kind": self.kind,
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "l1": self.l1,
            "decay_bias": self.decay_bias,
            "penalty_in_loss": self.penalty_in_loss,
        }

    def _settings(self):
        """config() as the C++ engine takes it (a typed struct: a key it does not know is
        a TypeError instead of a silent default)."""
        return _core.OptimConfig(**self.config())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "kind")
        return f"{type(self).__name__}({args})"

    def step(self, params, grads):
        """Update ``params`` (a list of float arrays, in place) from ``grads`` (arrays
        of the same shapes), as ``torch.optim.Optimizer.step`` does after backward."""
        params, grads = list(params), list(grads)
        if len(params) != len(grads):
            raise ValueError(f"params has {len(params)} arrays but grads has {len(grads)}")
        for i, (p, g) in enumerate(zip(params, grads)):
            if not isinstance(p, np.ndarray) or p.dtype not in (np.float32, np.float64):
                raise ValueError(f"params[{i}] must be a float32 or float64 numpy array")
            if np.shape(g) != p.shape:
                raise ValueError(f"grads[{i}] has shape {np.shape(g)}, expected {p.shape}")
        grads = [np.ascontiguousarray(g, dtype=p.dtype) for p, g in zip(params, grads)]
        state = self._bind(params)
        _core._optimizer_step(self._settings(), self.steps + 1, params, grads, state)
        self.steps += 1

    def __setstate__(self, state):
        # Unpickled arrays start wherever NumPy put them; the state is updated in place
        # every step, so it goes back onto cache lines (fastmlp/_aligned.py).
        state["state"] = [[aligned_copy(a) for a in arrays] for arrays in state.get("state", [])]
        self.__dict__.update(state)

    def _moved_to(self, params):
        """Keep the state for the same parameters in new arrays (a model rebuilt after
        unpickling): later calls must pass ``params``."""
        if self._params is not None and [p.shape for p in params] != [p.shape for p in self._params]:
            raise ValueError("the new parameter arrays do not have the shapes of the old ones")
        self._params = list(params)

    def _bind(self, params):
        """The state arrays for params: created (zero) at first use; later calls must
        pass the same arrays (an optimizer serves one model, as in torch.optim)."""
        if self._params is None:
            self._params = list(params)
            self.state = [[aligned_zeros(p.shape, p.dtype) for _ in self.state_names] for p in params]
        elif len(params) != len(self._params) or any(a is not b for a, b in zip(params, self._params)):
            raise ValueError(
                f"this {type(self).__name__} already holds the state of other "
                "parameters; use a new optimizer (or call reset()) for another model"
            )
        return self.state


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, as torch.optim.SGD.

    ``g = grad + weight_decay * p``; with momentum ``buf = momentum * buf + (1 -
    dampening) * g`` (``buf = g`` at the first step) and ``g = buf`` (or ``g +
    momentum * buf`` if nesterov); then ``p -= lr * g``. State: ``momentum_buffer``.
    """

    kind = "sgd"
    state_names = ("momentum_buffer",)

    def __init__(
        self,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        l1: float = 0.0,
        decay_bias: bool = True,
        penalty_in_loss: bool = False,
    ) -> None:
        self.momentum = check_number(momentum, "momentum", 0.0)
        self.dampening = check_number(dampening, "dampening")
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("nesterov requires momentum > 0 and dampening = 0")
        super().__init__(lr, weight_decay, l1, decay_bias, penalty_in_loss)

    def config(self):
        return {
            **super().config(),
            "momentum": self.momentum,
            "dampening": self.dampening,
            "nesterov": self.nesterov,
        }


class Adam(Optimizer):
    """Adam, as torch.optim.Adam (L2 ``weight_decay`` added to the gradient).

    ``m = lerp(m, g, 1 - beta1)``, ``v = beta2 v + (1 - beta2) g^2``,
    ``p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)``.
    State: ``exp_avg``, ``exp_avg_sq``.

    eps_hat : bool, default False
        Where eps goes. False: torch.optim.Adam's placement above (Kingma & Ba's
        Algorithm 1, eps added to the bias-corrected sqrt(v_hat)). True: eps is Kingma
        & Ba's "epsilon hat" of the reordered update just before their section 2.1,
        as in scikit-learn's and Keras's Adam:
        ``p -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)``.
        The two agree for eps_hat = eps * sqrt(1 - beta2^t), so they differ early in
        training and when sqrt(v) is small compared with eps.
    """

    kind = "adam"
    state_names = ("exp_avg", "exp_avg_sq")
    eps_hat = False  # class default: optimizers pickled before the option load

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        l1: float = 0.0,
        decay_bias: bool = True,
        eps_hat: bool = False,
        penalty_in_loss: bool = False,
    ) -> None:
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (
            check_number(betas[0], "betas[0]", 0.0, 1.0, open_max=True),
            check_number(betas[1], "betas[1]", 0.0, 1.0, open_max=True),
        )
        self.eps = check_number(eps, "eps", 0.0)
        self.eps_hat = bool(eps_hat)
        super().__init__(lr, weight_decay, l1, decay_bias, penalty_in_loss)

    def config(self):
        return {
            **super().config(),
            "beta1": self.betas[0],
            "beta2": self.betas[1],
            "eps": self.eps,
            "eps_hat": self.eps_hat,
        }

    def __repr__(self):
        return (
            f"{type(self).__name__}(lr={self.lr!r}, betas={self.betas!r}, eps={self.eps!r}, "
            f"weight_decay={self.weight_decay!r}, l1={self.l1!r}, decay_bias={self.decay_bias!r}, "
            f"eps_hat={self.eps_hat!r}, penalty_in_loss={self.penalty_in_loss!r})"
        )


class AdamW(Adam):
    """Adam with decoupled weight decay, as torch.optim.AdamW: ``p *= 1 - lr *
    weight_decay`` before the Adam update."""

    kind = "adamw"

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        l1: float = 0.0,
        decay_bias: bool = True,
        eps_hat: bool = False,
        penalty_in_loss: bool = False,
    ) -> None:
        super().__init__(lr, betas, eps, weight_decay, l1, decay_bias, eps_hat, penalty_in_loss)


class RMSprop(Optimizer):
    """RMSprop, as torch.optim.RMSprop.

    ``s = alpha s + (1 - alpha) g^2``; centered: ``avg = sqrt(s - gbar^2) + eps`` with
    ``gbar = lerp(gbar, g, 1 - alpha)``, else ``avg = sqrt(s) + eps``; with momentum
    ``buf = momentum buf + g / avg; p -= lr buf``, else ``p -= lr g / avg``.
    State: ``square_avg``, ``momentum_buffer``, ``grad_avg``.
    """

    kind = "rmsprop"
    state_names = ("square_avg", "momentum_buffer", "grad_avg")

    def __init__(
        self,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        l1: float = 0.0,
        decay_bias: bool = True,
        penalty_in_loss: bool = False,
    ) -> None:
        self.alpha = check_number(alpha, "alpha", 0.0)
        self.eps = check_number(eps, "eps", 0.0)
        self.momentum = check_number(momentum, "momentum", 0.0)
        self.centered = bool(centered)
        super().__init__(lr, weight_decay, l1, decay_bias, penalty_in_loss)

    def config(self):
        return {
            **super().config(),
            "alpha": self.alpha,
            "eps": self.eps,
            "momentum": self.momentum,
            "centered": self.centered,
        }


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}


def get(optimizer):
    """An Optimizer from an instance (returned as is) or a name (default settings)."""
    return instance_or_named(optimizer, "optimizer", Optimizer, _BY_NAME)

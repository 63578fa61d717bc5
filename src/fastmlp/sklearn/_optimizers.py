"""fastmlp's SGD and Adam as the scikit-learn estimators' stochastic solvers.

The engine steps along gradients ``grad_scale`` times scikit-learn's (see _losses), so
its ``lr`` is in other units than scikit-learn's; these subclasses also carry
``learning_rate`` in scikit-learn's units, as its ``SGDOptimizer`` and
``AdamOptimizer`` expose it (``estimator._optimizer.learning_rate``, which users and
scikit-learn's own tests read).
"""

import math

from fastmlp import optim


class SGDOptimizer(optim.SGD):
    """optim.SGD whose rate is set in scikit-learn's units (``learning_rate``)."""

    def __init__(self, learning_rate, grad_scale, **kwargs):
        self.grad_scale = grad_scale
        super().__init__(lr=learning_rate / grad_scale, **kwargs)
        self.learning_rate = learning_rate

    def set_learning_rate(self, learning_rate):
        """The rate of the next updates (invscaling, adaptive), in scikit-learn's units."""
        lr = learning_rate / self.grad_scale
        # sklearn's velocity holds -lr * (momentum buffer) with the rate of the step
        # that made it, torch's SGD multiplies the buffer by the current rate: scaling
        # the buffers by old/new rate keeps sklearn's update when the rate changes.
        if self.lr != lr and self.momentum > 0:
            for slots in self.state:
                slots[0] *= self.lr / lr
        self.lr = lr
        self.learning_rate = learning_rate


class AdamOptimizer(optim.Adam):
    """optim.Adam (scikit-learn's epsilon-hat form) with scikit-learn's
    ``learning_rate``: the bias-corrected step size of the last update."""

    @property
    def learning_rate(self):
        t = self.steps
        if t == 0:
            return self.lr
        beta1, beta2 = self.betas
        return self.lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)

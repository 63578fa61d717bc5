"""scikit-learn's lbfgs solver for fastmlp's MLP estimators.

As ``BaseMultilayerPerceptron._fit_lbfgs`` (scikit-learn 1.9): the parameters packed
into one vector handed to ``scipy.optimize.minimize(method="L-BFGS-B", jac=True)`` with
``maxfun=max_fun``, ``maxiter=max_iter``, ``gtol=tol``, and scikit-learn's
ConvergenceWarning when it stops short. Each evaluation of the loss and its gradient is
one full-batch call of fastmlp's engine (forward, loss, backward; the GIL released).

The vector is float64 (scipy's dtype) in scikit-learn's packing order (every
``coefs_[i]`` raveled in its (fan_in, fan_out) layout, then every ``intercepts_[i]``),
so that scikit-learn's private ``_loss_grad_lbfgs`` is offered with its meaning; the
model keeps its own dtype (float32 or float64), converted at this boundary.
"""

import numpy as np
import scipy.optimize
from sklearn.utils.fixes import parse_version, sp_version
from sklearn.utils.optimize import _check_optimize_result

from fastmlp import losses
from fastmlp.sklearn._losses import LOSSES

# scipy 1.15 deprecated L-BFGS-B's iprint: scikit-learn passes it to older versions only.
_SCIPY_TAKES_IPRINT = sp_version < parse_version("1.15")


def _pack(coefs, intercepts):
    """scikit-learn's _pack, in float64."""
    return np.concatenate([np.ravel(a) for a in coefs + intercepts]).astype(np.float64, copy=False)


def _sklearn_order(grads):
    """The engine's gradients (weight0, bias0, weight1, ...; weights (out, in)) as one
    float64 vector in scikit-learn's packing."""
    return np.concatenate([g.T.ravel() for g in grads[0::2]] + grads[1::2]).astype(np.float64, copy=False)


def _summed_over_ranks(model, parallel, X, T, loss_name, sample_weight, weight):
    """A data-parallel fit's full-batch (mean loss, its gradient, weight) of every
    rank's shard: each rank's sums and weight in one MPI all-reduce, then divided by the
    global denominator, so that every rank's scipy sees the same numbers and takes the
    same steps. A rank that fails, or was interrupted (Ctrl-C, deferred to here by
    DataParallel.deferred_interrupts), still joins the all-reduce, and its flag stops
    every rank: that rank raises its error (or KeyboardInterrupt), the others a
    RuntimeError."""
    n_params = sum(p.size for p in model.parameters())
    buffer = np.zeros(n_params + 4)  # gradient sums, loss sum, weight, failed, interrupted
    error = None
    try:
        value, grads = model._engine.loss_and_grads(X, T, loss_name, "sum", sample_weight)
        buffer[:n_params] = _sklearn_order(grads)
        buffer[n_params : n_params + 2] = value, weight
    except Exception as e:  # noqa: BLE001 - re-raised below, after the all-reduce
        error = e
        buffer[-2] = 1
    interrupted = parallel.interrupted
    buffer[-1] = interrupted
    parallel.allreduce(buffer)
    if error is not None:
        raise error
    if interrupted:
        parallel.interrupted = False
        raise KeyboardInterrupt
    if buffer[-2] or buffer[-1]:
        why = "failed" if buffer[-2] else "was interrupted (Ctrl-C)"
        raise RuntimeError(f"fit: another rank {why} in lbfgs's loss and gradient; every rank stops")
    global_weight = buffer[n_params + 1]
    denominator = losses.get(loss_name).denominator(global_weight, model.n_outputs)
    return buffer[n_params] / denominator, buffer[:n_params] / denominator, global_weight


class LbfgsSolver:
    """The lbfgs solver of BaseMLP (a mixin: it reads the estimator's parameters)."""

    def _fit_lbfgs(self, X, Y, sample_weight):
        """sklearn's _fit_lbfgs from the current weights (X validated, Y encoded)."""
        data = self._engine_data(X, Y, sample_weight)
        options = {"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol}
        if _SCIPY_TAKES_IPRINT:
            options["iprint"] = 1 if self.verbose is True or self.verbose >= 1 else -1
        result = scipy.optimize.minimize(
            self._lbfgs_objective,
            _pack(self.coefs_, self.intercepts_),
            method="L-BFGS-B",
            jac=True,
            options=options,
            args=data,
        )
        self.n_iter_ = _check_optimize_result("lbfgs", result, self.max_iter)
        self.loss_ = result.fun
        self._unpack(result.x)
        if not all(np.isfinite(p).all() for p in self.coefs_ + self.intercepts_):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may "
                "contain large values and need to be preprocessed."
            )

    def _lbfgs_objective(self, packed, X, T, sample_weight):
        """scikit-learn's lbfgs objective at ``packed`` for data prepared by _engine_data:
        its data loss plus 0.5 alpha ||coefs||^2 / (sum of sample weights), and its
        gradient (for several squared-error outputs that is n_outputs times the gradient
        of the loss it reports, as in scikit-learn)."""
        self._unpack(packed)
        loss_name, report, grad_scale = LOSSES[self.out_activation_]
        k = self.n_outputs_
        parallel = getattr(self, "_parallel", None)
        weight = len(X) if sample_weight is None else float(np.sum(sample_weight, dtype=np.float64))
        if parallel is None:
            value, grads = self._model._engine.loss_and_grads(X, T, loss_name, "mean", sample_weight)
            grad = _sklearn_order(grads)
        else:
            value, grad, weight = _summed_over_ranks(
                self._model, parallel, X, T, loss_name, sample_weight, weight
            )
        grad /= grad_scale(k)
        n_coef = sum(c.size for c in self.coefs_)
        coef = packed[:n_coef]
        grad[:n_coef] += (self.alpha / weight) * coef
        return report(k) * value + 0.5 * self.alpha * float(np.dot(coef, coef)) / weight, grad

    def _loss_grad_lbfgs(self, packed_coef_inter, X, y, sample_weight, *workspace):
        """scikit-learn's private objective, as its test_gradient calls it: (loss, flat
        gradient) at ``packed_coef_inter`` (scikit-learn's packing) for X and the encoded
        targets y (label-binarized for classifiers). The parameters are left at
        ``packed_coef_inter``. ``workspace`` (scikit-learn's activations, deltas and
        gradient lists) is not needed: the engine has its own."""
        Y = np.reshape(y, (len(y), -1))
        return self._lbfgs_objective(packed_coef_inter, *self._engine_data(X, Y, sample_weight))

    def _unpack(self, packed):
        """Write ``packed`` into coefs_ and intercepts_, which are the engine's arrays
        (in place, converted to the model's dtype)."""
        start = 0
        for a in self.coefs_ + self.intercepts_:
            a[...] = packed[start : start + a.size].reshape(a.shape)
            start += a.size

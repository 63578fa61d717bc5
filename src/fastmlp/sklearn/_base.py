"""What MLPClassifier and MLPRegressor share: parameters, initialisation and the
epoch loop of scikit-learn's stochastic solvers on top of fastmlp.MLP.

The loop follows ``sklearn.neural_network._multilayer_perceptron.
BaseMultilayerPerceptron._fit_stochastic`` (scikit-learn 1.9) step for step; only
the epoch itself (shuffle, minibatches, forward, backward, update) is delegated to
``fastmlp.MLP.fit(epochs=1)`` with an optimizer object kept between epochs.
"""
import copy
import math
import warnings
from abc import ABC, abstractmethod
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from fastmlp import optim
from fastmlp.model import MLP

# scikit-learn's activation names, and ours (fastmlp's engine names them differently).
_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
                "leaky_relu": "leaky_relu", "gelu": "gelu"}

# Per output activation: (engine loss, factor turning the engine's "mean" loss into
# scikit-learn's, factor turning scikit-learn's per-batch gradient into the engine's),
# the last two as functions of the number of outputs k.
#   identity: sklearn reports 0.5 * mean squared error and steps along (f - y) / n, the
#     engine's MSELoss is mean((f - y)^2) with gradient 2 (f - y) / (n k).
#   logistic: sklearn sums the binary log-loss over outputs and averages over samples,
#     BCEWithLogitsLoss averages over both.
#   softmax: both average the cross-entropy over samples.
_LOSSES = {
    "identity": ("mse", lambda k: 0.5, lambda k: 2.0 / k),
    "logistic": ("bce", lambda k: float(k), lambda k: 1.0 / k),
    "softmax": ("cross_entropy", lambda k: 1.0, lambda k: 1.0),
}


class BaseMLP(BaseEstimator, ABC):
    """Shared implementation; use MLPClassifier or MLPRegressor."""

    # scikit-learn 1.9's BaseMultilayerPerceptron constraints, plus our activations
    # and the extras dropout and dtype.
    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(_ACTIVATIONS))],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "dtype": [StrOptions({"float32", "float64"}), None],
    }

    @abstractmethod
    def __init__(self, hidden_layer_sizes, activation, solver, alpha, batch_size,
                 learning_rate, learning_rate_init, power_t, max_iter, shuffle,
                 random_state, tol, verbose, warm_start, momentum, nesterovs_momentum,
                 early_stopping, validation_fraction, beta_1, beta_2, epsilon,
                 n_iter_no_change, max_fun, dropout, dtype):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.dtype = dtype

    # ---- what the subclasses define ----------------------------------------------------

    @abstractmethod
    def _validate_input(self, X, y, incremental, reset):
        """(X, Y): Y the 2-D float targets in scikit-learn's encoding (label-binarized
        for classifiers)."""

    @abstractmethod
    def _output_activation(self, Y):
        """out_activation_ for targets Y: identity, logistic or softmax."""

    @abstractmethod
    def _score(self, X, y, sample_weight=None):
        """The validation score early stopping monitors (accuracy or R^2)."""

    def _extra_sample_weight(self, y):
        """Per-sample weights implied by other parameters (class_weight), or None."""
        return None

    def _check_weighted_targets(self, Y, sample_weight):
        """Hook to refuse weights that leave nothing to learn (classifier)."""

    def _validation_targets(self, Y_val):
        """Y_val as _score takes it (classifiers decode the label binarization)."""
        return Y_val

    # ---- public API ----------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights, as in scikit-learn >= 1.7: the per-sample losses and
            gradients are weighted and each minibatch is normalised by its weight
            (see the class docstring for what the engine supports).

        Returns
        -------
        self : object
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _partial_fit(self, X, y, sample_weight):
        return self._fit(X, y, sample_weight, incremental=True)

    def _check_solver(self):
        # As scikit-learn: partial_fit exists only for stochastic solvers.
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Dense kernels only: sparse X is refused with a clear error (sklearn's MLP
        # accepts it; densifying silently could exhaust memory).
        tags.input_tags.sparse = False
        return tags

    # ---- the network ---------------------------------------------------------------

    def _raw_output(self, X):
        """Network output before the output activation, for validated X."""
        model = self._ensure_model()
        return model.predict(np.asarray(X, dtype=model.dtype))

    def _forward(self, X, check_input=True):
        """The network output after out_activation_ (sklearn's _forward_pass_fast)."""
        check_is_fitted(self, "coefs_")
        if check_input:
            X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        out = self._raw_output(X)
        if self.out_activation_ == "logistic":
            # exp of -|z| only, so that no exp overflows.
            e = np.exp(-np.abs(out))
            out = np.where(out >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(out.dtype, copy=False)
        elif self.out_activation_ == "softmax":
            out = out - out.max(axis=1, keepdims=True)
            np.exp(out, out=out)
            out /= out.sum(axis=1, keepdims=True)
        return out

    def _ensure_model(self):
        """The fastmlp.MLP holding the weights, rebuilt after unpickling and brought in
        line with coefs_/intercepts_ if a user assigned new arrays to them."""
        model = getattr(self, "_model", None)
        if model is None:
            units = [self.coefs_[0].shape[0]] + [c.shape[1] for c in self.coefs_]
            model = self._model = self._build_model(units, self.coefs_[0].dtype, self._seed)
            self._coef_views = self._intercept_views = None
            if getattr(self, "_optimizer", None) is not None and self._optimizer.state:
                # Keep the unpickled optimizer state (moments, velocities) for
                # partial_fit: point it at the new parameter arrays.
                self._optimizer._params = model.parameters()
        coef_views = getattr(self, "_coef_views", None) or [None] * len(model.layers)
        intercept_views = getattr(self, "_intercept_views", None) or [None] * len(model.layers)
        synced = False
        for i, layer in enumerate(model.layers):
            if self.coefs_[i] is not coef_views[i]:
                layer.weight = np.asarray(self.coefs_[i]).T
                synced = True
            if self.intercepts_[i] is not intercept_views[i]:
                layer.bias = self.intercepts_[i]
                synced = True
        if synced or len(self.coefs_) != len(model.layers):
            self._expose(model)
        return model

    def _expose(self, model):
        # coefs_ in scikit-learn's (fan_in, fan_out) layout are transposed views of
        # the engine's (out, in) weights: no copy, always current.
        self.coefs_ = [layer.weight.T for layer in model.layers]
        self.intercepts_ = [layer.bias for layer in model.layers]
        self._coef_views = list(self.coefs_)
        self._intercept_views = list(self.intercepts_)

    def _build_model(self, layer_units, dtype, seed):
        return MLP(layer_units, activation=_ACTIVATIONS[self.activation],
                   output_activation="identity", init="zeros", dropout=self.dropout,
                   dtype=dtype, seed=seed)

    def _initialize(self, Y, layer_units, dtype):
        # As sklearn's _initialize: attributes, then Glorot-uniform weights drawn from
        # self._random_state in sklearn's order and layout, so that the same
        # random_state starts from the same weights as scikit-learn's MLP.
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._output_activation(Y)
        factor = 2.0 if self.activation == "logistic" else 6.0
        coefs, intercepts = [], []
        for fan_in, fan_out in zip(layer_units, layer_units[1:]):
            bound = np.sqrt(factor / (fan_in + fan_out))
            coefs.append(self._random_state.uniform(-bound, bound, (fan_in, fan_out)))
            intercepts.append(self._random_state.uniform(-bound, bound, fan_out))
        # The engine's seed (shuffling, dropout) comes from the same random_state.
        self._seed = int(self._random_state.randint(np.iinfo(np.int32).max))
        model = self._model = self._build_model(layer_units, dtype, self._seed)
        for layer, c, b in zip(model.layers, coefs, intercepts):
            layer.weight = c.T
            layer.bias = b
        self._expose(model)
        self._best_coefs = [c.copy() for c in self.coefs_]
        self._best_intercepts = [b.copy() for b in self.intercepts_]
        self.loss_curve_ = []
        self.validation_loss_curve_ = [] if self.early_stopping else None
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _training_dtype(self, X):
        if self.dtype is not None:
            return np.dtype(self.dtype)
        return X.dtype  # as scikit-learn: float32 X trains in float32, else float64

    # ---- fit -----------------------------------------------------------------------

    def _fit(self, X, y, sample_weight, incremental):
        if self.solver == "lbfgs":
            raise NotImplementedError(
                "solver='lbfgs' is not implemented by fastmlp (its engine runs minibatch "
                "epochs); use solver='adam' or 'sgd', or sklearn.neural_network for lbfgs.")
        hidden = self.hidden_layer_sizes
        hidden = list(hidden) if hasattr(hidden, "__iter__") else [hidden]
        if np.any(np.array(hidden) <= 0):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {hidden}.")
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
        extra = self._extra_sample_weight(y)
        if extra is not None:
            sample_weight = extra if sample_weight is None else sample_weight * extra
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if not incremental and sample_weight is not None:
            self._check_weighted_targets(Y, sample_weight)
        self._random_state = check_random_state(self.random_state)
        layer_units = [X.shape[1]] + hidden + [Y.shape[1]]
        if first_pass:
            self._initialize(Y, layer_units, self._training_dtype(X))
            self._optimizer = None
        else:
            model = self._ensure_model()
            if list(model.layer_sizes) != layer_units:
                raise ValueError(
                    f"warm_start/partial_fit needs the architecture of the fitted model "
                    f"{list(model.layer_sizes)}, got {layer_units} (hidden_layer_sizes or "
                    f"the number of outputs changed); set warm_start=False to refit.")
            if (model.dropout != self.dropout
                    or model.get_config()["activation"] != [_ACTIVATIONS[self.activation]] * len(hidden)):
                self._rebuild_model()
        try:
            self._fit_stochastic(X, Y, sample_weight, incremental)
        except FloatingPointError as exc:
            # scikit-learn's message for the same failure, with the engine's detail.
            raise ValueError("Solver produced non-finite parameter weights. The input data "
                             f"may contain large values and need to be preprocessed. ({exc})") from exc
        return self

    def _rebuild_model(self):
        # set_params changed dropout or activation between warm-started fits: a new
        # engine with the current weights (as sklearn, which reads them at each fit).
        coefs = [c.copy() for c in self.coefs_]
        intercepts = [b.copy() for b in self.intercepts_]
        self._model = None
        self._optimizer = None
        self.coefs_, self.intercepts_ = coefs, intercepts
        self._ensure_model()

    def _make_optimizer(self):
        s = _LOSSES[self.out_activation_][2](self.n_outputs_)
        if self.solver == "sgd":
            # torch-style SGD with lr/s on gradients scaled by s is sklearn's update;
            # torch's nesterov (needs momentum > 0) equals sklearn's nesterov step.
            nesterov = self.nesterovs_momentum and self.momentum > 0
            return optim.SGD(lr=self.learning_rate_init / s, momentum=self.momentum,
                             nesterov=nesterov, decay_bias=False)
        # Adam is invariant to the gradient scale s except for eps: see _set_adam_epsilon.
        # decay_bias=False: sklearn's alpha penalises coefs_, not intercepts_.
        return optim.Adam(lr=self.learning_rate_init, betas=(self.beta_1, self.beta_2),
                          eps=self.epsilon * s, decay_bias=False)

    def _engine_data(self, X, Y, sample_weight):
        """(X, targets, weight_scale) as the engine trains on them.

        Weights are normalised to mean 1 (their mean, weight_scale, rescales alpha as
        sklearn's division by the batch weight does). Cross-entropy takes them exactly
        as weighted probability targets. The other losses have no per-sample weights
        in fastmlp.MLP yet: integer weights are applied as repetitions (what
        scikit-learn defines sample_weight to mean); other weights raise.
        """
        model = self._model
        loss = _LOSSES[self.out_activation_][0]
        X = np.asarray(X, dtype=model.dtype)
        Y = np.asarray(Y, dtype=model.dtype)
        if sample_weight is None:
            sample_weight = np.ones(len(X))
        scale = float(np.mean(sample_weight)) if len(X) else 1.0
        if scale <= 0:
            raise ValueError("Sample weights must contain at least one non-zero weight.")
        unit = bool(np.all(sample_weight == scale))
        if loss == "cross_entropy":
            if unit:
                return X, np.argmax(Y, axis=1), scale
            return X, Y * (sample_weight / scale)[:, None].astype(model.dtype), scale
        if unit and scale == 1.0:
            return X, Y, 1.0
        if np.all(sample_weight == np.round(sample_weight)):
            counts = sample_weight.astype(np.int64)
            return X.repeat(counts, axis=0), Y.repeat(counts, axis=0), 1.0
        raise NotImplementedError(
            f"non-integer sample_weight (or class_weight) with out_activation_="
            f"{self.out_activation_!r} needs per-sample weights in fastmlp.MLP's losses, "
            f"which it does not have yet; integer weights and softmax classification work.")

    def _fit_stochastic(self, X, Y, sample_weight, incremental):
        model = self._model
        if not incremental or getattr(self, "_optimizer", None) is None:
            self._optimizer = self._make_optimizer()
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        sw_val = None
        if early_stopping:
            # As sklearn: no stratification for multi-output/multilabel targets.
            stratify = Y if (is_classifier(self) and self.n_outputs_ == 1) else None
            parts = [X, Y] + ([sample_weight] if sample_weight is not None else [])
            parts = train_test_split(*parts, random_state=self._random_state,
                                     test_size=self.validation_fraction, stratify=stratify)
            X, X_val, Y, Y_val = parts[:4]
            if sample_weight is not None:
                sample_weight, sw_val = parts[4:]
            if X_val.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase "
                                 "'validation_fraction' or the size of your dataset.")
            y_val = self._validation_targets(Y_val)
            val_data = self._engine_data(X_val, Y_val, sw_val)
        n_samples = X.shape[0]
        X_fit, T_fit, weight_scale = self._engine_data(X, Y, sample_weight)
        n_fit = X_fit.shape[0]
        if n_fit == 0:
            raise ValueError("Sample weights must contain at least one non-zero weight.")
        if self.batch_size == "auto":
            batch_size = min(200, n_fit)
        else:
            if self.batch_size > n_fit:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. "
                              "It is going to be clipped")
            batch_size = int(np.clip(self.batch_size, 1, n_fit))
        loss_name, report, grad_scale = _LOSSES[self.out_activation_]
        report, grad_scale = report(self.n_outputs_), grad_scale(self.n_outputs_)
        # sklearn adds alpha * W / (batch weight) to each batch's gradient; the engine
        # adds weight_decay * W to its gradient, which is grad_scale times sklearn's.
        opt = self._optimizer
        opt.weight_decay = grad_scale * self.alpha / (batch_size * weight_scale)
        n_batches = math.ceil(n_fit / batch_size)
        l2_factor = 0.5 * self.alpha * n_batches / (n_fit * weight_scale)

        self.n_iter_ = 0
        try:
            for _ in range(self.max_iter):
                self._set_adam_epsilon(grad_scale)
                history = model.fit(X_fit, T_fit, loss=loss_name, optimizer=opt, epochs=1,
                                    batch_size=batch_size, shuffle=self.shuffle, verbose=False)
                self.n_iter_ += 1
                # sklearn's loss_: the running minibatch loss of the epoch plus each
                # batch's L2 term 0.5 alpha ||W||^2 / (batch weight), averaged over
                # samples; here with the weights at the end of the epoch.
                sq = sum(float(np.dot(w.ravel(), w.ravel())) for w in self.coefs_)
                self.loss_ = report * history["loss"][0] + l2_factor * sq
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
                if early_stopping:
                    self.validation_loss_curve_.append(
                        report * model.evaluate(val_data[0], val_data[1], loss_name))
                self._update_no_improvement_count(early_stopping, X_val if early_stopping else None,
                                                  y_val if early_stopping else None, sw_val)
                self._iteration_ends()
                if self._no_improvement_count > self.n_iter_no_change:
                    if early_stopping:
                        msg = ("Validation score did not improve more than tol=%f for %d "
                               "consecutive epochs." % (self.tol, self.n_iter_no_change))
                    else:
                        msg = ("Training loss did not improve more than tol=%f for %d "
                               "consecutive epochs." % (self.tol, self.n_iter_no_change))
                    if self._trigger_stopping(msg):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn("Stochastic Optimizer: Maximum iterations (%d) reached and "
                                  "the optimization hasn't converged yet." % self.max_iter,
                                  ConvergenceWarning)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        if early_stopping:
            for layer, c, b in zip(model.layers, self._best_coefs, self._best_intercepts):
                layer.weight = c.T
                layer.bias = b

    def _set_adam_epsilon(self, grad_scale):
        # sklearn adds epsilon to sqrt(v) before the bias correction (Kingma & Ba's
        # algorithm), PyTorch's Adam to sqrt(v_hat) after it: the same update if the
        # engine's eps is epsilon / sqrt(1 - beta_2^t). The engine takes one eps per
        # call, so this is exact for the first step of each epoch and close after it
        # (the factor tends to 1 as t grows); times grad_scale, for the gradient scale.
        if self.solver != "adam":
            return
        t = self._optimizer.steps + 1
        self._optimizer.eps = grad_scale * self.epsilon / math.sqrt(1.0 - self.beta_2 ** t)

    def _update_no_improvement_count(self, early_stopping, X_val, y_val, sw_val):
        # sklearn's rule, verbatim: count epochs that do not improve by tol.
        if early_stopping:
            val_score = self._score(X_val, y_val, sample_weight=sw_val)
            self.validation_scores_.append(val_score)
            if self.verbose:
                print("Validation score: %f" % self.validation_scores_[-1])
            last = self.validation_scores_[-1]
            if last < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if last > self.best_validation_score_:
                self.best_validation_score_ = last
                self._best_coefs = [c.copy() for c in self.coefs_]
                self._best_intercepts = [b.copy() for b in self.intercepts_]
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    def _iteration_ends(self):
        # sklearn's SGDOptimizer.iteration_ends: invscaling after every epoch, with
        # t_ the number of samples seen. The optimizer's lr is read at each epoch.
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            s = _LOSSES[self.out_activation_][2](self.n_outputs_)
            self._set_sgd_lr(self.learning_rate_init / (self.t_ + 1) ** self.power_t / s)

    def _set_sgd_lr(self, lr):
        # sklearn's velocity holds -lr * (momentum buffer) with the rate of the step
        # that made it, torch's SGD multiplies the buffer by the current rate: scaling
        # the buffers by old/new rate keeps sklearn's update when the rate changes.
        opt = self._optimizer
        if opt.lr != lr and opt.momentum > 0:
            for slots in opt.state:
                slots[0] *= opt.lr / lr
        opt.lr = lr

    def _trigger_stopping(self, msg):
        # sklearn's trigger_stopping: adaptive SGD divides the rate by 5 until 1e-6.
        if self.solver != "sgd" or self.learning_rate != "adaptive":
            if self.verbose:
                print(msg + " Stopping.")
            return True
        s = _LOSSES[self.out_activation_][2](self.n_outputs_)
        lr = self._optimizer.lr * s  # in sklearn's units
        if lr <= 1e-6:
            if self.verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self._set_sgd_lr(lr / 5.0 / s)
        if self.verbose:
            print(msg + " Setting learning rate to %f" % (lr / 5.0))
        return False

    def _score_with_function(self, X, y, sample_weight, score_function):
        y_pred = self._predict(X, check_input=False)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return score_function(y, y_pred, sample_weight=sample_weight)

    # ---- pickling ------------------------------------------------------------------

    def __getstate__(self):
        # The engine object is not picklable; coefs_/intercepts_ (pickled as arrays)
        # rebuild it on first use. The optimizer keeps its state arrays.
        state = super().__getstate__()
        state.pop("_model", None)
        state.pop("_coef_views", None)
        state.pop("_intercept_views", None)
        if state.get("_optimizer") is not None:
            opt = copy.copy(state["_optimizer"])
            opt._params = None
            state["_optimizer"] = opt
        return state

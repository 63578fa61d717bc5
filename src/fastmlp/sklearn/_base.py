"""What MLPClassifier and MLPRegressor share: parameters, initialisation and the
epoch loop of scikit-learn's stochastic solvers on top of fastmlp.MLP (the lbfgs
solver is in _lbfgs).

The loop follows ``sklearn.neural_network._multilayer_perceptron.
BaseMultilayerPerceptron._fit_stochastic`` (scikit-learn 1.9) step for step; only
the epoch itself (shuffle, minibatches, forward, backward, update) is delegated to
the engine (``fastmlp.MLP._train_epoch``, one C++ call on data converted once per
fit) with an optimizer object kept between epochs.
"""

import copy
import warnings
from abc import ABC, abstractmethod
from contextlib import nullcontext
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from fastmlp import losses, sparse
from fastmlp._checks import check_sample_weight
from fastmlp.distributed._mpi import DataParallel
from fastmlp.model import MLP, _weight
from fastmlp.sklearn._lbfgs import LbfgsSolver
from fastmlp.sklearn._losses import LOSSES as _LOSSES
from fastmlp.sklearn._optimizers import AdamOptimizer, SGDOptimizer

# Sparse X as scikit-learn's MLP takes it: CSR read as it is, CSC converted to CSR
# (validate_data keeps either; fastmlp.sparse converts CSC once per call). The first
# layer reads it without densifying.
ACCEPT_SPARSE = ["csr", "csc"]

# scikit-learn's activation names, and ours (fastmlp's engine names them differently).
_ACTIVATIONS = {
    "identity": "identity",
    "logistic": "sigmoid",
    "tanh": "tanh",
    "relu": "relu",
    "leaky_relu": "leaky_relu",
    "gelu": "gelu",
}


def _agreement(parallel, describe):
    """DataParallel.agreement("fit", describe) in a data-parallel fit (the block's
    target: every rank's own part of describe()), else a block that runs as it is."""
    return nullcontext([]) if parallel is None else parallel.agreement("fit", describe)


def _summed_classes(shards):
    """Every shard's classes (_shard_classes), per output: the labels of all shards,
    sorted, with their counts summed; None for regressors."""
    if shards[0] is None:
        return None
    summed = []
    for output in zip(*shards):
        labels = np.concatenate([lab for lab, _ in output])
        counts = np.concatenate([c for _, c in output])
        union, at = np.unique(labels, return_inverse=True)
        summed.append((union, np.bincount(at.ravel(), weights=counts, minlength=len(union))))
    return summed


def _engine_seed(random_state):
    """A seed for the engine's generator from a copy of random_state (which is not
    advanced)."""
    return int(copy.deepcopy(random_state).randint(np.iinfo(np.int32).max))


class BaseMLP(LbfgsSolver, BaseEstimator, ABC):
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
    def __init__(
        self,
        hidden_layer_sizes,
        activation,
        solver,
        alpha,
        batch_size,
        learning_rate,
        learning_rate_init,
        power_t,
        max_iter,
        shuffle,
        random_state,
        tol,
        verbose,
        warm_start,
        momentum,
        nesterovs_momentum,
        early_stopping,
        validation_fraction,
        beta_1,
        beta_2,
        epsilon,
        n_iter_no_change,
        max_fun,
        dropout,
        dtype,
    ):
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
        """(X, y) validated, y not yet encoded (_encode_targets)."""

    @abstractmethod
    def _encode_targets(self, y, incremental, classes=None):
        """Y, the targets in scikit-learn's encoding (label-binarized for classifiers);
        classes: every shard's (_shard_classes, summed) in a data-parallel fit."""

    def _shard_classes(self, y):
        """Classifiers: [(labels, counts)] per output of validated y, which a
        data-parallel fit sums over the ranks; None for regressors."""
        return None

    @abstractmethod
    def _output_activation(self, Y):
        """out_activation_ for targets Y: identity, exp, logistic or softmax."""

    # The validation score early stopping monitors (accuracy_score or r2_score).
    _score_function = None

    def _extra_sample_weight(self, y, classes=None):
        """Per-sample weights implied by other parameters (class_weight), or None;
        classes as _encode_targets takes them."""
        return None

    def _check_weighted_targets(self, Y, sample_weight):
        """Hook to refuse weights that leave nothing to learn (classifier)."""

    def _validation_targets(self, Y_val):
        """Y_val as _score takes it (classifiers decode the label binarization)."""
        return Y_val

    # ---- public API ----------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, comm=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights (>= 0), as in scikit-learn >= 1.7: the per-sample losses
            and gradients are weighted and each minibatch, its alpha term included,
            is normalised by its weight.
        comm : mpi4py.MPI.Comm, default=None
            Data-parallel training (fastmlp's extra; see ``MLP.fit``): every rank of
            comm calls fit with the same parameters and its own shard of the rows.
            Each step sums the ranks' gradients in one MPI all-reduce, so the global
            minibatch is ``batch_size`` rows of every shard ("auto": 200; all of a
            smaller shard's); lbfgs sums the full-batch loss and gradient of all
            shards, so every rank's scipy takes the same steps.
            The fit is one fit of all shards: the classes are those of every shard
            (``class_weight="balanced"`` counts them all), the initial weights rank
            0's, ``loss_curve_``, ``t_`` and the stopping rule those of all rows, and
            early stopping holds out ``validation_fraction`` of each shard and scores
            them together. Every rank ends with the same fitted attributes; bad input
            on one rank raises on every rank.

        Returns
        -------
        self : object
        """
        return self._fit(X, y, sample_weight, incremental=False, comm=comm)

    def _partial_fit(self, X, y, sample_weight, comm=None):
        return self._fit(X, y, sample_weight, incremental=True, comm=comm)

    def _check_solver(self):
        # As scikit-learn: partial_fit exists only for stochastic solvers.
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} is not stochastic."
            )
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # CSR/CSC X, read by the first layer's CSR kernel
        return tags

    # ---- the network ---------------------------------------------------------------

    def _raw_output(self, X):
        """Network output before the output activation, for validated X."""
        model = self._ensure_model()
        if sparse.issparse(X):
            return model.predict(X)
        return model.predict(np.asarray(X, dtype=model.dtype))

    def _forward(self, X, check_input=True):
        """The network output after out_activation_ (sklearn's _forward_pass_fast)."""
        check_is_fitted(self, "coefs_")
        if check_input:
            X = validate_data(
                self, X, accept_sparse=ACCEPT_SPARSE, dtype=(np.float64, np.float32), reset=False
            )
        out = self._raw_output(X)
        if self.out_activation_ == "logistic":
            # exp of -|z| only, so that no exp overflows.
            e = np.exp(-np.abs(out))
            out = np.where(out >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(out.dtype, copy=False)
        elif self.out_activation_ == "softmax":
            out = out - out.max(axis=1, keepdims=True)
            np.exp(out, out=out)
            out /= out.sum(axis=1, keepdims=True)
        elif self.out_activation_ == "exp":
            np.exp(out, out=out)
        return out

    def _ensure_model(self):
        """The fastmlp.MLP holding the weights, rebuilt after unpickling and brought in
        line with coefs_/intercepts_ if a user assigned new arrays to them."""
        model = getattr(self, "_model", None)
        if model is None:
            if getattr(self, "_seed", None) is None:
                # coefs_ set by hand, without a fit: the engine's seed (shuffling,
                # dropout) from random_state, as _initialize draws it.
                self._seed = _engine_seed(check_random_state(self.random_state))
            units = [self.coefs_[0].shape[0]] + [c.shape[1] for c in self.coefs_]
            model = self._model = self._build_model(units, self.coefs_[0].dtype, self._seed)
            self._coef_views = self._intercept_views = None
            if getattr(self, "_optimizer", None) is not None and self._optimizer.state:
                # Keep the unpickled optimizer state (moments, velocities) for
                # partial_fit: point it at the new parameter arrays.
                self._optimizer._moved_to(model.parameters())
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
        return MLP(
            layer_units,
            activation=_ACTIVATIONS[self.activation],
            output_activation="identity",
            init="zeros",
            dropout=self.dropout,
            dtype=dtype,
            seed=seed,
        )

    def _initialize(self, Y, layer_units, dtype, parallel=None):
        # As sklearn's _initialize: attributes, then Glorot-uniform weights drawn from
        # self._random_state in sklearn's order and layout, so that the same
        # random_state starts from the same weights as scikit-learn's MLP. In a
        # data-parallel fit every rank starts from rank 0's (random_state may be None).
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
        # The engine's seed (shuffling, dropout) comes from the same random_state, drawn
        # from a copy of it so that what sklearn draws next (early stopping's validation
        # split) is drawn from the same state as in sklearn: the same split.
        self._seed = _engine_seed(self._random_state)
        if parallel is not None:
            coefs, intercepts, self._seed = parallel.same_as_rank_0((coefs, intercepts, self._seed))
        model = self._model = self._build_model(layer_units, dtype, self._seed)
        for layer, c, b in zip(model.layers, coefs, intercepts):
            layer.weight = c.T
            layer.bias = b
        self._expose(model)
        self._best_coefs = [c.copy() for c in self.coefs_]
        self._best_intercepts = [b.copy() for b in self.intercepts_]
        if self.solver != "lbfgs":  # as sklearn: lbfgs has no curves nor best scores
            self._init_stochastic_attributes()

    def _init_stochastic_attributes(self):
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

    def _fit(self, X, y, sample_weight, incremental, comm=None):
        parallel = None
        if comm is not None:
            parallel = DataParallel(comm)
        # Ctrl-C on one rank must stop every rank together (DataParallel.deferred_interrupts).
        with nullcontext() if parallel is None else parallel.deferred_interrupts():
            self._parallel = parallel
            try:
                self._fit_shard(X, y, sample_weight, incremental, parallel)
            finally:
                del self._parallel
        return self

    def _fit_shard(self, X, y, sample_weight, incremental, parallel):
        """_fit's body; with parallel (a DataParallel), this rank's part."""
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        with _agreement(parallel, lambda: self._shard_description(X, y)) as shards:
            if self.solver == "lbfgs" and self.dropout > 0:
                raise ValueError(
                    f"dropout={self.dropout} needs a stochastic solver ('adam' or "
                    "'sgd'): lbfgs minimises the deterministic full-batch loss"
                )
            hidden = self.hidden_layer_sizes
            hidden = list(hidden) if hasattr(hidden, "__iter__") else [hidden]
            if np.any(np.array(hidden) <= 0):
                raise ValueError(f"hidden_layer_sizes must be > 0, got {hidden}.")
            X, y = self._validate_input(X, y, incremental, reset=first_pass)
            if sparse.issparse(X) and X.format != "csr":
                X = X.tocsr()  # once per fit, not again for each epoch's validation score
            if sample_weight is not None:
                sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
        classes = None if parallel is None else _summed_classes([c for _, c in shards])
        Y = self._encode_targets(y, incremental, classes)
        extra = self._extra_sample_weight(y, classes)
        if extra is not None:
            sample_weight = extra if sample_weight is None else sample_weight * extra
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if not incremental and sample_weight is not None and parallel is None:
            # Not in a data-parallel fit: one shard may rightly hold a single class.
            self._check_weighted_targets(Y, sample_weight)
        self._random_state = check_random_state(self.random_state)
        layer_units = [X.shape[1]] + hidden + [Y.shape[1]]
        if first_pass:
            self._initialize(Y, layer_units, self._training_dtype(X), parallel)
            self._optimizer = None
        else:
            model = self._ensure_model()
            if list(model.layer_sizes) != layer_units:
                raise ValueError(
                    f"warm_start/partial_fit needs the architecture of the fitted model "
                    f"{list(model.layer_sizes)}, got {layer_units} (hidden_layer_sizes or "
                    f"the number of outputs changed); set warm_start=False to refit."
                )
            if model.dropout != self.dropout or model.get_config()["activation"] != [
                _ACTIVATIONS[self.activation]
            ] * len(hidden):
                self._rebuild_model()
        try:
            if self.solver == "lbfgs":
                self._fit_lbfgs(X, Y, sample_weight)
            else:
                self._fit_stochastic(X, Y, sample_weight, incremental)
        except FloatingPointError as exc:
            # scikit-learn's message for the same failure, with the engine's detail.
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data "
                f"may contain large values and need to be preprocessed. ({exc})"
            ) from exc

    def _shard_description(self, X, y):
        """For a data-parallel fit's agreement: what every rank's shard must share, and
        what it tells the others (its rows and classes)."""
        same = {"X dtype": str(X.dtype), "n_features": X.shape[1], "y columns": np.shape(y)[1:]}
        return same, (X.shape[0], self._shard_classes(y))

    def _say(self, message):
        """verbose's print, on rank 0 only in a data-parallel fit."""
        parallel = getattr(self, "_parallel", None)
        if self.verbose and (parallel is None or parallel.rank == 0):
            print(message)

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
        # alpha enters the loss before its reduction (sklearn's batch objective is
        # (sum_i w_i l_i + alpha/2 ||W||^2) / sum_i w_i): penalty_in_loss divides it by
        # each batch's weight, as sklearn does, the partial last batch included.
        # decay_bias=False: sklearn's alpha penalises coefs_, not intercepts_.
        penalty = dict(decay_bias=False, penalty_in_loss=True)
        if self.solver == "sgd":
            # torch-style SGD with lr/s on gradients scaled by s is sklearn's update;
            # torch's nesterov (needs momentum > 0) equals sklearn's nesterov step.
            nesterov = self.nesterovs_momentum and self.momentum > 0
            return SGDOptimizer(
                self.learning_rate_init, s, momentum=self.momentum, nesterov=nesterov, **penalty
            )
        # sklearn's Adam: eps is Kingma & Ba's epsilon-hat (eps_hat); Adam is invariant
        # to the gradient scale s except for eps, which scales with it.
        return AdamOptimizer(
            lr=self.learning_rate_init,
            betas=(self.beta_1, self.beta_2),
            eps=self.epsilon * s,
            eps_hat=True,
            **penalty,
        )

    def _engine_data(self, X, Y, sample_weight):
        """(X, targets, sample_weight) as the engine trains on them: the model's dtype,
        C-contiguous (sparse X: a fastmlp CsrMatrix), converted once per fit. Softmax
        targets become class labels (the same loss as one-hot rows, without reading them)."""
        model = self._model
        if sparse.issparse(X):
            X = model._sparse_X(X, "X")
        else:
            X = np.ascontiguousarray(X, dtype=model.dtype)
        if self.out_activation_ == "softmax":
            T = np.ascontiguousarray(np.argmax(Y, axis=1), dtype=np.int64)
        else:
            T = np.ascontiguousarray(Y, dtype=model.dtype)
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, len(X), model.dtype)
        return X, T, sample_weight

    def _fit_stochastic(self, X, Y, sample_weight, incremental):
        model = self._model
        if not incremental or getattr(self, "_optimizer", None) is None:
            self._optimizer = self._make_optimizer()
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        if not hasattr(self, "loss_curve_"):  # warm start after an lbfgs fit
            self._init_stochastic_attributes()
        early_stopping = self.early_stopping
        parallel = self._parallel
        sw_val = X_val = y_val = None
        # The split, in a data-parallel fit: a shard too small to hold out a validation
        # set stops every rank; each tells the others how many rows it trains on.
        with _agreement(parallel, lambda: ({}, X.shape[0])) as train_rows:
            if early_stopping:
                X, Y, sample_weight, split = self._validation_split(X, Y, sample_weight)
        if early_stopping:
            X_val, Y_val, sw_val = split
            y_val = self._validation_targets(Y_val)
            if sw_val is not None and not np.any(sw_val > 0):
                sw_val = None  # no weight left to score with: score unweighted
            val_data = self._engine_data(X_val, Y_val, sw_val)
        n_samples = X.shape[0]
        # sklearn's counts of samples (loss_, t_) are of all shards'.
        total_samples = n_samples if parallel is None else sum(train_rows)
        X_fit, T_fit, w_fit = self._engine_data(X, Y, sample_weight)
        # Each rank of a data-parallel fit clips the same batch_size to its own rows (the
        # engine, DataParallel.plan and global_batch_rows do), so it is not clipped here.
        if self.batch_size == "auto":
            batch_size = min(200, n_samples) if parallel is None else 200
        else:
            if self.batch_size > n_samples:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped"
                )
            batch_size = int(np.clip(self.batch_size, 1, n_samples)) if parallel is None else self.batch_size
        loss_name, report, grad_scale = _LOSSES[self.out_activation_]
        report, grad_scale = report(self.n_outputs_), grad_scale(self.n_outputs_)
        loss = losses.get(loss_name)
        opt = self._optimizer
        # The engine's gradient is grad_scale times sklearn's, whose alpha term is
        # alpha W / (batch weight); with penalty_in_loss the engine divides weight_decay
        # by the batch's "mean" denominator: the batch weight, times n_outputs for the
        # elementwise losses (mse, bce).
        elementwise = 1 if loss_name == "cross_entropy" else self.n_outputs_
        opt.weight_decay = grad_scale * self.alpha * elementwise
        state = opt._bind(model.parameters())
        # Row counts of the minibatches (sklearn's gen_batches; in a data-parallel fit,
        # of the global ones), which weigh each batch's loss in sklearn's loss_.
        shards = [n_samples]
        if parallel is not None:
            parallel.plan(train_rows, batch_size)
            shards = train_rows
        batch_rows = DataParallel.global_batch_rows(shards, batch_size).astype(float)

        self.n_iter_ = 0
        try:
            for _ in range(self.max_iter):
                epoch = model._train_epoch(
                    X_fit, T_fit, w_fit, loss, opt, state, batch_size, self.shuffle, parallel
                )
                if not epoch.finite:
                    if not early_stopping:  # sklearn ends with non-finite weights: its error
                        raise FloatingPointError(f"the loss became NaN or inf at epoch {self.n_iter_ + 1}")
                    self._record_divergence(total_samples)
                    break
                self.n_iter_ += 1
                self.loss_ = self._epoch_loss(epoch, batch_rows, report, grad_scale, total_samples)
                self.t_ += total_samples
                self.loss_curve_.append(self.loss_)
                self._say("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
                val_loss = self._after_epoch(loss, val_data if early_stopping else None)
                if early_stopping:
                    self.validation_loss_curve_.append(report * val_loss)
                self._update_no_improvement_count(early_stopping, X_val, y_val, sw_val)
                self._iteration_ends()
                if self._no_improvement_count > self.n_iter_no_change:
                    if early_stopping:
                        msg = (
                            "Validation score did not improve more than tol=%f for %d "
                            "consecutive epochs." % (self.tol, self.n_iter_no_change)
                        )
                    else:
                        msg = "Training loss did not improve more than tol=%f for %d consecutive epochs." % (
                            self.tol,
                            self.n_iter_no_change,
                        )
                    if self._trigger_stopping(msg):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations (%d) reached and "
                        "the optimization hasn't converged yet." % self.max_iter,
                        ConvergenceWarning,
                    )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        if early_stopping:
            for layer, c, b in zip(model.layers, self._best_coefs, self._best_intercepts):
                layer.weight = c.T
                layer.bias = b

    def _after_epoch(self, loss, val_data):
        """The validation loss (its reduction) on val_data (None: no validation) after an
        epoch; in a data-parallel fit, of every shard's, and the ranks' weights checked
        equal."""
        model, parallel = self._model, self._parallel
        if parallel is None:
            return (
                None if val_data is None else model.evaluate(*val_data[:2], loss, sample_weight=val_data[2])
            )
        sums = None
        if val_data is not None:
            X_val, T_val, w_val = val_data
            sums = (model._engine.evaluate(X_val, T_val, loss.name, w_val), _weight(X_val, w_val))
        total = parallel.after_epoch(model.parameters(), sums)
        return None if total is None else total[0] / loss.denominator(total[1], self.n_outputs_)

    def _validation_split(self, X, Y, sample_weight):
        """sklearn's early-stopping split: (X, Y, sample_weight, (X_val, Y_val, sw_val))."""
        # As sklearn: no stratification for multi-output/multilabel targets.
        stratify = Y if (is_classifier(self) and self.n_outputs_ == 1) else None
        parts = [X, Y] + ([sample_weight] if sample_weight is not None else [])
        parts = train_test_split(
            *parts, random_state=self._random_state, test_size=self.validation_fraction, stratify=stratify
        )
        X, X_val, Y, Y_val = parts[:4]
        sample_weight, sw_val = parts[4:] if sample_weight is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' or the size of your dataset."
            )
        return X, Y, sample_weight, (X_val, Y_val, sw_val)

    def _record_divergence(self, n_samples):
        """With early stopping, a non-finite loss ends training as it does scikit-learn's
        (whose weights become NaN, its later validation scores NaN, and which keeps its
        best weights): the epoch is recorded with a NaN loss and a NaN validation score,
        and the weights of the best validation score are restored. The engine stopped
        before the non-finite update, so training stops here instead of running NaN
        epochs to max_iter."""
        self.n_iter_ += 1
        self.t_ += n_samples
        self.loss_ = np.nan
        self.loss_curve_.append(np.nan)
        self.validation_loss_curve_.append(np.nan)
        self.validation_scores_.append(np.nan)
        warnings.warn(
            f"The loss became NaN or inf at iteration {self.n_iter_}: training stopped "
            "and the weights with the best validation score were restored.",
            ConvergenceWarning,
        )

    def _epoch_loss(self, epoch, batch_rows, report, grad_scale, n_samples):
        """sklearn's loss_: each minibatch's loss (weighted mean loss plus its L2 term
        0.5 alpha ||W||^2 / (batch weight), with the weights before the batch's update)
        weighted by its number of rows, over the samples. The engine's batch penalty is
        grad_scale times sklearn's L2 term (its weight_decay is in gradient units)."""
        rows = batch_rows[: len(epoch.batch_loss)]
        per_batch = report * epoch.batch_loss + epoch.batch_penalty / grad_scale
        return float(np.dot(rows, per_batch)) / n_samples

    def _update_no_improvement_count(self, early_stopping, X_val, y_val, sw_val):
        # sklearn's rule, verbatim: count epochs that do not improve by tol.
        if early_stopping:
            val_score = self._validation_score(X_val, y_val, sw_val)
            self.validation_scores_.append(val_score)
            self._say("Validation score: %f" % self.validation_scores_[-1])
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
            self._optimizer.set_learning_rate(self.learning_rate_init / (self.t_ + 1) ** self.power_t)

    def _trigger_stopping(self, msg):
        # sklearn's trigger_stopping: adaptive SGD divides the rate by 5 until 1e-6.
        if self.solver != "sgd" or self.learning_rate != "adaptive":
            self._say(msg + " Stopping.")
            return True
        lr = self._optimizer.learning_rate
        if lr <= 1e-6:
            self._say(msg + " Learning rate too small. Stopping.")
            return True
        self._optimizer.set_learning_rate(lr / 5.0)
        self._say(msg + " Setting learning rate to %f" % (lr / 5.0))
        return False

    def _validation_score(self, X_val, y_val, sw_val):
        """The score early stopping monitors; in a data-parallel fit, of every shard's
        validation rows together (gathered to every rank: a tenth of the data by
        default, once an epoch), so that it is scikit-learn's score of them all."""
        parallel = self._parallel
        if parallel is None:
            return self._score(X_val, y_val, sample_weight=sw_val)
        y_pred = self._predict(X_val, check_input=False)
        y_all, pred_all, w_all = parallel.concatenated((y_val, y_pred, sw_val))
        return self._score_of_predictions(y_all, pred_all, w_all)

    def _score(self, X, y, sample_weight=None):
        """The validation score early stopping monitors, of validated X."""
        return self._score_of_predictions(y, self._predict(X, check_input=False), sample_weight)

    def _score_of_predictions(self, y, y_pred, sample_weight):
        """_score_function of predictions y_pred; NaN if they are not finite."""
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return self._score_function(y, y_pred, sample_weight=sample_weight)

    # ---- export --------------------------------------------------------------------

    def to_onnx(self, path):
        """Write the fitted network to `path` as an ONNX graph (opset 17) that computes
        what this estimator predicts; needs ``pip install 'fastmlp[onnx]'``.

        Input ``"X"``: (batch, n_features) in the network's dtype (float64, or float32
        with ``dtype="float32"`` or float32 training data); batch is dynamic. Outputs,
        named as skl2onnx names them (without its ZipMap):

        - MLPClassifier: ``"label"``, what ``predict`` returns ((batch,) class labels;
          (batch, n_classes) int64 indicators for multilabel targets), and
          ``"probabilities"``, what ``predict_proba`` returns (batch, n_classes).
        - MLPRegressor: ``"variable"``, what ``predict`` returns as (batch, n_outputs)
          (exp of the network's output for ``loss="poisson"``).

        Raises NotFittedError before a fit. Written atomically: a failure leaves no
        partial file. See ``fastmlp.onnx`` for the graph.
        """
        check_is_fitted(self, "coefs_")
        from fastmlp.onnx import export_estimator

        export_estimator(self, path)

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

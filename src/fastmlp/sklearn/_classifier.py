"""MLPClassifier: scikit-learn's MLPClassifier trained by fastmlp."""

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from fastmlp.sklearn._base import ACCEPT_SPARSE, BaseMLP


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier, a drop-in for
    ``sklearn.neural_network.MLPClassifier`` trained by fastmlp's C++ engine.

    The parameters, their defaults and the fitted attributes are scikit-learn 1.9's;
    see its documentation for each. Training follows scikit-learn's solvers (lbfgs,
    sgd, adam): the same Glorot-uniform initialisation drawn from ``random_state``, the
    same loss (log-loss with ``alpha`` L2 penalty divided by the batch weight), the
    same L-BFGS-B calls, the same Adam/SGD updates and learning-rate schedules, the same stopping rule on
    ``tol``/``n_iter_no_change`` and the same early stopping on the validation
    accuracy. Softmax output for multiclass, a logistic output per label for binary
    and multilabel targets.

    Differences from scikit-learn
    -----------------------------
    - Sparse X is refused (dense kernels only).
    - ``solver="lbfgs"`` is scikit-learn's (scipy's L-BFGS-B on the full-batch loss,
      its gradient from the engine); with ``dtype="float32"`` the parameters are float32
      (scipy works on a float64 copy), where scikit-learn's lbfgs returns float64 ones.
      ``dropout`` needs a stochastic solver.
    - With ``early_stopping=True``, a loss that becomes NaN or inf ends the fit at that
      epoch (a NaN validation score recorded, the best weights restored, a
      ConvergenceWarning); scikit-learn trains on with NaN weights until ``max_iter``
      and then restores the same best weights. Without early stopping both raise
      ValueError.
    - Shuffling and dropout come from the engine's generator seeded from
      ``random_state``, so minibatches differ from scikit-learn's (not the init).
      With ``shuffle=False`` the updates, ``loss_curve_`` and the weights are
      scikit-learn's to rounding (float64), minibatches, ``alpha`` and
      ``sample_weight`` included.
    - Negative ``sample_weight`` raises ValueError.

    ``sample_weight`` (and ``class_weight``) follow scikit-learn 1.9 for every output
    (softmax, binary and multilabel logistic): each minibatch's loss and gradient are
    ``sum_i w_i l_i / sum_i w_i`` and the ``alpha`` term is divided by the same
    batch weight; the engine carries the weights with their rows through its shuffle.

    Extra parameters
    ----------------
    activation : also "leaky_relu" (slope 0.01) and "gelu".
    dropout : float in [0, 1), default=0.0
        Inverted dropout on the hidden layers during training.
    dtype : {"float32", "float64"} or None, default=None
        Training precision; None follows X like scikit-learn (float32 X trains in
        float32, anything else in float64). float32 is about twice as fast.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, as in other scikit-learn classifiers
        (``compute_sample_weight``; for multilabel targets the product over labels),
        applied as per-sample weights and multiplied with ``sample_weight``.

    Extra attributes
    ----------------
    validation_loss_curve_ : list or None
        With early_stopping, the loss (without the L2 term) on the validation split
        after each epoch.
    """

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    _score_function = staticmethod(accuracy_score)

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        dtype=None,
        class_weight=None,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            dropout=dropout,
            dtype=dtype,
        )
        self.class_weight = class_weight

    def _validate_input(self, X, y, incremental, reset):
        # sklearn's MLPClassifier._validate_input, up to the label binarization
        # (_encode_targets).
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=ACCEPT_SPARSE,
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _shard_classes(self, y):
        # Per output: one for labels, one per column for multilabel indicators.
        columns = [y] if y.ndim == 1 else list(np.asarray(y).T)
        return [np.unique(c, return_counts=True) for c in columns]

    def _encode_targets(self, y, incremental, classes=None):
        # The rest of sklearn's MLPClassifier._validate_input, with the labels of every
        # shard when classes is given (multilabel indicators: their columns, as sklearn).
        labels = None if classes is None or y.ndim > 1 else classes[0][0]
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y if labels is None else labels)
            self.classes_ = self._label_binarizer.classes_
        else:
            present = unique_labels(y) if labels is None else labels
            if self.warm_start:
                if set(present) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in "
                        f"the previous call to fit. Previously got {self.classes_}, `y` has {present}"
                    )
            elif len(np.setdiff1d(present, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {present}."
                )
        # bool, as sklearn (its messages name the binarized classes True/False).
        return self._label_binarizer.transform(y).astype(bool)

    def _output_activation(self, Y):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _extra_sample_weight(self, y, classes=None):
        if self.class_weight is None:
            return None
        if self.class_weight == "balanced" and classes is not None:
            # compute_sample_weight's "balanced" (per output, multiplied), from the
            # counts of every shard.
            balanced = [
                dict(zip(labels.tolist(), (counts.sum() / (len(labels) * counts)).tolist()))
                for labels, counts in classes
            ]
            return compute_sample_weight(balanced[0] if len(balanced) == 1 else balanced, np.asarray(y))
        return compute_sample_weight(self.class_weight, np.asarray(y))

    def _check_weighted_targets(self, Y, sample_weight):
        # Weights that remove all samples of every class but one leave nothing to
        # separate: say so (scikit-learn's check_classifiers_one_label_sample_weights).
        if len(self.classes_) > 1:
            kept = Y[sample_weight > 0]
            labels = kept.argmax(axis=1) if Y.shape[1] > 1 else kept[:, 0]
            if self._label_binarizer.y_type_ != "multilabel-indicator" and len(np.unique(labels)) < 2:
                raise ValueError(
                    "Only one class has a positive sample_weight; a classifier "
                    "needs samples of at least 2 classes."
                )

    def _validation_targets(self, Y_val):
        return self._label_binarizer.inverse_transform(Y_val)

    def predict(self, X):
        """Predict using the multi-layer perceptron classifier.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self._predict(X)

    def _predict(self, X, check_input=True):
        y_pred = self._forward(X, check_input=check_input)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return self._label_binarizer.inverse_transform(y_pred)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None, comm=None):
        """Update the model with a single iteration over the given data.

        As scikit-learn: ``classes`` is required at the first call (except for
        multilabel targets). ``comm``: one data-parallel epoch, as in ``fit``.
        """
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._partial_fit(X, y, sample_weight, comm)

    def predict_proba(self, X):
        """Probability estimates, shape (n_samples, n_classes)."""
        check_is_fitted(self)
        y_pred = self._forward(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def predict_log_proba(self, X):
        """Log of the probability estimates (``np.log(predict_proba(X))``, as sklearn)."""
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

"""MLPRegressor: scikit-learn's MLPRegressor trained by fastmlp."""

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from fastmlp.sklearn._base import ACCEPT_SPARSE, BaseMLP


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor, a drop-in for
    ``sklearn.neural_network.MLPRegressor`` trained by fastmlp's C++ engine.

    The parameters, their defaults and the fitted attributes are scikit-learn 1.9's;
    training follows its solvers, lbfgs, sgd and adam (see MLPClassifier for the
    details and the few differences). The losses are scikit-learn's, plus
    ``0.5 * alpha * ||W||^2`` divided by the batch weight, for any number of outputs:

    - ``loss="squared_error"``: half the mean squared error, identity output;
    - ``loss="poisson"``: the half Poisson deviance ``exp(z) - y z + y log y - y``
      summed over outputs, with the exp output (``out_activation_ == "exp"``): the
      network predicts log-rates z and ``predict`` returns the rates exp(z). The
      targets must be >= 0 (a ValueError says so; scikit-learn would train on NaN).

    ``sample_weight`` is scikit-learn 1.9's: each minibatch's loss and gradient are
    ``sum_i w_i l_i / sum_i w_i``, and the ``alpha`` term is divided by the same
    batch weight.

    Extra parameters: ``activation`` "leaky_relu"/"gelu", ``dropout``, ``dtype``
    (see MLPClassifier); extra attribute ``validation_loss_curve_``.
    """

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    _score_function = staticmethod(r2_score)

    def __init__(
        self,
        loss="squared_error",
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
        self.loss = loss

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=ACCEPT_SPARSE,
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and (y < 0).any():
            raise ValueError(
                f"loss='poisson' needs targets y >= 0 (counts or rates); y has "
                f"{int((y < 0).sum())} negative values, e.g. {y[y < 0][0]}"
            )
        return X, y

    def _encode_targets(self, y, incremental, classes=None):
        return y

    def _output_activation(self, Y):
        return "exp" if self.loss == "poisson" else "identity"

    def predict(self, X):
        """Predict using the multi-layer perceptron model.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        check_is_fitted(self)
        return self._predict(X)

    def _predict(self, X, check_input=True):
        y_pred = self._forward(X, check_input=check_input)
        if y_pred.shape[1] == 1:
            return y_pred.ravel()
        return y_pred

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, comm=None):
        """Update the model with a single iteration over the given data (``comm``: one
        data-parallel epoch, as in ``fit``)."""
        return self._partial_fit(X, y, sample_weight, comm)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

"""A diverging loss, with and without early stopping, as scikit-learn handles it."""

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn import neural_network as sk_nn  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from fastmlp.sklearn import MLPRegressor  # noqa: E402

X_IRIS, Y_IRIS = load_iris(return_X_y=True)
# scikit-learn's test_mlp_diverging_loss: a linear network and a rate of 1 diverge.
DIVERGING = dict(
    hidden_layer_sizes=100,
    activation="identity",
    solver="sgd",
    learning_rate_init=1,
    max_iter=20,
    n_iter_no_change=10,
    random_state=0,
)


def test_early_stopping_keeps_the_best_finite_weights():
    kw = dict(DIVERGING, early_stopping=True, shuffle=False)
    with pytest.warns(ConvergenceWarning, match="loss became NaN or inf"):
        ours = MLPRegressor(**kw).fit(X_IRIS, Y_IRIS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # overflow RuntimeWarnings, max_iter reached
        ref = sk_nn.MLPRegressor(**kw).fit(X_IRIS, Y_IRIS)
    last = ours.validation_scores_[-1]
    assert isinstance(last, float) and np.isnan(last) and np.isnan(ref.validation_scores_[-1])
    assert np.isnan(ours.loss_) and np.isnan(ours.loss_curve_[-1])
    assert len(ours.validation_scores_) == len(ours.loss_curve_) == ours.n_iter_
    assert len(ours.validation_loss_curve_) == ours.n_iter_
    # Without shuffling both run the same epochs until the divergence: the same best
    # score, and the same weights restored.
    assert ours.best_validation_score_ == pytest.approx(ref.best_validation_score_, rel=1e-9)
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert np.isfinite(ours.predict(X_IRIS)).all()


def test_without_early_stopping_the_error_stays():
    # scikit-learn ends with non-finite weights and raises this ValueError.
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
        MLPRegressor(**DIVERGING).fit(X_IRIS, Y_IRIS)

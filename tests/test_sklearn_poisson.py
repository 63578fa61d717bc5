"""MLPRegressor(loss="poisson") against scikit-learn's."""

import numpy as np
import pytest

pytest.importorskip("sklearn")
from conftest import quiet_fit  # noqa: E402
from sklearn import neural_network as sk_nn  # noqa: E402
from sklearn.linear_model import PoissonRegressor  # noqa: E402

from fastmlp.sklearn import MLPRegressor  # noqa: E402


def _counts(n_outputs, n=150):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 5))
    y = rng.poisson(np.exp(0.5 * X[:, :n_outputs] - 0.2)).astype(float)
    return X, (y.ravel() if n_outputs == 1 else y)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("n_outputs", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_stochastic_solvers_follow_sklearn(solver, n_outputs, weighted):
    # No shuffle: the same minibatches, so the same updates and loss_curve_ to rounding.
    X, y = _counts(n_outputs)
    w = np.random.default_rng(1).random(len(X)) * 3 if weighted else None
    kw = dict(
        loss="poisson",
        solver=solver,
        shuffle=False,
        batch_size=32,
        hidden_layer_sizes=(8,),
        max_iter=8,
        random_state=0,
        alpha=0.5,
        learning_rate_init=0.01,
        tol=0,
    )
    ours = quiet_fit(MLPRegressor(**kw), X, y, sample_weight=w)
    ref = quiet_fit(sk_nn.MLPRegressor(**kw), X, y, sample_weight=w)
    assert ours.out_activation_ == ref.out_activation_ == "exp"
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-10)
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-9)


def test_lbfgs_follows_sklearn():
    X, y = _counts(1)
    kw = dict(loss="poisson", solver="lbfgs", hidden_layer_sizes=(8,), max_iter=10, random_state=0)
    ours = quiet_fit(MLPRegressor(**kw), X, y)
    ref = quiet_fit(sk_nn.MLPRegressor(**kw), X, y)
    np.testing.assert_allclose(ours.loss_, ref.loss_, rtol=1e-8)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-6)


def test_no_hidden_nonlinearity_is_the_poisson_glm():
    # scikit-learn's own check: one identity hidden unit makes a GLM with a log link.
    rng = np.random.default_rng(42)
    X = np.linspace(0, 1, 100)
    y = rng.poisson(np.exp(X + 1))
    X = X.reshape(-1, 1)
    glm = PoissonRegressor(alpha=0, tol=1e-7).fit(X, y)
    mlp = MLPRegressor(
        loss="poisson",
        hidden_layer_sizes=(1,),
        activation="identity",
        alpha=0,
        solver="lbfgs",
        tol=1e-7,
        random_state=np.random.RandomState(43),
    ).fit(X, y)
    np.testing.assert_allclose(mlp.predict(X), glm.predict(X), rtol=1e-4)
    assert (mlp.predict(X) > 0).all()


def test_negative_targets_raise():
    X, y = _counts(1)
    y[3] = -1.0
    with pytest.raises(ValueError, match=r"loss='poisson' needs targets y >= 0.*1 negative"):
        MLPRegressor(loss="poisson", max_iter=2).fit(X, y)

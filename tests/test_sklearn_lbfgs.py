"""solver="lbfgs" of fastmlp.sklearn against scikit-learn's lbfgs."""

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
from conftest import quiet_fit  # noqa: E402
from sklearn import neural_network as sk_nn  # noqa: E402
from sklearn.datasets import load_diabetes, make_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import LabelBinarizer, StandardScaler  # noqa: E402

from fastmlp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
    scaler = StandardScaler().fit(Xtr)
    ys = StandardScaler().fit(ytr.reshape(-1, 1))
    return (
        scaler.transform(Xtr),
        scaler.transform(Xte),
        ys.transform(ytr.reshape(-1, 1)).ravel(),
        ys.transform(yte.reshape(-1, 1)).ravel(),
    )


def _sklearn_objective(est, theta, X, Y, sample_weight):
    """scikit-learn's own _loss_grad_lbfgs at theta, with the workspace it needs."""
    units = [X.shape[1]] + [c.shape[1] for c in est.coefs_]
    activations = [X] + [np.empty((len(X), u)) for u in units[1:]]
    deltas = [np.empty_like(a) for a in activations[1:]]
    coef_grads = [np.empty((a, b)) for a, b in zip(units, units[1:])]
    intercept_grads = [np.empty(b) for b in units[1:]]
    return est._loss_grad_lbfgs(theta, X, Y, sample_weight, activations, deltas, coef_grads, intercept_grads)


def _theta(est):
    return np.hstack([a.ravel() for a in est.coefs_ + est.intercepts_])


# ---- the objective: scikit-learn's, value and gradient --------------------------------


@pytest.mark.parametrize("task", ["softmax", "binary", "multilabel", "regression", "multioutput", "poisson"])
@pytest.mark.parametrize("weighted", [False, True])
def test_objective_is_sklearns(task, weighted):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    y = {
        "softmax": (X[:, 0] > 0) + (X[:, 1] > 0),
        "binary": X[:, 0] > 0,
        "multilabel": np.c_[X[:, 0] > 0, X[:, 1] > 0].astype(int),
        "regression": X[:, 0] - X[:, 1],
        "multioutput": np.c_[X[:, 0] - X[:, 1], X[:, 2]],
        "poisson": rng.poisson(np.exp(0.5 * X[:, 0])),
    }[task]
    w = rng.random(60) * 3 if weighted else None
    regression = task in ("regression", "multioutput", "poisson")
    kw = dict(
        solver="lbfgs", hidden_layer_sizes=(7, 4), activation="tanh", alpha=0.3, max_iter=1, random_state=0
    )
    if task == "poisson":
        kw["loss"] = "poisson"
    ours_cls, ref_cls = (
        (MLPRegressor, sk_nn.MLPRegressor) if regression else (MLPClassifier, sk_nn.MLPClassifier)
    )
    ours = quiet_fit(ours_cls(**kw), X, y, sample_weight=w)
    ref = quiet_fit(ref_cls(**kw), X, y, sample_weight=w)
    assert ours.out_activation_ == ref.out_activation_
    Y = (
        np.reshape(y, (60, -1)).astype(float)
        if regression
        else LabelBinarizer().fit(y).transform(y).astype(float)
    )
    theta = rng.normal(size=_theta(ref).size) * 0.5
    value, grad = ours._loss_grad_lbfgs(theta, X, Y, w)
    ref_value, ref_grad = _sklearn_objective(ref, theta, X, Y, w)
    np.testing.assert_allclose(value, ref_value, rtol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-13)
    # The parameters are left at theta, as scikit-learn's _unpack leaves them.
    np.testing.assert_array_equal(_theta(ours), theta)


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu", "gelu"])
def test_gradient_matches_finite_differences(activation):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(25, 4))
    y = rng.integers(0, 3, 25)
    clf = quiet_fit(
        MLPClassifier(
            solver="lbfgs",
            hidden_layer_sizes=(6,),
            activation=activation,
            alpha=0.1,
            max_iter=1,
            random_state=0,
        ),
        X,
        y,
    )
    Y = LabelBinarizer().fit_transform(y)
    theta = _theta(clf)
    _, grad = clf._loss_grad_lbfgs(theta, X, Y, None)
    eps = 1e-6
    numeric = np.empty_like(theta)
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = eps
        numeric[i] = (
            clf._loss_grad_lbfgs(theta + step, X, Y, None)[0]
            - clf._loss_grad_lbfgs(theta - step, X, Y, None)[0]
        ) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_float32_objective_is_float64s_to_rounding():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(80, 6))
    y = rng.integers(0, 4, 80)
    kw = dict(solver="lbfgs", hidden_layer_sizes=(16,), max_iter=1, random_state=0)
    f64 = quiet_fit(MLPClassifier(**kw), X, y)
    f32 = quiet_fit(MLPClassifier(dtype="float32", **kw), X, y)
    assert all(c.dtype == np.float32 for c in f32.coefs_ + f32.intercepts_)
    Y = LabelBinarizer().fit_transform(y)
    theta = _theta(f64)
    v64, g64 = f64._loss_grad_lbfgs(theta, X, Y, None)
    v32, g32 = f32._loss_grad_lbfgs(theta, X, Y, None)
    assert g32.dtype == np.float64  # scipy's dtype at the boundary
    np.testing.assert_allclose(v32, v64, rtol=1e-6)
    np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-6 * np.abs(g64).max())


# ---- the solver: scikit-learn's steps and results -------------------------------------


def test_first_iterations_follow_sklearn(digits):
    # The same objective and the same L-BFGS-B calls: the same iterates, to rounding.
    Xtr, _, ytr, _ = digits
    kw = dict(solver="lbfgs", max_iter=5, random_state=0)
    ours = quiet_fit(MLPClassifier(**kw), Xtr, ytr)
    ref = quiet_fit(sk_nn.MLPClassifier(**kw), Xtr, ytr)
    assert ours.n_iter_ == ref.n_iter_ == 5
    np.testing.assert_allclose(ours.loss_, ref.loss_, rtol=1e-8)
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_digits_score_matches_sklearn(digits, dtype):
    Xtr, Xte, ytr, yte = digits
    kw = dict(solver="lbfgs", max_iter=100, random_state=0)
    ours = quiet_fit(MLPClassifier(dtype=dtype, **kw), Xtr, ytr).score(Xte, yte)
    ref = quiet_fit(sk_nn.MLPClassifier(**kw), Xtr, ytr).score(Xte, yte)
    assert ours > 0.95
    assert abs(ours - ref) <= 0.01, (ours, ref)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_diabetes_score_matches_sklearn(diabetes, dtype):
    Xtr, Xte, ytr, yte = diabetes
    kw = dict(solver="lbfgs", hidden_layer_sizes=(32,), alpha=10.0, max_iter=100, random_state=0)
    ours = quiet_fit(MLPRegressor(dtype=dtype, **kw), Xtr, ytr).score(Xte, yte)
    ref = quiet_fit(sk_nn.MLPRegressor(**kw), Xtr, ytr).score(Xte, yte)
    assert ours > 0.3
    assert abs(ours - ref) <= 0.01, (ours, ref)


def test_fitted_attributes_are_sklearns():
    X, y = make_classification(n_samples=80, n_features=5, random_state=0)
    kw = dict(solver="lbfgs", hidden_layer_sizes=(8,), max_iter=30, random_state=0)
    ours = quiet_fit(MLPClassifier(**kw), X, y)
    ref = quiet_fit(sk_nn.MLPClassifier(**kw), X, y)
    public = lambda est: {a for a in vars(est) if a.endswith("_") and not a.startswith("_")}  # noqa: E731
    # lbfgs keeps n_iter_ and loss_, no loss_curve_, best_loss_ or validation scores.
    assert public(ours) == public(ref)
    assert not hasattr(ours, "loss_curve_") and not hasattr(ours, "best_loss_")
    assert ours.n_iter_ == ref.n_iter_ and ours.t_ == 0
    np.testing.assert_allclose(ours.loss_, ref.loss_, rtol=1e-6)


def test_max_fun_and_max_iter_warn_as_sklearn():
    X, y = make_classification(n_samples=80, n_features=5, random_state=0)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        clf = MLPClassifier(solver="lbfgs", max_fun=10, random_state=0).fit(X, y)
    assert clf.n_iter_ <= 10
    with pytest.warns(ConvergenceWarning, match=r"Increase the number of iterations.*max_iter=3"):
        clf = MLPClassifier(solver="lbfgs", max_iter=3, random_state=0).fit(X, y)
    assert clf.n_iter_ == 3
    # tol is L-BFGS-B's gtol: a loose one converges early, without a warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = MLPClassifier(solver="lbfgs", tol=1.0, random_state=0).fit(X, y)
    assert clf.n_iter_ < 200


def test_warm_start_then_a_stochastic_solver():
    X, y = make_classification(n_samples=80, n_features=5, random_state=0)
    clf = quiet_fit(MLPClassifier(solver="lbfgs", warm_start=True, max_iter=20, random_state=0), X, y)
    lbfgs_loss = clf.loss_
    clf.set_params(solver="adam", max_iter=3)
    quiet_fit(clf, X, y)  # continues from the lbfgs weights
    assert len(clf.loss_curve_) == 3 and clf.loss_curve_[0] < 2 * lbfgs_loss + 0.1


def test_dropout_needs_a_stochastic_solver():
    X, y = make_classification(n_samples=40, random_state=0)
    with pytest.raises(ValueError, match="dropout=0.2 needs a stochastic solver"):
        MLPClassifier(solver="lbfgs", dropout=0.2).fit(X, y)

"""fastmlp.sklearn's estimators on sparse X (CSR, CSC): fit, partial_fit, predict,
predict_proba and score give what the densified array gives (to rounding), with every
solver; a sparse fit never densifies X."""

import numpy as np
import pytest

pytest.importorskip("sklearn")
import scipy.sparse as sp  # noqa: E402
from conftest import quiet_fit  # noqa: E402
from sklearn import neural_network as sk_nn  # noqa: E402

from fastmlp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


def sparse_digits(digits, fmt):
    X, _, y, _ = digits
    X, y = X[:300], y[:300]
    return getattr(sp, f"{fmt}_matrix")(X), X, y


def assert_fits_agree(a, b, rtol):
    for ca, cb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_allclose(ca, cb, rtol=rtol, atol=rtol)
    assert a.n_iter_ == b.n_iter_


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_classifier_sparse_fit_equals_dense(digits, solver, fmt, dtype):
    Xs, X, y = sparse_digits(digits, fmt)
    kw = dict(hidden_layer_sizes=(20,), solver=solver, max_iter=15, random_state=0, dtype=dtype)
    a = quiet_fit(MLPClassifier(**kw), Xs, y)
    b = quiet_fit(MLPClassifier(**kw), X, y)
    rtol = 1e-9 if dtype == "float64" else 2e-4
    assert_fits_agree(a, b, rtol)
    np.testing.assert_allclose(
        a.loss_curve_ if solver != "lbfgs" else a.loss_,
        b.loss_curve_ if solver != "lbfgs" else b.loss_,
        rtol=rtol,
    )
    np.testing.assert_allclose(a.predict_proba(Xs), b.predict_proba(X), rtol=rtol, atol=rtol)
    np.testing.assert_array_equal(a.predict(Xs), a.predict(X))
    assert a.score(Xs, y) == a.score(X, y)


def test_regressor_sparse_fit_partial_fit_and_early_stopping(digits):
    Xs, X, y = sparse_digits(digits, "csr")
    target = y.astype(float) / 9
    kw = dict(hidden_layer_sizes=(16,), max_iter=20, random_state=1, early_stopping=True)
    a = quiet_fit(MLPRegressor(**kw), Xs, target)
    b = quiet_fit(MLPRegressor(**kw), X, target)
    assert_fits_agree(a, b, 1e-9)
    np.testing.assert_allclose(a.validation_scores_, b.validation_scores_, rtol=1e-9)
    np.testing.assert_allclose(a.predict(Xs), b.predict(X), rtol=1e-9, atol=1e-12)
    c = MLPRegressor(hidden_layer_sizes=(16,), random_state=1)
    d = MLPRegressor(hidden_layer_sizes=(16,), random_state=1)
    for _ in range(3):
        c.partial_fit(Xs, target)
        d.partial_fit(X, target)
    assert_fits_agree(c, d, 1e-9)
    assert c.score(Xs, target) == pytest.approx(d.score(X, target), rel=1e-9)


def test_classifier_partial_fit_sparse_with_sample_weight(digits):
    Xs, X, y = sparse_digits(digits, "csr")
    w = np.linspace(0.5, 2.0, len(y))
    a = MLPClassifier(hidden_layer_sizes=(12,), random_state=2)
    b = MLPClassifier(hidden_layer_sizes=(12,), random_state=2)
    for i in range(0, 300, 100):
        a.partial_fit(Xs[i : i + 100], y[i : i + 100], classes=np.arange(10), sample_weight=w[i : i + 100])
        b.partial_fit(X[i : i + 100], y[i : i + 100], classes=np.arange(10), sample_weight=w[i : i + 100])
    assert_fits_agree(a, b, 1e-9)


def test_sparse_fit_agrees_with_sklearns_sparse_fit(digits):
    # Same initial weights and the same updates as scikit-learn on the same CSR data.
    Xs, X, y = sparse_digits(digits, "csr")
    kw = dict(hidden_layer_sizes=(20,), solver="sgd", max_iter=5, shuffle=False, random_state=0)
    ours = quiet_fit(MLPClassifier(**kw), Xs, y)
    theirs = quiet_fit(sk_nn.MLPClassifier(**kw), Xs, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-8)
    np.testing.assert_array_equal(ours.predict(Xs), theirs.predict(Xs))


def test_sparse_fit_never_densifies(monkeypatch, digits):
    Xs, X, y = sparse_digits(digits, "csr")

    def refuse(*args, **kwargs):
        raise AssertionError("X was densified")

    for cls in (sp.csr_matrix, sp.csc_matrix):
        monkeypatch.setattr(cls, "toarray", refuse)
        monkeypatch.setattr(cls, "todense", refuse)
        monkeypatch.setattr(cls, "__array__", refuse, raising=False)
    est = quiet_fit(
        MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, early_stopping=True, random_state=0), Xs, y
    )
    est.predict_proba(Xs)
    est.score(Xs, y)
    quiet_fit(MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=3), Xs.tocsc(), y)

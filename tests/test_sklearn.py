"""Behaviour of fastmlp.sklearn against scikit-learn's MLP and its API contract."""

import pickle
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")
from conftest import quiet_fit  # noqa: E402
from sklearn import neural_network as sk_nn  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.compose import TransformedTargetRegressor  # noqa: E402
from sklearn.datasets import load_diabetes, make_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from fastmlp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
    scaler = StandardScaler().fit(Xtr)
    return scaler.transform(Xtr), scaler.transform(Xte), ytr, yte


# ---- the same result as scikit-learn ------------------------------------------------


def test_same_parameters_and_defaults_as_sklearn():
    for ours, theirs in [(MLPClassifier, sk_nn.MLPClassifier), (MLPRegressor, sk_nn.MLPRegressor)]:
        mine, ref = ours().get_params(), theirs().get_params()
        extras = {"dropout", "dtype", "class_weight"}
        assert set(mine) - extras == set(ref)
        assert {k: mine[k] for k in ref} == ref


def test_same_initial_weights_as_sklearn(digits):
    Xtr, _, ytr, _ = digits
    # A negligible step: the weights stay the Glorot-uniform init drawn from
    # random_state, in sklearn's order and layout.
    kw = dict(max_iter=1, random_state=3, shuffle=False, learning_rate_init=1e-12)
    ours = quiet_fit(MLPClassifier(**kw), Xtr[:200], ytr[:200])
    ref = quiet_fit(sk_nn.MLPClassifier(**kw), Xtr[:200], ytr[:200])
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=1e-10)
    # The first epoch's loss (log-loss + L2 term) is sklearn's.
    np.testing.assert_allclose(ours.loss_, ref.loss_, rtol=1e-9)


def test_digits_accuracy_matches_sklearn(digits):
    Xtr, Xte, ytr, yte = digits
    kw = dict(random_state=0, max_iter=40)
    ours = quiet_fit(MLPClassifier(**kw), Xtr, ytr).score(Xte, yte)
    ref = quiet_fit(sk_nn.MLPClassifier(**kw), Xtr, ytr).score(Xte, yte)
    assert ours > 0.95
    assert abs(ours - ref) <= 0.01


def test_diabetes_r2_matches_sklearn(diabetes):
    # A 2-hidden-layer ReLU net on standardised targets; the minibatch order differs
    # from sklearn's (engine shuffling), so compare the mean test R^2 of 3 seeds.
    Xtr, Xte, ytr, yte = diabetes
    kw = dict(hidden_layer_sizes=(64, 64), alpha=10.0, max_iter=100)
    scores = {}
    for cls in (MLPRegressor, sk_nn.MLPRegressor):
        scores[cls] = np.mean(
            [
                quiet_fit(
                    TransformedTargetRegressor(cls(random_state=seed, **kw), transformer=StandardScaler()),
                    Xtr,
                    ytr,
                ).score(Xte, yte)
                for seed in range(3)
            ]
        )
    assert scores[MLPRegressor] > 0.3
    assert abs(scores[MLPRegressor] - scores[sk_nn.MLPRegressor]) <= 0.01


def test_regression_loss_matches_sklearn(diabetes):
    # sklearn reports half the squared error plus the L2 term: so do we.
    Xtr, _, ytr, _ = diabetes
    kw = dict(
        hidden_layer_sizes=(16,),
        learning_rate_init=0.01,
        random_state=0,
        max_iter=3,
        shuffle=False,
        batch_size=len(Xtr),
        alpha=1e-3,
    )
    ours = quiet_fit(MLPRegressor(**kw), Xtr, ytr)
    ref = quiet_fit(sk_nn.MLPRegressor(**kw), Xtr, ytr)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-6)


@pytest.mark.parametrize("lr_schedule", ["constant", "invscaling", "adaptive"])
def test_sgd_schedules_follow_sklearn(lr_schedule):
    # Full batch, no shuffle: the same updates as scikit-learn's SGD, step for step.
    X, y = make_classification(n_samples=120, n_features=6, random_state=0)
    kw = dict(
        solver="sgd",
        learning_rate=lr_schedule,
        learning_rate_init=0.1,
        max_iter=30,
        random_state=0,
        shuffle=False,
        batch_size=120,
        hidden_layer_sizes=(8,),
        tol=1e-3,
        n_iter_no_change=2,
    )
    ours = quiet_fit(MLPClassifier(**kw), X, y)
    ref = quiet_fit(sk_nn.MLPClassifier(**kw), X, y)
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-5)
    for a, b in zip(ours.coefs_, ref.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_multioutput_regression_and_loss_scale():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 4))
    Y = np.c_[X[:, 0] - X[:, 1], 2 * X[:, 2]]
    kw = dict(
        solver="sgd",
        learning_rate_init=0.05,
        shuffle=False,
        batch_size=100,
        hidden_layer_sizes=(10,),
        max_iter=20,
        random_state=0,
        alpha=0.0,
    )
    ours = quiet_fit(MLPRegressor(**kw), X, Y)
    ref = quiet_fit(sk_nn.MLPRegressor(**kw), X, Y)
    assert ours.predict(X).shape == (100, 2) and ours.n_outputs_ == 2
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-6)


def test_multilabel():
    X, _ = make_classification(n_samples=150, n_features=8, random_state=0)
    Y = np.c_[X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 1] > 0].astype(int)
    kw = dict(
        solver="sgd",
        learning_rate_init=0.1,
        shuffle=False,
        batch_size=150,
        hidden_layer_sizes=(10,),
        max_iter=15,
        random_state=0,
    )
    ours = quiet_fit(MLPClassifier(**kw), X, Y)
    ref = quiet_fit(sk_nn.MLPClassifier(**kw), X, Y)
    assert ours.out_activation_ == "logistic" and ours.predict(X).shape == Y.shape
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-5)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=1e-4, atol=1e-6)


# ---- scikit-learn's machinery -------------------------------------------------------


def test_fitted_attributes(digits):
    Xtr, _, ytr, _ = digits
    clf = quiet_fit(MLPClassifier(hidden_layer_sizes=(32, 16), max_iter=5, random_state=0), Xtr, ytr)
    assert [c.shape for c in clf.coefs_] == [(64, 32), (32, 16), (16, 10)]
    assert [b.shape for b in clf.intercepts_] == [(32,), (16,), (10,)]
    assert clf.n_layers_ == 4 and clf.n_outputs_ == 10 and clf.out_activation_ == "softmax"
    assert clf.n_iter_ == 5 and clf.t_ == 5 * len(Xtr) and len(clf.loss_curve_) == 5
    assert clf.best_loss_ == min(clf.loss_curve_) and clf.validation_scores_ is None
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    proba = clf.predict_proba(Xtr[:5])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(clf.predict_log_proba(Xtr[:5]), np.log(proba))
    # Writing into coefs_ changes the predictions (they are the trained arrays).
    clf.coefs_[-1][...] = 0
    clf.intercepts_[-1][...] = 0
    np.testing.assert_allclose(clf.predict_proba(Xtr[:2]), 0.1)


def test_early_stopping_and_validation_curves(digits):
    Xtr, _, ytr, _ = digits
    clf = MLPClassifier(early_stopping=True, n_iter_no_change=3, max_iter=200, random_state=0)
    clf.fit(Xtr, ytr)
    assert clf.n_iter_ < 200 and clf.best_loss_ is None
    assert len(clf.validation_scores_) == len(clf.validation_loss_curve_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)


def test_convergence_warning():
    X, y = make_classification(n_samples=60, random_state=0)
    with pytest.warns(ConvergenceWarning):
        MLPClassifier(max_iter=2, random_state=0).fit(X, y)


def test_partial_fit_and_warm_start(digits):
    Xtr, Xte, ytr, yte = digits
    clf = MLPClassifier(random_state=0)
    for _ in range(15):
        clf.partial_fit(Xtr, ytr, classes=np.arange(10))
    assert clf.n_iter_ == 1 and clf.t_ == 15 * len(Xtr) and clf.score(Xte, yte) > 0.9
    warm = MLPClassifier(warm_start=True, max_iter=3, random_state=0)
    quiet_fit(warm, Xtr, ytr)
    first = [c.copy() for c in warm.coefs_]
    quiet_fit(warm, Xtr, ytr)
    assert warm.n_iter_ == 3 and not np.allclose(first[0], warm.coefs_[0])
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(Xtr, ytr, classes=np.arange(10))


def test_pickle_clone_pipeline_gridsearch(digits):
    Xtr, Xte, ytr, yte = digits
    clf = MLPClassifier(max_iter=20, random_state=0)
    pipe = make_pipeline(StandardScaler(), clf)
    grid = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e-2]}, cv=2)
    quiet_fit(grid, Xtr, ytr)
    assert grid.best_score_ > 0.8
    fitted = grid.best_estimator_
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict_proba(Xte), fitted.predict_proba(Xte))
    # An unpickled model continues training with its optimizer state.
    mlp = again[-1]
    mlp.partial_fit(again[0].transform(Xtr), ytr)
    assert clone(fitted).get_params()["mlpclassifier__max_iter"] == 20


def test_fit_is_reproducible(digits):
    Xtr, _, ytr, _ = digits
    a = quiet_fit(MLPClassifier(max_iter=3, random_state=7, dropout=0.2), Xtr, ytr)
    b = quiet_fit(MLPClassifier(max_iter=3, random_state=7, dropout=0.2), Xtr, ytr)
    for x, y in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(x, y)


# ---- extras ---------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["leaky_relu", "gelu", "tanh", "logistic", "identity"])
def test_activations(digits, activation):
    Xtr, Xte, ytr, yte = digits
    clf = quiet_fit(MLPClassifier(activation=activation, max_iter=30, random_state=0), Xtr, ytr)
    assert clf.score(Xte, yte) > 0.85


def test_float32_training_and_dropout(digits):
    Xtr, Xte, ytr, yte = digits
    clf = quiet_fit(MLPClassifier(dtype="float32", dropout=0.2, max_iter=30, random_state=0), Xtr, ytr)
    assert all(c.dtype == np.float32 for c in clf.coefs_)
    assert clf.predict_proba(Xte).dtype == np.float32
    assert clf.score(Xte, yte) > 0.95


def test_class_weight_multiclass():
    X, y = make_classification(
        n_samples=300, n_features=6, n_informative=4, n_classes=3, weights=[0.8, 0.1, 0.1], random_state=0
    )
    plain = quiet_fit(MLPClassifier(max_iter=30, random_state=0), X, y)
    balanced = quiet_fit(MLPClassifier(max_iter=30, random_state=0, class_weight="balanced"), X, y)
    # Balancing moves predictions towards the rare classes.
    assert (balanced.predict(X) != 0).sum() > (plain.predict(X) != 0).sum()


def test_sample_weight_equals_repetition_for_softmax():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 5))
    y = rng.integers(0, 3, 30)
    w = rng.integers(0, 4, 30)
    kw = dict(max_iter=20, random_state=0, hidden_layer_sizes=(8,))
    weighted = quiet_fit(MLPClassifier(**kw), X, y, sample_weight=w)
    repeated = quiet_fit(MLPClassifier(**kw), X.repeat(w, axis=0), y.repeat(w))
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), rtol=1e-6)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("task", ["regression", "binary", "multilabel", "multiclass"])
@pytest.mark.parametrize("weighted", [False, True])
def test_minibatches_alpha_and_sample_weight_follow_sklearn(solver, task, weighted):
    # No shuffle: the same minibatches (the last one partial), so the same updates as
    # scikit-learn to rounding: per-batch alpha / (batch weight), sklearn's Adam eps,
    # real-valued weights for every output activation, and loss_ with its L2 term.
    X, y = make_classification(n_samples=150, n_features=6, random_state=0)
    y = {
        "regression": np.c_[X[:, 0] - X[:, 1], X[:, 2]],
        "binary": y,
        "multilabel": np.c_[X[:, 0] > 0, X[:, 1] > 0].astype(int),
        "multiclass": (X[:, 0] > 0) + (X[:, 1] > 0),
    }[task]
    w = np.random.default_rng(0).random(150) * 3 if weighted else None
    kw = dict(
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
    ours_cls, ref_cls = (
        (MLPRegressor, sk_nn.MLPRegressor) if task == "regression" else (MLPClassifier, sk_nn.MLPClassifier)
    )
    ours = quiet_fit(ours_cls(**kw), X, y, sample_weight=w)
    ref = quiet_fit(ref_cls(**kw), X, y, sample_weight=w)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-12)
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_class_weight_binary_is_sample_weight():
    X, y = make_classification(n_samples=120, n_features=5, weights=[0.8, 0.2], random_state=0)
    kw = dict(max_iter=10, random_state=0, hidden_layer_sizes=(8,))
    balanced = quiet_fit(MLPClassifier(class_weight="balanced", **kw), X, y)
    counts = np.bincount(y)
    weighted = quiet_fit(MLPClassifier(**kw), X, y, sample_weight=(len(y) / (2 * counts))[y])
    np.testing.assert_array_equal(balanced.coefs_[0], weighted.coefs_[0])


def test_bad_sample_weight_names_it():
    X, y = make_classification(n_samples=40, random_state=0)
    with pytest.raises(ValueError, match="[Nn]egative"):
        MLPClassifier(max_iter=2).fit(X, y, sample_weight=np.r_[-1.0, np.ones(39)])
    with pytest.raises(ValueError, match="[Ss]ample.weight"):
        MLPRegressor(max_iter=2).fit(X, y, sample_weight=np.zeros(40))


def test_unsupported_features_raise_clearly():
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'"):
        MLPClassifier(solver="lbfgs").partial_fit  # noqa: B018 (the access is what raises)


def test_import_fastmlp_does_not_import_sklearn():
    code = "import sys, fastmlp; assert 'sklearn' not in sys.modules, 'sklearn imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
    # Without scikit-learn, fastmlp.sklearn says what is missing.
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "try:\n    import fastmlp.sklearn\nexcept ImportError as e:\n"
        "    assert 'requires scikit-learn' in str(e) and 'fastmlp[sklearn]' in str(e), e\n"
        "else:\n    raise SystemExit('no error')"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_large_alpha_small_batches_match_sklearn(diabetes):
    Xtr, Xte, ytr, yte = diabetes
    ys = StandardScaler().fit(ytr.reshape(-1, 1))
    ytr_s = ys.transform(ytr.reshape(-1, 1)).ravel()
    yte_s = ys.transform(yte.reshape(-1, 1)).ravel()
    kw = dict(hidden_layer_sizes=(64, 64), batch_size=32, alpha=10.0, max_iter=50, tol=0.0)
    ours = np.mean([MLPRegressor(random_state=s, **kw).fit(Xtr, ytr_s).score(Xte, yte_s) for s in range(2)])
    ref = np.mean(
        [sk_nn.MLPRegressor(random_state=s, **kw).fit(Xtr, ytr_s).score(Xte, yte_s) for s in range(2)]
    )
    # Reaches scikit-learn's R^2 within one point (the shuffles differ, so not equal).
    assert ours >= ref - 0.01, (ours, ref)

"""The private attributes of scikit-learn's MLPs that its tests and users read, and
its encoding of class labels, on fastmlp.sklearn's estimators."""

import numpy as np
import pytest

pytest.importorskip("sklearn")
from conftest import quiet_fit  # noqa: E402
from sklearn import neural_network as sk_nn  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402

from fastmlp.sklearn import MLPClassifier  # noqa: E402

X, Y = make_classification(n_samples=60, n_features=5, random_state=0)


@pytest.mark.parametrize(
    "solver,schedule", [("sgd", "constant"), ("sgd", "invscaling"), ("sgd", "adaptive"), ("adam", "constant")]
)
def test_optimizer_learning_rate_is_sklearns(solver, schedule):
    kw = dict(
        solver=solver,
        learning_rate=schedule,
        max_iter=40,
        tol=0.05,
        n_iter_no_change=2,
        shuffle=False,
        random_state=0,
        hidden_layer_sizes=(4,),
    )
    ours = quiet_fit(MLPClassifier(**kw), X, Y)
    ref = quiet_fit(sk_nn.MLPClassifier(**kw), X, Y)
    assert ours.n_iter_ == ref.n_iter_
    if schedule == "invscaling":  # scikit-learn's formula, exactly
        assert ours._optimizer.learning_rate == 0.001 / (ours.t_ + 1) ** 0.5
    assert ours._optimizer.learning_rate == pytest.approx(ref._optimizer.learning_rate, rel=1e-12)


def test_hand_set_weights_train_as_sklearns():
    # scikit-learn's test_fit sets the weights and fitted attributes by hand, without a
    # fit, then calls partial_fit: the same step as scikit-learn's.
    def hand_built(cls):
        mlp = cls(
            solver="sgd",
            learning_rate_init=0.1,
            alpha=0.1,
            activation="logistic",
            random_state=1,
            max_iter=1,
            hidden_layer_sizes=2,
            momentum=0,
        )
        mlp.coefs_ = [np.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0]]), np.array([[0.1], [0.2]])]
        mlp.intercepts_ = [np.array([0.1, 0.1]), np.array([1.0])]
        mlp.n_outputs_, mlp.n_features_in_, mlp.n_layers_ = 1, 3, 3
        mlp.n_iter_, mlp.t_, mlp.out_activation_ = 0, 0, "logistic"
        mlp.best_loss_, mlp.loss_curve_, mlp._no_improvement_count = np.inf, [], 0
        return mlp.partial_fit(np.array([[0.6, 0.8, 0.7]]), [0], classes=[0, 1])

    ours, ref = hand_built(MLPClassifier), hand_built(sk_nn.MLPClassifier)
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_binarized_labels_are_bool_as_sklearns():
    # The stratified split of early stopping refuses the binarized classes with
    # scikit-learn's message (from 1.8 it names them: "... are: ['True']").
    X, y = [[1, 2], [2, 3], [3, 4], [4, 5]], [0, 0, 0, 1]
    with pytest.raises(ValueError) as theirs:
        sk_nn.MLPClassifier(early_stopping=True).fit(X, y)
    with pytest.raises(ValueError) as ours:
        MLPClassifier(early_stopping=True).fit(X, y)
    assert str(ours.value) == str(theirs.value)


def test_early_stopping_splits_as_sklearn():
    # The engine's seed is drawn without advancing random_state: the validation split
    # is scikit-learn's, so without shuffling the validation scores are its own.
    kw = dict(
        early_stopping=True,
        shuffle=False,
        max_iter=15,
        random_state=0,
        hidden_layer_sizes=(8,),
        learning_rate_init=0.01,
    )
    ours = quiet_fit(MLPClassifier(**kw), X, Y)
    ref = quiet_fit(sk_nn.MLPClassifier(**kw), X, Y)
    np.testing.assert_allclose(ours.validation_scores_, ref.validation_scores_, rtol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-10)

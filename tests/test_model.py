"""The MLP API: training behaviour, determinism, regularisation and bad input."""

import numpy as np
import pytest

import fastmlp


def _regression(n=300, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, np.sin(X @ np.arange(1, d + 1) / d)[:, None]


def test_digits_classifier_accuracy():
    datasets = pytest.importorskip("sklearn.datasets")
    model_selection = pytest.importorskip("sklearn.model_selection")
    X, y = datasets.load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = model_selection.train_test_split(
        X / 16.0, y, test_size=0.25, random_state=0, stratify=y
    )
    model = fastmlp.MLP([64, 128, 10], seed=0)
    model.fit(
        X_train,
        y_train,
        loss="cross_entropy",
        optimizer=fastmlp.optim.Adam(lr=3e-3),
        epochs=30,
        batch_size=32,
        verbose=False,
    )
    accuracy = (model.predict(X_test).argmax(1) == y_test).mean()
    assert accuracy >= 0.97


@pytest.mark.parametrize("weighted", [False, True])
def test_same_seed_is_bit_identical_for_one_and_two_threads(weighted):
    X, y = _regression(2000, 8)
    w = np.random.default_rng(1).random(2000) * 2 if weighted else None
    results = []
    before = fastmlp.get_num_threads()
    try:
        for threads in (1, 2):
            fastmlp.set_num_threads(threads)
            model = fastmlp.MLP([8, 256, 128, 1], dropout=0.2, seed=7)
            history = model.fit(X, y, epochs=2, batch_size=100, verbose=False, sample_weight=w)
            model.train_step(X[:50], y[:50], sample_weight=None if w is None else w[:50])
            results.append((history["loss"], [p.copy() for p in model.parameters()]))
    finally:
        fastmlp.set_num_threads(before)
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_array_equal(a, b)


def test_dropout_masks_follow_rows_in_halved_steps():
    # Masks are keyed by a row's place in the epoch: with the weights held still, the
    # epoch's summed loss is the same whether a batch is the whole epoch (a halved step:
    # two halves on two threads) or 4 rows (one pass each: 4 x 34944 float64 multiply-adds
    # are below tuning's short_step_madds, for steps of fewer than short_step_rows).
    X, y = _regression(120, 8)
    losses = []
    for batch_size in (120, 4):
        model = fastmlp.MLP([8, 256, 128, 1], dropout=0.3, dtype="float64", seed=3)
        loss = fastmlp.losses.MSELoss(reduction="sum")
        history = model.fit(
            X,
            y,
            loss=loss,
            optimizer=fastmlp.optim.SGD(lr=0.0),
            epochs=1,
            batch_size=batch_size,
            shuffle=False,
            verbose=False,
        )
        losses.append(history["loss"][0])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-12)
    no_dropout = fastmlp.MLP([8, 256, 128, 1], dtype="float64", seed=3)
    assert not np.isclose(losses[0], no_dropout.evaluate(X, y, loss=loss), rtol=1e-3)


def test_seed_controls_shuffle_and_dropout():
    X, y = _regression()

    def run(seed, **kw):
        model = fastmlp.MLP([3, 16, 1], seed=seed, **kw)
        model.fit(X, y, epochs=2, verbose=False)
        return model.layers[0].weight.copy()

    np.testing.assert_array_equal(run(1, dropout=0.3), run(1, dropout=0.3))
    assert not np.array_equal(run(1, dropout=0.3), run(2, dropout=0.3))


def test_dropout_is_inverted_and_only_in_training():
    model = fastmlp.MLP([2, 2000, 1], activation="identity", dropout=0.5, seed=0, dtype="float64")
    X = np.ones((1, 2))
    before = model.predict(X)
    np.testing.assert_array_equal(model.predict(X), before)  # no dropout in predict
    value, _ = model.loss_and_grads(X, before, "mse")
    assert value == 0.0  # nor in loss_and_grads


def test_fit_history_validation_and_progress(capsys):
    X, y = _regression()
    model = fastmlp.MLP([3, 32, 1], seed=0)
    history = model.fit(
        X[:200], y[:200], epochs=4, batch_size=64, validation_data=(X[200:], y[200:]), verbose=True
    )
    assert len(history["loss"]) == len(history["val_loss"]) == len(history["seconds"]) == 4
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_loss"][-1] == pytest.approx(model.evaluate(X[200:], y[200:]), rel=1e-6)
    err = capsys.readouterr().err
    assert "Epoch" in err and "4/4" in err
    assert model.history_ is history


def test_early_stopping_restores_best_weights():
    X, y = _regression()
    model = fastmlp.MLP([3, 32, 1], seed=0)
    # A validation set the model cannot learn: the validation loss soon stops improving.
    rng = np.random.default_rng(5)
    history = model.fit(
        X,
        y,
        optimizer=fastmlp.optim.SGD(lr=0.5),
        epochs=50,
        batch_size=16,
        validation_data=(X[:50], rng.standard_normal((50, 1)) * 5),
        early_stopping=fastmlp.EarlyStopping(patience=2),
        verbose=False,
    )
    assert len(history["loss"]) < 50
    best = history["best_epoch"]
    assert len(history["loss"]) == best + 2 + 1
    assert min(history["val_loss"]) == history["val_loss"][best - 1]


def test_early_stopping_leaves_best_epoch_weights():
    X, y = _regression()
    Xv, yv = X[:40], -y[:40]  # learning y makes this validation loss worse
    model = fastmlp.MLP([3, 16, 1], seed=0, dtype="float64")
    history = model.fit(
        X, y, epochs=30, batch_size=32, validation_data=(Xv, yv), early_stopping=3, verbose=False
    )
    assert model.evaluate(Xv, yv) == pytest.approx(min(history["val_loss"]), rel=1e-12)


def test_nan_loss_stops_with_epoch_and_keeps_last_finite_weights():
    X, y = _regression()
    model = fastmlp.MLP([3, 64, 64, 1], seed=0)
    opt = fastmlp.optim.SGD(lr=1e6)
    with pytest.raises(FloatingPointError, match=r"epoch \d+") as info:
        model.fit(X * 100, y, optimizer=opt, epochs=50, verbose=False)
    epoch = int(info.value.args[0].split("epoch ")[1].split()[0])
    for p in model.parameters():
        assert np.isfinite(p).all()
    assert epoch >= 1
    assert np.isfinite(model.predict(X)).all()


def test_weights_are_trained_in_place_and_assignable():
    X, y = _regression()
    model = fastmlp.MLP([3, 8, 1], seed=0)
    w = model.layers[0].weight
    model.fit(X, y, epochs=1, verbose=False)
    assert model.layers[0].weight is w
    model.layers[1].weight[...] = 0
    model.layers[1].bias = [2.5]
    np.testing.assert_allclose(model.predict(X[:4]), 2.5)
    with pytest.raises(ValueError, match="weight must have shape"):
        model.layers[0].weight = np.zeros((3, 8))


def test_predict_one_sample_and_strided_input():
    model = fastmlp.MLP([3, 8, 2], seed=0, dtype="float64")
    X = np.random.default_rng(0).standard_normal((5, 6))[:, ::2]
    out = model.predict(X)
    assert out.shape == (5, 2)
    np.testing.assert_array_equal(model.predict(X[2]), out[2])
    np.testing.assert_array_equal(model.predict(np.ascontiguousarray(X)), out)


def test_train_step_and_named_optimizer_state_is_kept():
    X, y = _regression(64)
    model = fastmlp.MLP([3, 8, 1], seed=0)
    losses = [model.train_step(X, y, "mse", "adam") for _ in range(20)]
    assert losses[-1] < losses[0]
    assert model._step_optimizers["adam"].steps == 20


def test_softmax_output_predicts_probabilities():
    model = fastmlp.MLP([4, 8, 3], output_activation="softmax", seed=0)
    p = model.predict(np.random.default_rng(0).standard_normal((10, 4)))
    np.testing.assert_allclose(p.sum(1), 1, rtol=1e-6)


def test_step_activation_predicts_but_does_not_train():
    model = fastmlp.MLP([2, 1], output_activation="step", seed=0)
    assert set(np.unique(model.predict(np.random.default_rng(0).standard_normal((20, 2))))) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="step"):
        model.fit(np.zeros((4, 2)), np.zeros(4), verbose=False)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(layer_sizes=[]), "layer_sizes"),
        (dict(layer_sizes=[3]), "layer_sizes"),
        (dict(layer_sizes=[3, 0, 1]), r"layer_sizes\[1\]"),
        (dict(layer_sizes=[3, -2]), r"layer_sizes\[1\]"),
        (dict(layer_sizes=[3, 1], activation="swish"), "activation"),
        (dict(layer_sizes=[3, 1], output_activation="swish"), "output_activation"),
        (dict(layer_sizes=[3, 1], dtype="float16"), "dtype"),
        (dict(layer_sizes=[3, 1], dropout=1.0), "dropout"),
        (dict(layer_sizes=[3, 4, 1], activation=["relu", "tanh"]), "activation"),
    ],
)
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fastmlp.MLP(**kwargs)


def test_bad_fit_input_names_the_argument():
    model = fastmlp.MLP([3, 4, 2], seed=0)
    X, y = np.zeros((10, 3)), np.zeros((10, 2))
    labels = np.zeros(10, dtype=int)
    cases = [
        (dict(X=np.zeros((9, 3))), r"y has shape \(10, 2\), expected \(9, 2\)"),
        (dict(X=np.zeros((10, 4))), r"X has shape \(10, 4\) but the model takes 3 features"),
        (dict(y=np.zeros((10, 3))), r"y has shape \(10, 3\)"),
        (dict(X=np.full((10, 3), np.nan)), "X contains NaN"),
        (dict(y=np.full((10, 2), np.inf)), "y contains NaN or inf"),
        (dict(y=labels + 2, loss="cross_entropy"), r"label 2 outside \[0, 2\)"),
        (dict(y=labels - 1, loss="cross_entropy"), r"label -1 outside"),
        (dict(batch_size=0), "batch_size"),
        (dict(epochs=-1), "epochs"),
        (dict(loss="hinge"), "unknown loss"),
        (dict(optimizer="lbfgs"), "unknown optimizer"),
        (dict(X=np.zeros((0, 3)), y=np.zeros((0, 2))), r"X is empty"),
        (dict(validation_data=(np.zeros((0, 3)), np.zeros((0, 2)))), r"validation_data\[0\] is empty"),
        (dict(validation_data=(np.zeros((4, 3)),)), "validation_data"),
        (dict(validation_data=(np.zeros((4, 3)), np.zeros((5, 2)))), r"validation_data\[1\]"),
        (dict(X="abc"), "X must be an array of numbers"),
    ]
    for override, match in cases:
        args = dict(X=X, y=y, verbose=False)
        args.update(override)
        with pytest.raises(ValueError, match=match):
            model.fit(**args)


def test_copies_train_independently():
    import copy
    import pickle

    X, y = _regression()
    model = fastmlp.MLP([3, 8, 1], seed=0)
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        before = model.layers[0].weight.copy()
        clone.fit(X, y, epochs=1, verbose=False)
        np.testing.assert_array_equal(model.layers[0].weight, before)
        assert not np.array_equal(clone.layers[0].weight, before)

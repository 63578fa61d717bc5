"""Per-sample weights: losses and gradients against torch autograd, training as
repeated rows, determinism, and bad weights."""

import numpy as np
import pytest

import fastmlp
from fastmlp import losses

torch = pytest.importorskip("torch")

TOL = {"float32": 1e-5, "float64": 1e-10}
LOSS_CASES = [("mse", "identity"), ("cross_entropy", "identity"), ("bce", "identity")]


def _targets(rng, loss, m, n, dtype):
    if loss == "cross_entropy":
        return rng.integers(0, n, m)
    return rng.random((m, n)).astype(dtype)


def _torch_weighted(name, reduction, output, target, weight):
    """sum_i w_i l_i, or / sum_i w_i (times n_outputs for the elementwise losses)."""
    fn = {
        "mse": torch.nn.MSELoss,
        "cross_entropy": torch.nn.CrossEntropyLoss,
        "bce": torch.nn.BCEWithLogitsLoss,
    }[name](reduction="none")
    per = fn(output, torch.from_numpy(target))
    if per.ndim == 2:
        per = per.sum(1)
    w = torch.from_numpy(weight)
    total = (w * per).sum()
    if reduction == "sum":
        return total
    return total / (w.sum() * (1 if name == "cross_entropy" else output.shape[1]))


def _close(a, b, tol):
    assert np.abs(np.asarray(a) - b).max() <= tol * max(np.abs(b).max(), 1e-30)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name", ["mse", "cross_entropy", "bce"])
def test_weighted_loss_matches_torch(dtype, reduction, name):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((19, 4)) * 3).astype(dtype)
    t = _targets(rng, name, 19, 4, dtype)
    w = rng.random(19).astype(dtype) * 3
    w[[2, 7]] = 0  # zero weights remove their rows
    loss = losses.get(name)
    loss.reduction = reduction
    value, grad = loss.forward_backward(x, t, sample_weight=w)
    xt = torch.tensor(x, requires_grad=True)
    ref = _torch_weighted(name, reduction, xt, t, w)
    ref.backward()
    _close(value, ref.item(), TOL[dtype])
    _close(grad, xt.grad.numpy(), TOL[dtype])
    assert not grad[[2, 7]].any()
    assert loss(x, t, w) == value
    np.testing.assert_array_equal(loss.gradient(x, t, w), grad)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name,output", LOSS_CASES)
def test_weighted_gradients_match_autograd(name, output, reduction):
    rng = np.random.default_rng(1)
    # Wide enough that the packed-GEMM layers run too, not only the small-layer path.
    model = fastmlp.MLP([5, 40, 300, 3], activation="tanh", output_activation=output, dtype="float64", seed=2)
    X = rng.standard_normal((33, 5))
    y = _targets(rng, name, 33, 3, "float64")
    w = rng.random(33) * 4
    loss = losses.get(name)
    loss.reduction = reduction
    value, grads = model.loss_and_grads(X, y, loss, sample_weight=w)
    net = model.to_torch()
    ref = _torch_weighted(name, reduction, net(torch.from_numpy(X)), y, w)
    ref.backward()
    _close(value, ref.item(), 1e-10)
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    for (gw, gb), layer in zip(grads, linears):
        _close(gw, layer.weight.grad.numpy(), 1e-10)
        _close(gb, layer.bias.grad.numpy(), 1e-10)
    assert model.evaluate(X, y, loss, sample_weight=w) == pytest.approx(value, rel=1e-12)


def test_weighted_train_step_equals_torch_step():
    rng = np.random.default_rng(0)
    model = fastmlp.MLP([4, 8, 3], dtype="float64", seed=0)
    net = model.to_torch()
    X, y, w = rng.standard_normal((16, 4)), rng.integers(0, 3, 16), rng.random(16)
    value = model.train_step(X, y, "cross_entropy", fastmlp.optim.SGD(lr=0.1), sample_weight=w)
    topt = torch.optim.SGD(net.parameters(), lr=0.1)
    ref = _torch_weighted("cross_entropy", "mean", net(torch.from_numpy(X)), y, w)
    ref.backward()
    topt.step()
    assert value == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(model.layers[1].weight, net[2].weight.detach().numpy(), rtol=1e-10)


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name,output", LOSS_CASES)
def test_integer_weights_train_as_repeated_rows(name, output, reduction, shuffle):
    # One batch per epoch, so that the batches hold the same samples both ways; with
    # shuffle the weights must travel with their rows for the sums to agree.
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 4))
    y = _targets(rng, name, 40, 2, "float64")
    w = rng.integers(0, 4, 40)
    w[0] = 2
    loss = losses.get(name)
    loss.reduction = reduction

    def fit(X, y, w):
        model = fastmlp.MLP([4, 16, 2], output_activation=output, dtype="float64", seed=5)
        history = model.fit(
            X,
            y,
            loss=loss,
            optimizer=fastmlp.optim.Adam(lr=1e-2),
            epochs=4,
            batch_size=len(X),
            shuffle=shuffle,
            verbose=False,
            sample_weight=w,
        )
        return history["loss"], model.parameters()

    weighted = fit(X, y, w.astype(float))
    repeated = fit(X.repeat(w, axis=0), y.repeat(w, axis=0), None)
    np.testing.assert_allclose(weighted[0], repeated[0], rtol=1e-11)
    for a, b in zip(weighted[1], repeated[1]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unit_weights_are_bit_identical_to_none(dtype):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((300, 3)).astype(dtype), rng.integers(0, 4, 300)

    def fit(w):
        model = fastmlp.MLP([3, 32, 4], dropout=0.2, dtype=dtype, seed=1)
        history = model.fit(
            X,
            y,
            loss="cross_entropy",
            epochs=2,
            batch_size=64,
            verbose=False,
            sample_weight=w,
            validation_data=(X, y, w),
        )
        return history, model.parameters()

    (h0, p0), (h1, p1) = fit(None), fit(np.ones(300))
    assert h0["loss"] == h1["loss"] and h0["val_loss"] == h1["val_loss"]
    for a, b in zip(p0, p1):
        np.testing.assert_array_equal(a, b)


def test_batch_with_only_zero_weights_is_skipped():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 2)), rng.standard_normal((30, 1))
    w = np.ones(30)
    w[:10] = 0  # the whole first batch
    opt = fastmlp.optim.SGD(lr=0.1)
    model = fastmlp.MLP([2, 4, 1], dtype="float64", seed=0)
    model.fit(X, y, optimizer=opt, epochs=1, batch_size=10, shuffle=False, verbose=False, sample_weight=w)
    assert opt.steps == 2
    reference = fastmlp.MLP([2, 4, 1], dtype="float64", seed=0)
    reference.fit(
        X[10:],
        y[10:],
        optimizer=fastmlp.optim.SGD(lr=0.1),
        epochs=1,
        batch_size=10,
        shuffle=False,
        verbose=False,
    )
    for a, b in zip(model.parameters(), reference.parameters()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "weight,match",
    [
        (np.ones(5), r"sample_weight has shape \(5,\), expected \(6,\)"),
        (np.ones((6, 1)), r"sample_weight has shape \(6, 1\)"),
        (np.array([1, 1, np.nan, 1, 1, 1]), "sample_weight contains NaN or inf"),
        (np.array([1, 1, np.inf, 1, 1, 1]), "sample_weight contains NaN or inf"),
        (np.array([1, 1, -1, 1, 1, 1]), "sample_weight has negative weights"),
        (np.zeros(6), "sample_weight is all zero"),
        (np.array(["a"] * 6), "sample_weight must be an array of numbers"),
    ],
)
def test_bad_sample_weight(weight, match):
    model = fastmlp.MLP([2, 3, 1], seed=0)
    X, y = np.zeros((6, 2)), np.zeros(6)
    calls = [
        lambda: model.fit(X, y, sample_weight=weight, verbose=False),
        lambda: model.train_step(X, y, sample_weight=weight),
        lambda: model.loss_and_grads(X, y, sample_weight=weight),
        lambda: model.evaluate(X, y, sample_weight=weight),
        lambda: losses.MSELoss()(np.zeros((6, 1)), y, sample_weight=weight),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=match):
            call()
    with pytest.raises(ValueError, match=r"validation_data\[2\]"):
        model.fit(X, y, validation_data=(X, y, weight), verbose=False)

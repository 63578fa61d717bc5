"""Gradients and training against PyTorch autograd / torch.optim."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fastmlp  # noqa: E402 (after the importorskip)

TOL = {"float32": 1e-5, "float64": 1e-10}


def _torch_grads(model, X, y, loss):
    net = model.to_torch()
    fn = {
        "mse": torch.nn.MSELoss,
        "cross_entropy": torch.nn.CrossEntropyLoss,
        "bce": torch.nn.BCEWithLogitsLoss,
    }[loss.name](reduction=loss.reduction)
    value = fn(net(torch.from_numpy(X)), torch.from_numpy(y))
    value.backward()
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    return value.item(), [(lin.weight.grad.numpy(), lin.bias.grad.numpy()) for lin in linears]


def _close(a, b, tol):
    assert np.abs(np.asarray(a) - b).max() <= tol * max(np.abs(b).max(), 1e-30)


def _check_against_autograd(model, X, y, loss_fn, dtype):
    """The loss and every layer's weight and bias gradients, against torch's."""
    value, grads = model.loss_and_grads(X, y, loss_fn)
    ref_value, ref_grads = _torch_grads(model, X, y, loss_fn)
    _close(value, ref_value, TOL[dtype])
    for (gw, gb), (rw, rb) in zip(grads, ref_grads):
        _close(gw, rw, TOL[dtype])
        _close(gb, rb, TOL[dtype])


# 31 rows make one pass over the batch (fewer than tuning's short_step_rows, and 31 x
# 13400 weights below its short_step_madds); 101 rows a halved step: two halves of 51
# and 50 rows, each on its own thread, their gradients added.
@pytest.mark.parametrize("rows", [31, 101])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("hidden", ["identity", "relu", "leaky_relu", "sigmoid", "tanh", "gelu"])
@pytest.mark.parametrize(
    "output,loss,reduction",
    [
        ("identity", "mse", "mean"),
        ("tanh", "mse", "sum"),
        ("identity", "cross_entropy", "mean"),
        ("softmax", "cross_entropy", "sum"),
        ("identity", "bce", "mean"),
        ("sigmoid", "bce", "sum"),
    ],
)
def test_gradients_match_autograd(dtype, hidden, output, loss, reduction, rows):
    rng = np.random.default_rng(0)
    # Wide enough that the packed-GEMM layers run too, not only the small-layer path.
    model = fastmlp.MLP(
        [5, 40, 300, 4], activation=hidden, output_activation=output, dtype=dtype, seed=1, negative_slope=0.1
    )
    X = rng.standard_normal((rows, 5)).astype(dtype)
    if loss == "cross_entropy":
        y = rng.integers(0, 4, rows)
    else:
        y = rng.random((rows, 4)).astype(dtype)
    loss_fn = fastmlp.losses.get(loss)
    loss_fn.reduction = reduction
    _check_against_autograd(model, X, y, loss_fn, dtype)


def _small_dense_shapes():
    """(rows, inputs, outputs) of layers on both sides of each limit of the direct loops
    (SmallDenseLimits of the kernel set in use): at a limit they take the loops, one row,
    input or output past it the GEMM paths."""
    lim = fastmlp._core._small_dense_limits()
    wide = lim.narrow_outputs + 1  # too many outputs for the narrow rule
    rows = lim.max_madds // (8 * wide)
    n, k = lim.narrow_outputs, lim.narrow_inputs
    narrow_rows = lim.narrow_madds // (n * k)
    return [
        (rows, 8, wide),
        (rows + 1, 8, wide),
        (narrow_rows, k, n),
        (narrow_rows + 1, k, n),
        (narrow_rows, k + 1, n),
        (narrow_rows // 2, k, n + 1),
    ]


def test_small_dense_limits_are_ordered():
    lim = fastmlp._core._small_dense_limits()
    assert 0 < lim.max_madds < lim.narrow_madds
    assert lim.narrow_outputs >= 1 and lim.narrow_inputs >= 1


# The layer under test is the second, so that its input gradient is checked too.
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", range(len(_small_dense_shapes())))
def test_gradients_at_the_small_layer_limits(isa, dtype, shape):
    rows, k, n = _small_dense_shapes()[shape]
    rng = np.random.default_rng(shape)
    model = fastmlp.MLP([3, k, n], activation="tanh", dtype=dtype, seed=2)
    X = rng.standard_normal((rows, 3)).astype(dtype)
    y = rng.random((rows, n)).astype(dtype)
    loss_fn = fastmlp.losses.get("mse")
    _check_against_autograd(model, X, y, loss_fn, dtype)


def test_probability_targets_and_no_bias():
    rng = np.random.default_rng(3)
    model = fastmlp.MLP([3, 6, 5], dtype="float64", bias=False, seed=0)
    X = rng.standard_normal((10, 3))
    y = rng.dirichlet(np.ones(5), 10)
    value, grads = model.loss_and_grads(X, y, "cross_entropy")
    net = model.to_torch()
    ref = torch.nn.CrossEntropyLoss()(net(torch.from_numpy(X)), torch.from_numpy(y))
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-12)
    assert grads[0][1] is None
    np.testing.assert_allclose(grads[0][0], net[0].weight.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize(
    "optimizer,torch_opt",
    [
        (lambda: fastmlp.optim.Adam(lr=1e-2), lambda p: torch.optim.Adam(p, lr=1e-2)),
        (
            lambda: fastmlp.optim.SGD(lr=0.05, momentum=0.9),
            lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
        ),
    ],
)
def test_fit_follows_torch_loss_curve(optimizer, torch_opt):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3))
    y = np.sin(X.sum(1, keepdims=True))
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, 16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, 1),
    ).double()
    model = fastmlp.MLP.from_torch(net)
    assert model.dtype == np.float64
    history = model.fit(
        X, y, loss="mse", optimizer=optimizer(), epochs=5, batch_size=32, shuffle=False, verbose=False
    )
    topt = torch_opt(net.parameters())
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    curve = []
    for _ in range(5):
        total = 0.0
        for s in range(0, 200, 32):
            topt.zero_grad()
            batch_loss = torch.nn.functional.mse_loss(net(Xt[s : s + 32]), yt[s : s + 32])
            batch_loss.backward()
            topt.step()
            total += batch_loss.item() * len(Xt[s : s + 32])
        curve.append(total / 200)
    np.testing.assert_allclose(history["loss"], curve, rtol=1e-8)
    np.testing.assert_allclose(model.layers[0].weight, net[0].weight.detach().numpy(), rtol=1e-8, atol=1e-10)


def test_train_step_equals_one_torch_step():
    rng = np.random.default_rng(0)
    model = fastmlp.MLP([4, 8, 3], dtype="float64", seed=0)
    net = model.to_torch()
    X, y = rng.standard_normal((16, 4)), rng.integers(0, 3, 16)
    opt = fastmlp.optim.RMSprop(lr=0.01, momentum=0.5)
    value = model.train_step(X, y, "cross_entropy", opt)
    topt = torch.optim.RMSprop(net.parameters(), lr=0.01, momentum=0.5)
    ref = torch.nn.functional.cross_entropy(net(torch.from_numpy(X)), torch.from_numpy(y))
    ref.backward()
    topt.step()
    assert value == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(model.layers[1].weight, net[2].weight.detach().numpy(), rtol=1e-10)


def test_torch_round_trip_keeps_outputs():
    model = fastmlp.MLP(
        [3, 5, 4, 2],
        activation=["gelu", "leaky_relu"],
        output_activation="softmax",
        dropout=0.2,
        negative_slope=0.2,
        seed=0,
        dtype="float64",
    )
    net = model.to_torch().eval()
    X = np.random.default_rng(0).standard_normal((6, 3))
    np.testing.assert_allclose(model.predict(X), net(torch.from_numpy(X)).detach().numpy(), rtol=1e-12)
    back = fastmlp.MLP.from_torch(net)
    assert back.dropout == pytest.approx(0.2) and back.negative_slope == pytest.approx(0.2)
    np.testing.assert_array_equal(back.predict(X), model.predict(X))
    with pytest.raises(ValueError, match="module\\[1\\]"):
        fastmlp.MLP.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Softplus()))

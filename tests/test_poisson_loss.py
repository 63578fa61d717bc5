"""The half Poisson deviance (fastmlp.losses.PoissonLoss) against PyTorch's autograd."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fastmlp  # noqa: E402
from fastmlp import losses  # noqa: E402

TOL = {np.float32: 1e-5, np.float64: 1e-10, "float32": 1e-5, "float64": 1e-10}


def _close(a, b, tol):
    assert np.abs(np.asarray(a) - b).max() <= tol * max(np.abs(b).max(), 1e-30)


def _torch_poisson(out, t):
    """Per element: torch's PoissonNLLLoss on log-rates plus t log t - t (free of out)."""
    nll = torch.nn.PoissonNLLLoss(log_input=True, full=False, reduction="none")(out, t)
    return nll + torch.special.xlogy(t, t) - t


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_and_gradient_match_torch(dtype, reduction, weighted):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((17, 3)).astype(dtype)
    t = rng.poisson(2.0, (17, 3)).astype(dtype)  # zeros among them
    w = (rng.random(17) * 3).astype(dtype) if weighted else None
    value, grad = losses.PoissonLoss(reduction).forward_backward(x, t, sample_weight=w)
    xt = torch.tensor(x, requires_grad=True)
    rows = _torch_poisson(xt, torch.from_numpy(t)).sum(1)
    if w is not None:
        rows = rows * torch.from_numpy(w)
    ref = rows.sum()
    if reduction == "mean":
        ref = ref / (float(w.sum()) if w is not None else 17.0) / 3
    ref.backward()
    _close(value, ref.item(), TOL[dtype])
    _close(grad, xt.grad.numpy(), TOL[dtype])


def test_zero_where_the_rate_is_the_target():
    t = np.array([[0.5, 3.0], [7.0, 1.0]])
    assert abs(losses.get("poisson")(np.log(t), t)) < 1e-14
    # A zero count: the loss is the rate itself.
    assert losses.PoissonLoss("sum")(np.array([[0.3]]), np.array([[0.0]])) == pytest.approx(np.exp(0.3))


def test_negative_targets_are_refused():
    with pytest.raises(ValueError, match="target for the poisson loss must be >= 0"):
        losses.PoissonLoss()(np.zeros((2, 1)), np.array([[1.0], [-1.0]]))


@pytest.mark.parametrize("rows", [31, 101])  # 31: one pass; 101: a halved step (two halves)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_network_gradients_match_autograd(dtype, rows):
    rng = np.random.default_rng(1)
    model = fastmlp.MLP([5, 40, 300, 2], activation="tanh", dtype=dtype, seed=0)
    X = rng.standard_normal((rows, 5)).astype(dtype)
    y = rng.poisson(1.5, (rows, 2)).astype(dtype)
    value, grads = model.loss_and_grads(X, y, "poisson")
    net = model.to_torch()
    ref = _torch_poisson(net(torch.from_numpy(X)), torch.from_numpy(y)).mean()
    ref.backward()
    _close(value, ref.item(), TOL[dtype])
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    for (gw, gb), layer in zip(grads, linears):
        _close(gw, layer.weight.grad.numpy(), TOL[dtype])
        _close(gb, layer.bias.grad.numpy(), TOL[dtype])

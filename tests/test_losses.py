import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fastmlp import losses  # noqa: E402 (after the importorskip)

RNG = np.random.default_rng(0)
TOL = {np.float32: 1e-5, np.float64: 1e-10}


def _torch_loss(name, reduction, x, target):
    xt = torch.tensor(x, requires_grad=True)
    tt = torch.from_numpy(target)
    fn = {
        "mse": torch.nn.MSELoss,
        "cross_entropy": torch.nn.CrossEntropyLoss,
        "bce": torch.nn.BCEWithLogitsLoss,
    }[name](reduction=reduction)
    value = fn(xt, tt)
    value.backward()
    return value.item(), xt.grad.numpy()


def _close(a, b, dtype):
    assert np.abs(np.asarray(a) - b).max() <= TOL[dtype] * max(np.abs(b).max(), 1e-30)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize(
    "name,target",
    [
        ("mse", "values"),
        ("bce", "probabilities"),
        ("cross_entropy", "labels"),
        ("cross_entropy", "probabilities"),
    ],
)
def test_loss_and_gradient_match_torch(dtype, reduction, name, target):
    x = (RNG.standard_normal((17, 5)) * 3).astype(dtype)
    if target == "labels":
        t = RNG.integers(0, 5, 17)
    elif target == "probabilities":
        t = (
            RNG.dirichlet(np.ones(5), 17).astype(dtype)
            if name == "cross_entropy"
            else RNG.random((17, 5)).astype(dtype)
        )
    else:
        t = RNG.standard_normal((17, 5)).astype(dtype)
    loss = losses.get(name)
    loss.reduction = reduction
    value, grad = loss.forward_backward(x, t)
    ref_value, ref_grad = _torch_loss(name, reduction, x, t)
    assert grad.dtype == dtype
    _close(value, ref_value, dtype)
    _close(grad, ref_grad, dtype)


def test_cross_entropy_is_stable_for_large_logits():
    x = np.array([[1000.0, 0.0], [-1000.0, 0.0]])
    value, grad = losses.CrossEntropyLoss().forward_backward(x, np.array([1, 1]))
    assert np.isfinite(value) and np.isfinite(grad).all()
    assert value == pytest.approx(500.0)


def test_bad_names_and_targets():
    with pytest.raises(ValueError, match="unknown loss"):
        losses.get("hinge")
    with pytest.raises(ValueError, match="reduction"):
        losses.MSELoss(reduction="none")
    with pytest.raises(ValueError, match="label 3 outside"):
        losses.CrossEntropyLoss()(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="target has shape"):
        losses.MSELoss()(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        losses.MSELoss()(np.zeros((2, 1)), np.array([0.0, np.nan]))

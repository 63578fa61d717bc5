import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fastmlp  # noqa: E402 (after the importorskip)
from fastmlp import init  # noqa: E402 (after the importorskip)


@pytest.mark.parametrize(
    "name,param",
    [
        ("linear", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("selu", None),
    ],
)
def test_gains_match_torch(name, param):
    assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))


def _bound_and_std(fill):
    w = np.empty((300, 200))
    fill(w)
    return np.abs(w).max(), w.std()


@pytest.mark.parametrize(
    "ours,theirs,uniform",
    [
        (
            lambda w: init.xavier_uniform(w, gain=2.0, rng=0),
            lambda t: torch.nn.init.xavier_uniform_(t, gain=2.0),
            True,
        ),
        (lambda w: init.xavier_normal(w, rng=0), torch.nn.init.xavier_normal_, False),
        (
            lambda w: init.kaiming_uniform(w, a=math.sqrt(5), rng=0),
            lambda t: torch.nn.init.kaiming_uniform_(t, a=math.sqrt(5)),
            True,
        ),
        (
            lambda w: init.kaiming_normal(w, mode="fan_out", nonlinearity="relu", rng=0),
            lambda t: torch.nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"),
            False,
        ),
        (lambda w: init.uniform(w, -0.5, 2.0, rng=0), lambda t: torch.nn.init.uniform_(t, -0.5, 2.0), True),
        (lambda w: init.normal(w, 0.0, 0.3, rng=0), lambda t: torch.nn.init.normal_(t, 0.0, 0.3), False),
    ],
)
def test_distributions_match_torch(ours, theirs, uniform):
    torch.manual_seed(0)
    t = torch.empty(300, 200, dtype=torch.float64)
    theirs(t)
    ob, os_ = _bound_and_std(ours)
    assert os_ == pytest.approx(t.std().item(), rel=0.03)
    if uniform:  # the bound itself
        assert ob == pytest.approx(t.abs().max().item(), rel=0.01)


def test_constants_and_orthogonal():
    assert (init.zeros(np.ones((2, 3))) == 0).all()
    assert (init.ones(np.zeros(4)) == 1).all()
    assert (init.constant(np.zeros(4), 2.5) == 2.5).all()
    for shape in [(5, 8), (8, 5)]:
        q = init.orthogonal(np.empty(shape), gain=2.0, rng=0)
        small = min(shape)
        gram = q @ q.T if shape[0] < shape[1] else q.T @ q
        np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-12)


def test_fresh_model_is_distributed_like_torch_linear():
    model = fastmlp.MLP([400, 300, 1], seed=0, dtype="float64")
    w, b = model.layers[0].weight, model.layers[0].bias
    bound = 1 / math.sqrt(400)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    assert np.abs(b).max() <= bound
    assert fastmlp.MLP([400, 300, 1], seed=0).layers[0].weight.dtype == np.float32


def test_init_by_name_and_callable():
    m = fastmlp.MLP([3, 4, 2], init="zeros", seed=0)
    assert (m.layers[0].weight == 0).all() and (m.layers[0].bias != 0).any()
    m = fastmlp.MLP([3, 4, 2], init=lambda w, rng: init.constant(w, 0.5), seed=0)
    assert (m.layers[1].weight == 0.5).all()
    with pytest.raises(ValueError, match="unknown init"):
        fastmlp.MLP([3, 2], init="he")

"""Training refuses parameters flagged read-only (as optimizer.step does), naming the
layer, and leaves them untouched."""

import numpy as np
import pytest

import fastmlp
from fastmlp import optim


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3)).astype(np.float32)
    return X, rng.standard_normal((40, 2)).astype(np.float32)


@pytest.mark.parametrize("layer,kind", [(0, "weight"), (1, "bias")])
@pytest.mark.parametrize("how", ["train_step", "fit"])
def test_training_refuses_read_only_parameters(layer, kind, how):
    X, y = _data()
    model = fastmlp.MLP([3, 4, 2], seed=0)
    frozen = getattr(model.layers[layer], kind)
    frozen.flags.writeable = False
    before = [p.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match=rf"layers\[{layer}\]\.{kind} is read-only"):
        if how == "fit":
            model.fit(X, y, epochs=2, verbose=False)
        else:
            model.train_step(X, y)
    for b, p in zip(before, model.parameters()):
        np.testing.assert_array_equal(b, p)
    frozen.flags.writeable = True  # writeable again, it trains
    index = next(i for i, p in enumerate(model.parameters()) if p is frozen)
    model.train_step(X, y, optimizer=optim.SGD(lr=0.1))
    assert not np.array_equal(frozen, before[index])


def test_optimizer_step_refuses_as_well():
    model = fastmlp.MLP([3, 2], seed=0)
    model.layers[0].weight.flags.writeable = False
    grads = [np.ones_like(p) for p in model.parameters()]
    with pytest.raises(ValueError):
        optim.SGD(lr=0.1).step(model.parameters(), grads)

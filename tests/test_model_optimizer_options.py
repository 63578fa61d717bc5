"""Optimizer options the scikit-learn estimators rely on, through a model's train_step:
penalty_in_loss (alpha divided by the batch weight) and Adam's eps_hat (Kingma & Ba's
epsilon-hat, scikit-learn's placement)."""

import numpy as np
import pytest

import fastmlp
from fastmlp import losses


def test_penalty_in_loss_divides_weight_decay_by_the_batch_weight():
    # (sum_i w_i l_i + wd/2 ||W||^2) / sum_i w_i: the same step as weight decay
    # wd / sum_i w_i added to the mean gradient.
    rng = np.random.default_rng(0)
    X, y, w = rng.standard_normal((12, 3)), rng.standard_normal((12, 1)), rng.random(12) + 0.5
    a = fastmlp.MLP([3, 5, 1], dtype="float64", seed=0)
    b = fastmlp.MLP([3, 5, 1], dtype="float64", seed=0)
    loss = losses.MSELoss()
    a.train_step(
        X, y, loss, fastmlp.optim.SGD(lr=0.1, weight_decay=0.3, penalty_in_loss=True), sample_weight=w
    )
    b.train_step(X, y, loss, fastmlp.optim.SGD(lr=0.1, weight_decay=0.3 / w.sum()), sample_weight=w)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(p, q, rtol=1e-14, atol=1e-16)


def test_adam_eps_hat_is_sklearns_update():
    # scikit-learn's AdamOptimizer: lr_t = lr sqrt(1 - b2^t) / (1 - b1^t),
    # p -= lr_t m / (sqrt(v) + eps); a large eps makes the placement matter.
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 3)), rng.standard_normal((20, 1))
    model = fastmlp.MLP([3, 4, 1], dtype="float64", seed=0)
    params = [p.copy() for p in model.parameters()]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-2
    opt = fastmlp.optim.Adam(lr=lr, betas=(b1, b2), eps=eps, eps_hat=True)
    for t in range(1, 4):
        _, grads = model.loss_and_grads(X, y)
        flat = [g for pair in grads for g in pair]
        lr_t = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        for i, g in enumerate(flat):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g**2
            params[i] = params[i] - lr_t * m[i] / (np.sqrt(v[i]) + eps)
        model.train_step(X, y, "mse", opt)
        for p, q in zip(model.parameters(), params):
            np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-15)
    # The default is torch's placement, which differs with this eps from the first step.
    first = []
    for eps_hat in (False, True):
        one = fastmlp.MLP([3, 4, 1], dtype="float64", seed=0)
        one.train_step(X, y, "mse", fastmlp.optim.Adam(lr=lr, betas=(b1, b2), eps=eps, eps_hat=eps_hat))
        first.append(one.layers[0].weight)
    assert not np.allclose(first[0], first[1], rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_epoch_reports_each_batch_penalty_before_its_update(dtype):
    # batch_penalty[b] = (wd/2 ||W||^2 + l1 |W|_1) / (what the mean MSE divides by: rows x
    # outputs), from the weights that batch b starts from; decay_bias=False leaves the
    # biases out. Weight counts that are not multiples of the 8 partial sums, every ISA.
    from fastmlp import _core

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 7)), rng.standard_normal((40, 3))
    wd, l1, batch = 0.3, 0.02, 16
    reports = []
    try:
        for isa in fastmlp.cpu_info()["available_isas"]:
            _core._set_isa(isa)
            model = fastmlp.MLP([7, 13, 3], dtype=dtype, seed=0)
            start = [layer.weight.astype(np.float64) for layer in model.layers]
            opt = fastmlp.optim.SGD(lr=0.1, weight_decay=wd, l1=l1, decay_bias=False, penalty_in_loss=True)
            loss = losses.MSELoss()
            Xc, yc, w = model._data(X, y, loss, "X", "y")
            result = model._train_epoch(Xc, yc, w, loss, opt, opt._bind(model.parameters()), batch, False)
            expected = sum(0.5 * wd * np.sum(W**2) + l1 * np.sum(np.abs(W)) for W in start) / (batch * 3)
            np.testing.assert_allclose(result.batch_penalty[0], expected, rtol=1e-13)
            # Later batches start from updated weights: a different penalty.
            assert result.batch_penalty[1] != result.batch_penalty[0]
            reports.append(result.batch_penalty)
    finally:
        _core._init_from_environment()
    for r in reports[1:]:
        np.testing.assert_array_equal(r[:1], reports[0][:1])

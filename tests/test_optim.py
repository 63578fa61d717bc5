import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fastmlp import optim  # noqa: E402 (after the importorskip)

CASES = [
    (optim.SGD, torch.optim.SGD, dict(lr=0.1)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (optim.Adam, torch.optim.Adam, dict()),
    (optim.Adam, torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    (optim.AdamW, torch.optim.AdamW, dict()),
    (optim.AdamW, torch.optim.AdamW, dict(lr=0.01, weight_decay=0.3)),
    (optim.RMSprop, torch.optim.RMSprop, dict()),
    (optim.RMSprop, torch.optim.RMSprop, dict(lr=0.01, momentum=0.9, weight_decay=0.01)),
    (optim.RMSprop, torch.optim.RMSprop, dict(lr=0.01, centered=True, alpha=0.9)),
    (optim.RMSprop, torch.optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.5)),
]


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 2e-6)])
@pytest.mark.parametrize("ours,theirs,kwargs", CASES)
def test_steps_match_torch_optim(ours, theirs, kwargs, dtype, rtol):
    rng = np.random.default_rng(1)
    params = [rng.standard_normal((7, 5)).astype(dtype), rng.standard_normal(7).astype(dtype)]
    tparams = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    opt, topt = ours(**kwargs), theirs(tparams, **kwargs)
    for _ in range(6):
        grads = [rng.standard_normal(p.shape).astype(dtype) for p in params]
        for tp, g in zip(tparams, grads):
            tp.grad = torch.from_numpy(g.copy())
        topt.step()
        opt.step(params, grads)
    assert opt.steps == 6
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=rtol, atol=rtol)


@pytest.mark.parametrize(
    "ours,theirs,kwargs",
    [
        (optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.05)),
        (optim.Adam, torch.optim.Adam, dict(lr=0.01, weight_decay=0.1)),
        (optim.AdamW, torch.optim.AdamW, dict(lr=0.01, weight_decay=0.3)),
        (optim.RMSprop, torch.optim.RMSprop, dict(lr=0.01, weight_decay=0.1)),
    ],
)
def test_decay_bias_false_matches_a_torch_group_without_decay_for_biases(ours, theirs, kwargs):
    rng = np.random.default_rng(2)
    params = [rng.standard_normal((6, 4)), rng.standard_normal(6)]
    w, b = (torch.tensor(p.copy(), requires_grad=True) for p in params)
    topt = theirs([{"params": [w]}, {"params": [b], "weight_decay": 0.0}], **kwargs)
    opt = ours(**kwargs, decay_bias=False)
    for _ in range(4):
        grads = [rng.standard_normal(p.shape) for p in params]
        w.grad, b.grad = (torch.from_numpy(g.copy()) for g in grads)
        topt.step()
        opt.step(params, grads)
    np.testing.assert_allclose(params[0], w.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(params[1], b.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_decay_bias_false_in_fit_leaves_a_gradient_free_bias_alone():
    import fastmlp

    model = fastmlp.MLP([3, 1], dtype="float64", seed=0)
    model.layers[0].weight[...] = 0.0  # zero output: the MSE gradient vanishes at y = 0
    model.layers[0].bias[...] = 0.5
    X, y = np.zeros((8, 3)), np.full((8, 1), 0.5)
    model.fit(X, y, optimizer=optim.SGD(lr=0.1, weight_decay=1.0, decay_bias=False), epochs=3, verbose=False)
    np.testing.assert_array_equal(model.layers[0].bias, 0.5)
    model.fit(X, y, optimizer=optim.SGD(lr=0.1, weight_decay=1.0), epochs=3, verbose=False)
    assert np.all(model.layers[0].bias < 0.5)


def test_l1_penalty_adds_sign_to_the_gradient():
    rng = np.random.default_rng(2)
    w = rng.standard_normal(20)
    g = rng.standard_normal(20)
    tw = torch.tensor(w.copy(), requires_grad=True)
    topt = torch.optim.SGD([tw], lr=0.1, momentum=0.9, weight_decay=0.01)
    opt = optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.01, l1=0.05)
    for _ in range(3):
        topt.zero_grad()
        (tw * torch.from_numpy(g)).sum().add(0.05 * tw.abs().sum()).backward()
        topt.step()
        opt.step([w], [g])
    np.testing.assert_allclose(w, tw.detach().numpy(), rtol=1e-12)


def test_an_optimizer_serves_one_set_of_parameters():
    opt = optim.Adam()
    a, b = np.zeros(3), np.zeros(3)
    opt.step([a], [np.ones(3)])
    with pytest.raises(ValueError, match="other parameters"):
        opt.step([b], [np.ones(3)])
    opt.reset()
    opt.step([b], [np.ones(3)])


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: optim.SGD(lr=-1), "lr"),
        (lambda: optim.SGD(lr=0.1, nesterov=True), "nesterov"),
        (lambda: optim.Adam(betas=(0.9, 1.0)), r"betas\[1\]"),
        (lambda: optim.get("adagrad"), "unknown optimizer"),
    ],
)
def test_bad_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "make",
    [
        lambda: optim.Adam(lr=0.01, weight_decay=0.1),
        lambda: optim.AdamW(lr=0.01, eps_hat=True),
        lambda: optim.SGD(lr=0.1, momentum=0.9, nesterov=True, l1=0.01),
        lambda: optim.RMSprop(lr=0.01, centered=True, momentum=0.5),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_updates_are_bit_identical_on_every_isa(make, dtype):
    """The update loops are compiled per ISA without FMA contraction: same bits everywhere."""
    import fastmlp
    from fastmlp import _core

    results = []
    try:
        for isa in fastmlp.cpu_info()["available_isas"]:
            _core._set_isa(isa)
            rng = np.random.default_rng(1)
            params = [rng.standard_normal((37, 53)).astype(dtype), rng.standard_normal(37).astype(dtype)]
            opt = make()
            for _ in range(5):
                opt.step(params, [rng.standard_normal(p.shape).astype(dtype) for p in params])
            results.append(np.concatenate([p.ravel() for p in params]))
    finally:
        _core._init_from_environment()
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])

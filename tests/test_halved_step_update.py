"""A halved training step (two halves of the batch on two threads, mlp.cpp) makes its
optimizer update inside the same threads, each on the share of the parameters whose
halves it added: the update must be the one the optimizer makes on the step's
gradients, bit for bit, and an epoch's penalty must still be that of the weights the
batch starts from."""

import numpy as np
import pytest

import fastmlp
from fastmlp import losses, optim

# 101 rows x 13400 weights: a halved step (at least tuning's threaded_step_madds and
# below halved_step_madds), in halves of 51 and 50 rows.
SIZES, ROWS = [5, 40, 300, 4], 101

OPTIMIZERS = {
    "sgd": lambda: optim.SGD(0.05, momentum=0.9, nesterov=True, weight_decay=1e-3, l1=1e-4),
    "adam": lambda: optim.Adam(1e-2, weight_decay=1e-3, decay_bias=False),
    "adamw": lambda: optim.AdamW(1e-2, weight_decay=1e-2),
    "rmsprop": lambda: optim.RMSprop(1e-3, momentum=0.5),
}


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_halved_train_step_is_the_optimizer_on_its_gradients(restore_threads, threads, dtype, name):
    fastmlp.set_num_threads(threads)
    rng = np.random.default_rng(0)
    fused = fastmlp.MLP(SIZES, dtype=dtype, seed=1)
    apart = fastmlp.MLP(SIZES, dtype=dtype, seed=1)
    opt_fused, opt_apart = OPTIMIZERS[name](), OPTIMIZERS[name]()
    for _ in range(3):  # momentum and moment estimates carry over
        X = rng.standard_normal((ROWS, SIZES[0])).astype(dtype)
        y = rng.standard_normal((ROWS, SIZES[-1])).astype(dtype)
        loss = fused.train_step(X, y, "mse", opt_fused)
        value, grads = apart.loss_and_grads(X, y, "mse")
        opt_apart.step(apart.parameters(), [g for pair in grads for g in pair])
        assert loss == value
        for p, q in zip(fused.parameters(), apart.parameters()):
            np.testing.assert_array_equal(p, q)
    assert opt_fused.steps == opt_apart.steps == 3


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_halved_epochs_bit_identical_while_a_core_is_busy(restore_threads, busy_core, dtype):
    # The thread that finishes its half first takes chunks of the other's share of the
    # update (mlp.cpp): each value must still be updated once, as one thread updates it.
    rng = np.random.default_rng(2)
    X = rng.standard_normal((8 * ROWS, SIZES[0])).astype(dtype)
    y = rng.standard_normal((8 * ROWS, SIZES[-1])).astype(dtype)
    trained = []
    for threads in (1, 2):
        fastmlp.set_num_threads(threads)
        model = fastmlp.MLP(SIZES, dtype=dtype, seed=3)
        model.fit(X, y, epochs=4, batch_size=ROWS, optimizer=optim.Adam(1e-2), loss="mse", verbose=False)
        trained.append(model.parameters())
    for p, q in zip(*trained):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_halved_epoch_reports_each_batch_penalty_before_its_update(dtype):
    # Two batches of ROWS rows, in order: batch 1's penalty is that of the weights after
    # batch 0's update, which the same step through train_step gives.
    rng = np.random.default_rng(1)
    X = rng.standard_normal((2 * ROWS, SIZES[0]))
    y = rng.standard_normal((2 * ROWS, SIZES[-1]))
    wd, l1 = 0.3, 0.02

    def make():
        return optim.Adam(1e-2, weight_decay=wd, l1=l1, decay_bias=False, penalty_in_loss=True)

    def penalty(model):
        weights = [layer.weight.astype(np.float64) for layer in model.layers]
        return sum(0.5 * wd * np.sum(W**2) + l1 * np.sum(np.abs(W)) for W in weights) / (ROWS * SIZES[-1])

    model, replay = fastmlp.MLP(SIZES, dtype=dtype, seed=0), fastmlp.MLP(SIZES, dtype=dtype, seed=0)
    expected = [penalty(model)]
    opt = make()
    loss = losses.MSELoss()
    Xc, yc, w = model._data(X, y, loss, "X", "y")
    result = model._train_epoch(Xc, yc, w, loss, opt, opt._bind(model.parameters()), ROWS, False)
    replay.train_step(X[:ROWS].astype(dtype), y[:ROWS].astype(dtype), loss, make())
    expected.append(penalty(replay))
    np.testing.assert_allclose(result.batch_penalty, expected, rtol=1e-12)
    assert expected[0] != expected[1]

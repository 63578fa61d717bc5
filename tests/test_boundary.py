"""Arguments are checked where they enter, with a ValueError naming them (not a
pybind11 "incompatible function arguments" later), settings the engine was built with
stay consistent with it, and the Python/C++ boundary is typed."""

import tracemalloc

import numpy as np
import pytest

import fastmlp
from fastmlp import _core, losses, optim


def _data(n=64):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 3)).astype(np.float32)
    return X, X[:, :2] * 2


def test_seed_must_fit_64_bits(tmp_path):
    with pytest.raises(ValueError, match="seed must be <= 18446744073709551615"):
        fastmlp.MLP([3, 2], seed=2**64)
    model = fastmlp.MLP([3, 2], seed=2**64 - 1)  # the largest one trains, saves and loads
    model.fit(*_data(), epochs=1, verbose=False)
    model.save(tmp_path / "m.safetensors")
    assert fastmlp.load(tmp_path / "m.safetensors").seed == 2**64 - 1


def test_huge_batch_size_is_one_batch():
    X, y = _data()
    a, b = fastmlp.MLP([3, 2], seed=0), fastmlp.MLP([3, 2], seed=0)
    ha = a.fit(X, y, epochs=2, batch_size=2**63, verbose=False)
    hb = b.fit(X, y, epochs=2, batch_size=len(X), verbose=False)
    assert ha["loss"] == hb["loss"]


@pytest.mark.parametrize("shuffle", ["no", None, 2, 0.5])
def test_shuffle_must_be_a_bool(shuffle):
    with pytest.raises(ValueError, match="shuffle must be True or False"):
        fastmlp.MLP([3, 2], seed=0).fit(*_data(), shuffle=shuffle, verbose=False)


def test_dropout_set_after_construction_is_used_and_checked():
    X, y = _data()
    late = fastmlp.MLP([3, 8, 2], seed=0)
    late.dropout = 0.5
    early = fastmlp.MLP([3, 8, 2], dropout=0.5, seed=0)
    assert late.fit(X, y, epochs=2, verbose=False)["loss"] == early.fit(X, y, epochs=2, verbose=False)["loss"]
    assert late.get_config()["dropout"] == 0.5
    with pytest.raises(ValueError, match="dropout"):
        late.dropout = 1.0


def test_negative_slope_set_after_construction_is_used():
    X = _data()[0]
    late = fastmlp.MLP([3, 8, 2], activation="leaky_relu", seed=0)
    late.negative_slope = 0.3
    early = fastmlp.MLP([3, 8, 2], activation="leaky_relu", negative_slope=0.3, seed=0)
    np.testing.assert_array_equal(late.predict(X), early.predict(X))


def test_layers_cannot_be_replaced():
    model = fastmlp.MLP([3, 4, 2], seed=0)
    with pytest.raises(AttributeError):
        model.layers = model.layers[:1]
    assert isinstance(model.layers, tuple) and len(model.layers) == 2


@pytest.mark.parametrize("loss", [losses.MSELoss(), losses.BCEWithLogitsLoss()])
def test_loss_of_an_empty_batch(loss):
    with pytest.raises(ValueError, match="empty batch"):
        loss(np.zeros((0, 3)), np.zeros((0, 3)))


def test_negative_slope_that_overflows_the_dtype():
    with pytest.raises(ValueError, match="overflows float32"):
        fastmlp.MLP([3, 2], activation="leaky_relu", negative_slope=1e39)
    fastmlp.MLP([3, 2], activation="leaky_relu", negative_slope=1e39, dtype="float64")


def _peak(f):
    tracemalloc.start()
    try:
        result = f()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_predict_on_a_zero_stride_view_does_not_copy_it():
    model = fastmlp.MLP([70000, 1], seed=0)
    row = np.random.default_rng(0).standard_normal(70000).astype(np.float32)
    X = np.broadcast_to(row, (4096, 70000))  # 1.1 GB if copied
    out, peak = _peak(lambda: model.predict(X))
    assert peak < 16 * 2**20, f"{peak / 2**20:.0f} MiB"
    np.testing.assert_array_equal(out, np.broadcast_to(model.predict(row), (4096, 1)))


def test_float32_init_has_no_float64_temporary_of_the_weights_size():
    model, peak = _peak(lambda: fastmlp.MLP([4000, 4000], seed=0))
    weight = model.layers[0].weight.nbytes
    assert peak < 1.1 * weight, f"peak {peak / weight:.2f}x the weight's size"


def test_optimizer_settings_cross_as_a_typed_struct():
    with pytest.raises(TypeError):
        _core.OptimConfig(kind="sgd", momentun=0.9)  # misspelled: refused, not defaulted
    settings = optim.SGD(lr=0.1, momentum=0.9)._settings()
    assert settings.lr == 0.1 and settings.momentum == 0.9


def test_epoch_result_is_a_typed_struct():
    X, y = _data()
    model = fastmlp.MLP([3, 2], seed=0)
    opt = optim.SGD(lr=0.1)
    result = model._train_epoch(X, y, None, losses.MSELoss(), opt, opt._bind(model.parameters()), 16, True)
    assert isinstance(result, _core.EpochResult)
    assert result.rows == 64 and result.finite and result.step == opt.steps == 4
    assert result.batch_loss.shape == (4,) and result.interruption is None

import json
import os
import struct

import numpy as np
import pytest

import fastmlp


@pytest.fixture
def model():
    m = fastmlp.MLP(
        [4, 6, 5, 3], activation=["tanh", "relu"], output_activation="softmax", dropout=0.1, seed=3
    )
    m.fit(
        np.random.default_rng(0).standard_normal((20, 4)),
        np.arange(20) % 3,
        loss="cross_entropy",
        epochs=1,
        verbose=False,
    )
    return m


def test_round_trip(tmp_path, model):
    path = tmp_path / "model.safetensors"
    model.save(path)
    loaded = fastmlp.load(path)
    assert loaded.get_config() == model.get_config()
    for a, b in zip(loaded.parameters(), model.parameters()):
        np.testing.assert_array_equal(a, b)
    X = np.random.default_rng(1).standard_normal((7, 4))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]  # no temp file left


def test_float64_without_bias(tmp_path):
    m = fastmlp.MLP([2, 3], bias=False, dtype="float64", seed=0)
    m.save(tmp_path / "m.st")
    loaded = fastmlp.load(tmp_path / "m.st")
    assert loaded.dtype == np.float64 and loaded.layers[0].bias is None
    np.testing.assert_array_equal(loaded.layers[0].weight, m.layers[0].weight)


def test_readable_by_safetensors_and_torch(tmp_path, model):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    torch = pytest.importorskip("torch")
    path = str(tmp_path / "model.safetensors")
    model.save(path)
    tensors = safetensors_numpy.load_file(path)
    np.testing.assert_array_equal(tensors["0.weight"], model.layers[0].weight)
    net = model.to_torch()
    net.load_state_dict(pytest.importorskip("safetensors.torch").load_file(path))
    X = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(
        net.eval()(torch.from_numpy(X)).detach().numpy(), model.predict(X), rtol=1e-5, atol=1e-6
    )


def _corrupt(path, data):
    with open(path, "wb") as f:
        f.write(data)


def test_refuses_bad_files(tmp_path, model):
    good = tmp_path / "good.safetensors"
    model.save(good)
    data = good.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])

    def with_header(h):
        blob = json.dumps(h).encode()
        return struct.pack("<Q", len(blob)) + blob + data[8 + n :]

    bad_dtype = dict(header, **{"0.weight": dict(header["0.weight"], dtype="F16")})
    bad_shape = dict(header, **{"0.weight": dict(header["0.weight"], shape=[4, 6])})
    bad_offsets = dict(header, **{"0.weight": dict(header["0.weight"], data_offsets=[8, 4])})
    foreign = {k: v for k, v in header.items() if k != "__metadata__"}
    cases = {
        "truncated": data[:-5],
        "tiny": data[:5],
        "header_truncated": data[: 8 + n // 2],
        "garbled": data[:8] + b"\xff" * n + data[8 + n :],
        "huge_header_size": struct.pack("<Q", 2**62) + data[8:],
        "dtype": with_header(bad_dtype),
        "shape": with_header(bad_shape),
        "offsets": with_header(bad_offsets),
        "foreign": with_header(foreign),
        "pickle": b"\x80\x04\x95" + data[3:],
    }
    for name, blob in cases.items():
        path = tmp_path / f"{name}.safetensors"
        _corrupt(path, blob)
        with pytest.raises(ValueError):
            fastmlp.load(path)


def test_failed_save_leaves_previous_file(tmp_path, model, monkeypatch):
    path = tmp_path / "model.safetensors"
    model.save(path)
    before = path.read_bytes()

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]

"""hypothesis property tests of the model file reader: whatever the bytes, fastmlp.load
returns a model or raises ValueError, quickly; it never crashes, hangs, or raises
anything else (MemoryError, RecursionError, KeyError, ...)."""

import json
import os
import struct
import tempfile
import time

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import fastmlp

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True)
SECONDS = 1.0  # per load; the files here are at most a few kB

_GOOD = {}


def _good_file():
    """The bytes of a real small model's file (tanh and relu layers, bias, float32)."""
    if "data" not in _GOOD:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.safetensors")
            fastmlp.MLP([3, 4, 2], activation="tanh", seed=0).save(path)
            with open(path, "rb") as f:
                _GOOD["data"] = f.read()
    return _GOOD["data"]


def _load_or_refuse(data):
    """load() on a file of these bytes: a model, or ValueError naming the path."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "f.safetensors")
        with open(path, "wb") as f:
            f.write(data)
        t0 = time.perf_counter()
        try:
            model = fastmlp.load(path)
        except ValueError as e:
            assert str(e).startswith(path)
            model = None
        assert time.perf_counter() - t0 < SECONDS
    if model is not None:  # what loads is a working model
        out = model.predict(np.zeros((2, model.n_features), model.dtype))
        assert out.shape == (2, model.n_outputs)
    return model


def _with_header(header, body):
    blob = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(blob)) + blob + body


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)

tensor_entries = st.fixed_dictionaries(
    {
        "dtype": st.sampled_from(["F32", "F64", "F16", "I64", "BOOL", ""]) | json_values,
        "shape": st.lists(st.integers(-1, 40), max_size=3) | json_values,
        "data_offsets": st.lists(st.integers(-1, 400), min_size=2, max_size=2) | json_values,
    }
)

configs = st.fixed_dictionaries(
    {
        "layer_sizes": st.lists(st.integers(-1, 6), max_size=5) | json_values,
    },
    optional={
        "activation": st.lists(st.sampled_from(["relu", "tanh", "step", "nope"]), max_size=4) | json_values,
        "bias": st.booleans() | json_values,
        "dtype": st.sampled_from(["float32", "float64", "int8"]),
        "dropout": st.floats(-1, 2) | json_values,
        "seed": st.integers(-1, 2**65),
        "negative_slope": st.floats(allow_nan=False),
        "unknown": json_values,
    },
)


@SETTINGS
@given(st.binary(max_size=600))
def test_random_bytes(data):
    _load_or_refuse(data)


@SETTINGS
@given(st.binary(max_size=64), st.binary(max_size=400))
def test_random_header_bytes(header, body):
    _load_or_refuse(_with_header(header, body))


@SETTINGS
@given(
    st.dictionaries(
        st.sampled_from(["0.weight", "0.bias", "2.weight", "2.bias", "x"]), tensor_entries, max_size=5
    ),
    st.one_of(configs.map(json.dumps), st.text(max_size=20)),
    st.sampled_from(["fastmlp.MLP", "other"]),
    st.binary(max_size=400),
)
def test_random_headers(tensors, config, fmt, body):
    header = {"__metadata__": {"format": fmt, "fastmlp_config": config}, **tensors}
    _load_or_refuse(_with_header(header, body))


@SETTINGS
@given(st.data())
def test_mutated_model_files(data):
    """A real file with bytes changed, inserted or cut off."""
    blob = bytearray(_good_file())
    for _ in range(data.draw(st.integers(1, 4))):
        where = data.draw(st.integers(0, len(blob) - 1))
        how = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if how == "flip":
            blob[where] ^= data.draw(st.integers(1, 255))
        elif how == "cut":
            del blob[where : where + data.draw(st.integers(1, 16))]
        else:
            blob[where:where] = data.draw(st.binary(min_size=1, max_size=8))
        if not blob:
            break
    _load_or_refuse(bytes(blob))


def test_the_good_file_loads():
    assert _load_or_refuse(_good_file()) is not None

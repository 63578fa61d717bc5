"""fastmlp.load on files made to hurt: each is refused with a ValueError naming the
path, quickly and without allocating what the file claims (the reproducers of issue
11, each with a time and memory bound a regression would break)."""

import json
import os
import struct
import time
import tracemalloc

import numpy as np
import pytest

import fastmlp

SECONDS = 1.0  # each refusal; the old reader took 3-37 s on these
# Python and NumPy allocations while refusing: the old reader allocated 1.5-2.4 GB for
# files of a few hundred bytes or MB. Parsing a header of n bytes may cost a few times
# n (HEADER_COST), the memory of reading a file of its size, never what it declares.
PEAK_BYTES = 16 * 2**20
HEADER_COST = 12


def _file(tmp_path, header, data=b"", name="hostile.safetensors"):
    blob = header if isinstance(header, bytes) else json.dumps(header).encode()
    path = tmp_path / name
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + data)
    return path


def _refused(path, match=None, seconds=SECONDS):
    """load(path) raises ValueError naming the path, within `seconds` (untraced) and
    PEAK_BYTES plus HEADER_COST times the header's size (a second, traced call); the
    message, whatever the file holds, stays short."""
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=match) as info:
        fastmlp.load(path)
    took = time.perf_counter() - t0
    tracemalloc.start()
    try:
        with pytest.raises(ValueError):
            fastmlp.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert message.startswith(os.fspath(path))
    assert len(message) < 600, message[:200]
    assert took < seconds, f"{took:.2f} s to refuse"
    assert peak < PEAK_BYTES + HEADER_COST * _header_size(path), f"{peak / 2**20:.0f} MiB to refuse"
    return message


def _header_size(path):
    """The size of the header a file declares, if it is one a reader must parse: at
    most 100 MiB (safetensors' limit) and within the file; else 0."""
    if not os.path.isfile(path):
        return 0
    with open(path, "rb") as f:
        head = f.read(8)
    n = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
    return n if n <= min(100 * 2**20, os.path.getsize(path) - 8) else 0


def _small_model_file(tmp_path, **config_changes):
    """A real 4-3 model's file, with its fastmlp_config changed."""
    good = tmp_path / "good.safetensors"
    fastmlp.MLP([4, 3], seed=0).save(good)
    data = good.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    config = json.loads(header["__metadata__"]["fastmlp_config"])
    config.update(config_changes)
    header["__metadata__"]["fastmlp_config"] = json.dumps(config)
    return _file(tmp_path, header, data[8 + n :])


@pytest.mark.parametrize("sizes", [[20000, 20000], [30000, 30000], [4, 20000, 3]])
def test_config_bigger_than_the_tensors(tmp_path, sizes):
    path = _small_model_file(tmp_path, layer_sizes=sizes)
    assert path.stat().st_size < 1000
    _refused(path, "layer")


@pytest.mark.parametrize("layers", [200_000, 2_000_000])
def test_config_of_millions_of_layers(tmp_path, layers):
    path = _small_model_file(tmp_path, layer_sizes=[1] * (layers + 1), activation=["relu"] * (layers - 1))
    _refused(path, "fastmlp_config")


def test_dev_zero():
    _refused("/dev/zero", "not a regular file")


def test_header_size_beyond_the_file(tmp_path):
    path = tmp_path / "junk.bin"
    with open(path, "wb") as f:  # 1.5 GB of junk, sparse: no disk or memory spent
        f.write(struct.pack("<Q", 2**30) + os.urandom(4096))
        f.truncate(1_500_000_000)
    _refused(path, "header of")


@pytest.mark.parametrize("where", ["header", "config"])
def test_deeply_nested_brackets(tmp_path, where):
    nested = "[" * 50_000 + "]" * 50_000
    if where == "header":
        path = _file(tmp_path, f'{{"__metadata__": {{}}, "x": {nested}}}'.encode())
    else:
        path = _small_model_file(tmp_path)
        data = path.read_bytes()
        (n,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8 : 8 + n])
        header["__metadata__"]["fastmlp_config"] = nested
        # with enough (empty) tensors that a config this long is not refused for its length
        header.update(
            {f"empty{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(2000)}
        )
        path = _file(tmp_path, header, data[8 + n :])
    _refused(path, "nests brackets too deeply")


@pytest.mark.parametrize("size", [0, 7, 8, 9, 64, 4096, 1 << 20])
def test_random_junk(tmp_path, size):
    rng = np.random.default_rng(size)
    path = tmp_path / "junk.bin"
    path.write_bytes(rng.bytes(size))
    _refused(path)


def test_header_of_zeros(tmp_path):
    path = tmp_path / "zeros.bin"
    path.write_bytes(struct.pack("<Q", 1 << 20) + bytes(1 << 20))
    _refused(path, "not JSON")


def test_tensor_names_are_not_echoed_in_full(tmp_path):
    """A model file with 20,000 extra tensors gets a short message, not one that lists
    them all."""
    data = _small_model_file(tmp_path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header.update(
        {f"{i}.weight": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(2, 20_002)}
    )
    _refused(_file(tmp_path, header, data[8 + n :]), "tensors")

"""Saving and loading models as safetensors files (readable by the safetensors
package and PyTorch; never pickle).

Layout (https://huggingface.co/docs/safetensors): an 8-byte little-endian header size
N, N bytes of JSON describing every tensor (dtype, shape, byte range of the data
section) plus string metadata, then the raw little-endian data. The architecture is
in the metadata under "fastmlp_config" (JSON); the tensor names are those of
``model.to_torch().state_dict()``.
"""
import json
import os
import struct
import tempfile

import numpy as np

from fastmlp._torch import state_dict_names

__all__ = ["save", "load"]

_FORMAT = "fastmlp.MLP"
_DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8")}
_MAX_HEADER = 100 * 2**20  # safetensors' own limit


def save(model, path):
    """Write `model` to `path` atomically: a temporary file in the same directory,
    flushed to disk, then renamed over `path` (readers never see a partial file)."""
    tag = "F32" if model.dtype == np.float32 else "F64"
    tensors, offset = [], 0
    for (i, kind), name in state_dict_names(model).items():
        arr = getattr(model.layers[i], kind).astype(_DTYPES[tag], copy=False)
        tensors.append((name, arr))
    header = {"__metadata__": {"format": _FORMAT, "fastmlp_config": json.dumps(model.get_config())}}
    for name, arr in tensors:
        header[name] = {"dtype": tag, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)  # data aligned to 8 bytes, as safetensors writes it

    path = os.fspath(path)
    fd, tmp = tempfile.mkstemp(prefix=".fastmlp-", suffix=".tmp", dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(blob)))
            f.write(blob)
            for _, arr in tensors:
                f.write(np.ascontiguousarray(arr).tobytes())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load(path):
    """Read a model written by ``MLP.save``. Raises ValueError for a file that is
    truncated, garbled, or not a fastmlp model."""
    from fastmlp.model import MLP

    path = os.fspath(path)
    with open(path, "rb") as f:
        data = f.read()
    header, data_start = _header(data, path)
    meta = header.pop("__metadata__", None)
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise ValueError(f"{path}: a safetensors file but not a fastmlp model (no fastmlp metadata)")
    try:
        config = json.loads(meta["fastmlp_config"])
        model = MLP(init="zeros", **config)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path}: invalid fastmlp_config in the metadata: {e}") from None

    expected = state_dict_names(model)
    if set(header) != set(expected.values()):
        raise ValueError(f"{path}: tensors {sorted(header)} do not match the architecture, "
                         f"which needs {sorted(expected.values())}")
    data_len = len(data) - data_start
    spans = []
    for (i, kind), name in expected.items():
        info = header[name]
        target = getattr(model.layers[i], kind)
        if not isinstance(info, dict) or _DTYPES.get(info.get("dtype")) != target.dtype.newbyteorder("<"):
            raise ValueError(f"{path}: tensor {name} must have dtype {'F32' if target.dtype == np.float32 else 'F64'}")
        if info.get("shape") != list(target.shape):
            raise ValueError(f"{path}: tensor {name} has shape {info.get('shape')}, expected {list(target.shape)}")
        begin, end = _offsets(info.get("data_offsets"), name, path)
        if end - begin != target.nbytes or end > data_len:
            raise ValueError(f"{path}: tensor {name} has data bytes [{begin}, {end}) which do not "
                             f"fit its shape or the {data_len}-byte data section (truncated file?)")
        spans.append((begin, end))
        target[...] = np.frombuffer(data, dtype=_DTYPES[info["dtype"]], count=target.size,
                                    offset=data_start + begin).reshape(target.shape)
    spans.sort()
    if [b for b, _ in spans] != [0] + [e for _, e in spans[:-1]] or spans[-1][1] != data_len:
        raise ValueError(f"{path}: the tensors do not tile the data section exactly (garbled file?)")
    return model


def _header(data, path):
    if len(data) < 8:
        raise ValueError(f"{path}: not a safetensors file (only {len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > _MAX_HEADER or 8 + n > len(data):
        raise ValueError(f"{path}: not a safetensors file or truncated (header of {n} bytes "
                         f"in a {len(data)}-byte file)")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError(f"{path}: not a safetensors file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: not a safetensors file (its header is not a JSON object)")
    return header, 8 + n


def _offsets(value, name, path):
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
            or value[0] > value[1]):
        raise ValueError(f"{path}: tensor {name} has invalid data_offsets {value!r}")
    return value

"""The safetensors file format, and nothing about models (https://huggingface.co/docs/safetensors).

Layout: an 8-byte little-endian header size N, N bytes of JSON (every tensor's dtype,
shape and byte range in the data section, plus string metadata under
"__metadata__"), then the raw little-endian data.

The reader trusts nothing in the file: it reads the 8-byte size first, bounds the
header by the file's size and by MAX_HEADER, refuses JSON nested too deeply, checks
that the declared tensors tile the data section exactly (so what they declare is what
the file holds), and only then reads the tensors, each straight into the caller's
array. Every refusal is a ValueError that starts with the path and stays
short whatever the file holds.
"""

import json
import os
import stat
import struct
import sys

import numpy as np

from fastmlp._files import atomic_write

__all__ = ["DTYPES", "MAX_HEADER", "Reader", "TensorInfo", "parse_json", "short", "write"]

DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8")}  # those fastmlp writes
MAX_HEADER = 100 * 2**20  # the safetensors package's own limit


class TensorInfo:
    """One tensor of the header: dtype (numpy), shape (tuple) and byte range [begin, end)
    of the data section."""

    __slots__ = ("dtype", "shape", "begin", "end")

    def __init__(self, dtype, shape, begin, end):
        self.dtype, self.shape, self.begin, self.end = dtype, shape, begin, end


def short(value, limit=80):
    """repr(value), cut to `limit` characters, for error messages about hostile input."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_json(blob, what):
    """json.loads(blob) (bytes or str), any failure a ValueError saying `what` it was.

    The nesting is bounded by the interpreter's recursion limit: the parser recurses
    once per bracket, and a RecursionError (50,000 nested brackets) is refused like
    any other malformed JSON, in time and memory linear in the text's size.
    """
    try:
        return json.loads(blob)
    except RecursionError:
        raise ValueError(f"{what} nests brackets too deeply") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"{what} is not JSON ({short(str(e))})") from None


class Reader:
    """A safetensors file opened for reading, its header checked.

    ``with Reader(path) as f:`` then ``f.metadata`` (dict of str), ``f.tensors`` (dict
    name -> TensorInfo, in the file's order) and ``f.read_into(name, out)``.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self._file = open(self.path, "rb")
        try:
            self._read_header()
        except BaseException:
            self._file.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._file.close()

    def _refuse(self, why):
        raise ValueError(f"{self.path}: {why}")

    def _read_header(self):
        info = os.fstat(self._file.fileno())
        if not stat.S_ISREG(info.st_mode):
            self._refuse("not a regular file")
        size = info.st_size
        head = self._file.read(8)
        if len(head) < 8:
            self._refuse(f"not a safetensors file (only {len(head)} bytes)")
        (n,) = struct.unpack("<Q", head)
        if not 2 <= n <= min(MAX_HEADER, size - 8):
            self._refuse(
                f"not a safetensors file or truncated (header of {n} bytes in a "
                f"{size}-byte file; at most {MAX_HEADER} bytes)"
            )
        blob = self._file.read(n)
        if len(blob) != n:
            self._refuse("truncated while reading its header")
        header = parse_json(blob, f"{self.path}: not a safetensors file: its header")
        if not isinstance(header, dict):
            self._refuse("not a safetensors file (its header is not a JSON object)")
        meta = header.pop("__metadata__", {})
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            self._refuse("__metadata__ must map names to strings")
        self.metadata = meta
        self.data_start = 8 + n
        self.tensors = {name: self._tensor(name, value) for name, value in header.items()}
        self._check_tiling(size - self.data_start)

    def _tensor(self, name, value):
        if not isinstance(value, dict):
            self._refuse(f"tensor {short(name)} is not described by an object")
        dtype, shape, offsets = value.get("dtype"), value.get("shape"), value.get("data_offsets")
        if not isinstance(dtype, str) or dtype not in DTYPES:
            self._refuse(f"tensor {short(name)} has dtype {short(dtype)}; fastmlp reads {', '.join(DTYPES)}")
        if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
            self._refuse(f"tensor {short(name)} has invalid shape {short(shape)}")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_is_count(v) for v in offsets)
            or offsets[0] > offsets[1]
        ):
            self._refuse(f"tensor {short(name)} has invalid data_offsets {short(offsets)}")
        nbytes = DTYPES[dtype].itemsize
        for d in shape:
            nbytes *= d
        if offsets[1] - offsets[0] != nbytes:
            self._refuse(
                f"tensor {short(name)} of shape {short(shape)} needs {nbytes} bytes, "
                f"its data_offsets span {offsets[1] - offsets[0]}"
            )
        return TensorInfo(DTYPES[dtype], tuple(shape), offsets[0], offsets[1])

    def _check_tiling(self, data_len):
        position = 0
        for info in sorted(self.tensors.values(), key=lambda t: (t.begin, t.end)):
            if info.begin != position:
                break
            position = info.end
        if position != data_len or any(t.end > data_len for t in self.tensors.values()):
            self._refuse(
                f"the tensors do not tile the {data_len}-byte data section exactly "
                f"(truncated or garbled file?)"
            )

    def read_into(self, name, out):
        """Read tensor `name` into `out`, a C-contiguous array of its dtype and shape."""
        info = self.tensors[name]
        if out.shape != info.shape or out.dtype.newbyteorder("<") != info.dtype:
            raise ValueError(f"{self.path}: tensor {short(name)} does not fit {out.dtype}{out.shape}")
        self._file.seek(self.data_start + info.begin)
        if self._file.readinto(memoryview(out).cast("B")) != info.end - info.begin:
            self._refuse(f"truncated while reading tensor {short(name)}")
        if sys.byteorder == "big":
            out.byteswap(inplace=True)


def _is_count(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def write(path, tensors, metadata):
    """Write `tensors` ({name: array}) and `metadata` ({name: str}) to `path` atomically
    (fastmlp._files.atomic_write: a temporary file renamed over the target)."""
    header, offset = {"__metadata__": dict(metadata)}, 0
    arrays = []
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))
        tag = next(t for t, d in DTYPES.items() if d == arr.dtype)
        header[name] = {"dtype": tag, "shape": list(arr.shape), "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
        arrays.append(arr)
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)  # data aligned to 8 bytes, as safetensors writes it
    atomic_write(path, [struct.pack("<Q", len(blob)), blob] + [memoryview(arr).cast("B") for arr in arrays])

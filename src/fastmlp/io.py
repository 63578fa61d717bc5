"""fastmlp model files: safetensors files (readable by the safetensors package and
PyTorch; never pickle) whose metadata holds the architecture.

The metadata says ``"format": "fastmlp.MLP"`` and holds the constructor arguments under
``"fastmlp_config"`` (JSON); the tensor names are those of
``model.to_torch().state_dict()``. The format itself is fastmlp._safetensors.
"""

import math
import os
from typing import Union

from fastmlp import _safetensors
from fastmlp._safetensors import short
from fastmlp._torch import state_dict_names
from fastmlp.model import FILE_FORMAT, MLP

__all__ = ["save", "load"]

# What a layer adds to fastmlp_config at most: its size and activation name in JSON
# (a longer config cannot describe the tensors the file holds; it is not parsed).
_CONFIG_BYTES_PER_LAYER = 64


def save(model: MLP, path: Union[str, os.PathLike]) -> None:
    """Write `model` to `path` atomically (see MLP.save)."""
    model.save(path)


def load(path: Union[str, os.PathLike]) -> MLP:
    """Read a model written by ``MLP.save``.

    Raises ValueError, naming the path, for a file that is truncated, garbled, not a
    fastmlp model, or whose architecture does not match the tensors it holds. Nothing
    the file declares is allocated before it has been checked against the file's size.
    """
    with _safetensors.Reader(path) as f:
        path = f.path
        if f.metadata.get("format") != FILE_FORMAT:
            raise ValueError(f"{path}: a safetensors file but not a fastmlp model (no fastmlp metadata)")
        config = _config(f, path)
        try:
            model = MLP(init="zeros", **config)
        except (TypeError, ValueError) as e:
            raise ValueError(
                f"{path}: invalid fastmlp_config in the metadata: {short(str(e), 200)}"
            ) from None
        expected = state_dict_names(model)
        for (i, kind), name in expected.items():
            target = getattr(model.layers[i], kind)
            info = f.tensors.get(name)
            if info is None:
                raise ValueError(f"{path}: tensor {name} is missing")
            if info.dtype != target.dtype.newbyteorder("<"):
                raise ValueError(
                    f"{path}: tensor {name} must have dtype {'F32' if target.dtype.itemsize == 4 else 'F64'}"
                )
            if info.shape != target.shape:
                raise ValueError(
                    f"{path}: tensor {name} has shape {list(info.shape)}, expected {list(target.shape)}"
                )
            f.read_into(name, target)
    return model


def _config(f, path):
    """The fastmlp_config, checked against the tensors the file holds before anything of
    the size it declares is built."""
    text = f.metadata.get("fastmlp_config")
    if text is None:
        raise ValueError(f"{path}: the metadata have no fastmlp_config")
    layers = len(f.tensors)  # an upper bound, whatever the bias
    if len(text) > 1024 + _CONFIG_BYTES_PER_LAYER * layers:
        raise ValueError(
            f"{path}: fastmlp_config has {len(text)} characters, too many for "
            f"the {layers} tensors the file holds"
        )
    config = _safetensors.parse_json(text, f"{path}: the metadata's fastmlp_config")
    if not isinstance(config, dict):
        raise ValueError(f"{path}: fastmlp_config must be a JSON object")
    sizes, bias = config.get("layer_sizes"), config.get("bias", True)
    if not isinstance(sizes, list) or len(sizes) < 2:
        raise ValueError(
            f"{path}: fastmlp_config's layer_sizes must list at least 2 sizes, got {short(sizes)}"
        )
    per_layer = 2 if bias else 1
    if (len(sizes) - 1) * per_layer != len(f.tensors):
        raise ValueError(
            f"{path}: fastmlp_config describes {len(sizes) - 1} layers "
            f"({(len(sizes) - 1) * per_layer} tensors), the file holds {len(f.tensors)} tensors"
        )
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in sizes):
        raise ValueError(f"{path}: fastmlp_config's layer_sizes must be integers >= 1, got {short(sizes)}")
    values = sum(a * b + (b if bias else 0) for a, b in zip(sizes, sizes[1:]))
    held = sum(math.prod(t.shape) for t in f.tensors.values())
    if values != held:
        raise ValueError(
            f"{path}: fastmlp_config's layer_sizes {short(sizes)} need {values} "
            f"parameters, the file holds {held}"
        )
    return config

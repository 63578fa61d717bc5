"""The optional peers: PyTorch may be missing, fastmlp.MLP may not exist yet."""

import functools


class Unavailable(Exception):
    """A side of a workload cannot run here; the message says why ("not installed", ...)."""


@functools.cache
def torch_module():
    """The torch module, or None when PyTorch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def require_torch():
    torch = torch_module()
    if torch is None:
        raise Unavailable("not installed")
    return torch

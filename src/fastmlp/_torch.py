"""Conversion between fastmlp.MLP and torch.nn.Sequential (torch imported lazily)."""

import numpy as np

# fastmlp activation name <-> torch.nn module class name
_TORCH_ACTIVATIONS = {
    "relu": "ReLU",
    "leaky_relu": "LeakyReLU",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "gelu": "GELU",
    "softmax": "Softmax",
}


def torch_layout(model):
    """The torch.nn.Sequential modules of `model`, as (kind, layer index or None)
    pairs: kind is "linear", an activation name or "dropout". Also names the tensors
    of saved files, so that they load into ``model.to_torch()``."""
    layout = []
    last = len(model.layers) - 1
    for i, layer in enumerate(model.layers):
        layout.append(("linear", i))
        if layer.activation != "identity":
            layout.append((layer.activation, i))
        if i < last and model.dropout > 0:
            layout.append(("dropout", i))
    return layout


def state_dict_names(model):
    """{(layer index, "weight"|"bias"): the key in model.to_torch().state_dict()}."""
    names = {}
    for pos, (kind, i) in enumerate(torch_layout(model)):
        if kind == "linear":
            names[i, "weight"] = f"{pos}.weight"
            if model.bias:
                names[i, "bias"] = f"{pos}.bias"
    return names


def to_torch(model):
    import torch
    from torch import nn

    modules = []
    for kind, i in torch_layout(model):
        layer = model.layers[i]
        if kind == "linear":
            lin = nn.Linear(layer.in_features, layer.out_features, bias=model.bias)
            lin = lin.to(torch.float64 if model.dtype == np.float64 else torch.float32)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(layer.weight))
                if model.bias:
                    lin.bias.copy_(torch.from_numpy(layer.bias))
            modules.append(lin)
        elif kind == "dropout":
            modules.append(nn.Dropout(model.dropout))
        elif kind == "step":
            raise ValueError("activation 'step' has no torch.nn module")
        elif kind == "leaky_relu":
            modules.append(nn.LeakyReLU(model.negative_slope))
        elif kind == "softmax":
            modules.append(nn.Softmax(dim=-1))
        else:
            modules.append(getattr(nn, _TORCH_ACTIVATIONS[kind])())
    return nn.Sequential(*modules)


def from_torch(cls, module, dtype=None, seed=None):
    from torch import nn

    if not isinstance(module, nn.Sequential):
        raise ValueError(f"module must be a torch.nn.Sequential, got {type(module).__name__}")
    linears, acts, dropout, slope = [], [], 0.0, 0.01
    for pos, sub in enumerate(module):
        if isinstance(sub, nn.Linear):
            linears.append(sub)
            acts.append("identity")
            continue
        if not linears:
            raise ValueError(f"module[{pos}] ({type(sub).__name__}) comes before the first Linear")
        if isinstance(sub, nn.Dropout):
            dropout = sub.p
            continue
        if isinstance(sub, nn.Identity):
            continue
        name = {v: k for k, v in _TORCH_ACTIVATIONS.items()}.get(type(sub).__name__)
        if name is None or acts[-1] != "identity":
            raise ValueError(
                f"module[{pos}] ({type(sub).__name__}) is not a supported activation "
                "after a Linear (ReLU, LeakyReLU, Sigmoid, Tanh, GELU, Softmax)"
            )
        if name == "gelu" and sub.approximate != "none":
            raise ValueError(f"module[{pos}]: only GELU(approximate='none') is supported")
        if name == "softmax" and sub.dim not in (-1, 1, None):
            raise ValueError(f"module[{pos}]: Softmax must be over the last dimension")
        if name == "leaky_relu":
            slope = sub.negative_slope
        acts[-1] = name
    if not linears:
        raise ValueError("module has no Linear layer")
    has_bias = {lin.bias is not None for lin in linears}
    if len(has_bias) != 1:
        raise ValueError("either every Linear has a bias or none has")
    sizes = [linears[0].in_features] + [lin.out_features for lin in linears]
    for i, (a, b) in enumerate(zip(linears, linears[1:])):
        if a.out_features != b.in_features:
            raise ValueError(
                f"Linear {i + 1} takes {b.in_features} inputs but Linear {i} gives {a.out_features}"
            )
    if dtype is None:
        dtype = "float64" if str(linears[0].weight.dtype) == "torch.float64" else "float32"
    model = cls(
        sizes,
        activation=acts[:-1],
        output_activation=acts[-1],
        bias=has_bias.pop(),
        dropout=dropout,
        dtype=dtype,
        seed=seed,
        negative_slope=slope,
    )
    for layer, lin in zip(model.layers, linears):
        layer.weight = lin.weight.detach().cpu().numpy()
        if lin.bias is not None:
            layer.bias = lin.bias.detach().cpu().numpy()
    return model

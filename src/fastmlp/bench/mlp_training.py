"""Whole-network workloads: one training epoch and single-sample predict latency.

The same network (layer sizes, initial weights, data, optimizer, batch size) is
trained three ways: hand-written NumPy, a plain PyTorch ``nn.Sequential`` loop with
manual batching (no DataLoader), and fastmlp's one-call epoch (``fastmlp.MLP.fit``,
behind :func:`fastmlp_model` and :func:`fastmlp_trainer`, the only place that knows
fastmlp's model API).  Hidden layers use ReLU, the output layer is linear.
"""

import math
from dataclasses import dataclass

import numpy as np

import fastmlp
from fastmlp.bench.optional import require_torch


@dataclass(frozen=True)
class Network:
    layer_sizes: tuple  # (inputs, hidden..., outputs)
    loss: str  # "mse" (regression) or "cross_entropy" (integer labels)
    optimizer: str  # "adam" or "sgd"
    lr: float
    batch_size: int
    rows: int  # training-set size

    @property
    def name(self):
        return "-".join(map(str, self.layer_sizes))

    @property
    def flops_per_epoch(self):
        """Forward (2 per weight) plus backward (4 per weight) per row; updates not counted."""
        weights = sum(a * b for a, b in zip(self.layer_sizes, self.layer_sizes[1:]))
        return 6.0 * weights * self.rows


HOUSING = Network((2, 256, 256, 256, 1), "mse", "adam", 1e-3, 128, 16512)
HOUSING_SMALL = Network((2, 4, 3, 1), "mse", "adam", 1e-3, 128, 16512)
MNIST = Network((784, 256, 10), "cross_entropy", "sgd", 1e-2, 256, 60000)

ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8


def initial_weights(net, dtype, seed=0):
    """[(weight (out, in), bias (out,)), ...] drawn like a fresh torch.nn.Linear stack."""
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in zip(net.layer_sizes, net.layer_sizes[1:]):
        bound = 1.0 / math.sqrt(n_in)
        layers.append(
            (
                rng.uniform(-bound, bound, (n_out, n_in)).astype(dtype),
                rng.uniform(-bound, bound, n_out).astype(dtype),
            )
        )
    return layers


def training_data(net, dtype, rows=None, seed=1):
    """Generated data of the network's shape: a smooth regression target, or labels from a
    random linear teacher for classification.  ``rows`` (default: net.rows) takes a prefix."""
    rng = np.random.default_rng(seed)
    n_in, n_out = net.layer_sizes[0], net.layer_sizes[-1]
    rows = net.rows if rows is None else rows
    if net.loss == "mse":
        x = rng.standard_normal((rows, n_in)).astype(dtype)
        y = (np.sin(x.sum(axis=1)) + 0.1 * x[:, 0] ** 2)[:, None].astype(dtype)
        return x, np.repeat(y, n_out, axis=1)
    x = rng.random((rows, n_in), dtype=np.float32).astype(dtype)
    teacher = rng.standard_normal((n_in, n_out)).astype(dtype)
    return x, np.argmax(x @ teacher, axis=1).astype(np.int64)


def batches(rows, batch_size, order):
    for start in range(0, rows, batch_size):
        yield order[start : start + batch_size]


# --- NumPy: forward, backward and optimizer written out by hand ---------------------


class NumpyMLP:
    def __init__(self, net, weights, x, y, shuffle, seed=0):
        self.net, self.x, self.y, self.shuffle = net, x, y, shuffle
        self.params = [p.copy() for layer in weights for p in layer]
        self.state = [(np.zeros_like(p), np.zeros_like(p)) for p in self.params]
        self.step_count = 0
        self.rng = np.random.default_rng(seed)

    def predict(self, x):
        h = x
        last = len(self.params) // 2 - 1
        for i in range(0, len(self.params), 2):
            h = h @ self.params[i].T + self.params[i + 1]
            if i // 2 < last:
                h = np.maximum(h, 0)
        return h

    def _grads(self, x, y):
        acts, h = [x], x
        n_layers = len(self.params) // 2
        for i in range(n_layers):
            h = h @ self.params[2 * i].T + self.params[2 * i + 1]
            if i < n_layers - 1:
                h = np.maximum(h, 0)
            acts.append(h)
        out = acts[-1]
        if self.net.loss == "mse":
            g = (2.0 / out.size) * (out - y)
        else:
            p = np.exp(out - out.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(y)), y] -= 1
            g = p / len(y)
        grads = [None] * len(self.params)
        for i in reversed(range(n_layers)):
            grads[2 * i] = g.T @ acts[i]
            grads[2 * i + 1] = g.sum(axis=0)
            if i > 0:
                g = (g @ self.params[2 * i]) * (acts[i] > 0)
        return grads

    def _update(self, grads):
        lr = self.net.lr
        if self.net.optimizer == "sgd":
            for p, g in zip(self.params, grads):
                p -= lr * g
            return
        self.step_count += 1
        b1, b2 = ADAM_BETAS
        c1, c2 = 1 - b1**self.step_count, 1 - b2**self.step_count
        for p, g, (m, v) in zip(self.params, grads, self.state):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= (lr / c1) * m / (np.sqrt(v / c2) + ADAM_EPS)

    def epoch(self):
        rows = len(self.x)
        order = self.rng.permutation(rows) if self.shuffle else np.arange(rows)
        for idx in batches(rows, self.net.batch_size, order):
            self._update(self._grads(self.x[idx], self.y[idx]))
        return self


# --- PyTorch: nn.Sequential, autograd, torch.optim, manual batching -----------------


def torch_sequential(weights):
    """nn.Sequential(Linear, ReLU, ..., Linear) holding ``weights``."""
    torch = require_torch()
    modules = []
    for i, (w, b) in enumerate(weights):
        linear = torch.nn.Linear(w.shape[1], w.shape[0], dtype=torch.from_numpy(w).dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        modules.append(linear)
        if i < len(weights) - 1:
            modules.append(torch.nn.ReLU())
    return torch.nn.Sequential(*modules)


class TorchMLP:
    def __init__(self, net, weights, x, y, shuffle, seed=0):
        torch = self.torch = require_torch()
        self.model = torch_sequential(weights)
        self.net, self.shuffle = net, shuffle
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)
        self.loss = torch.nn.MSELoss() if net.loss == "mse" else torch.nn.CrossEntropyLoss()
        if net.optimizer == "adam":
            self.opt = torch.optim.Adam(self.model.parameters(), lr=net.lr, betas=ADAM_BETAS, eps=ADAM_EPS)
        else:
            self.opt = torch.optim.SGD(self.model.parameters(), lr=net.lr)
        self.generator = torch.Generator().manual_seed(seed)

    def predict(self, x):
        with self.torch.inference_mode():
            return self.model(self.torch.from_numpy(x)).numpy()

    def epoch(self):
        torch, rows = self.torch, len(self.x)
        order = torch.randperm(rows, generator=self.generator) if self.shuffle else torch.arange(rows)
        for idx in batches(rows, self.net.batch_size, order):
            self.opt.zero_grad(set_to_none=True)
            self.loss(self.model(self.x[idx]), self.y[idx]).backward()
            self.opt.step()
        return self


# --- fastmlp: the adapter (fastmlp.MLP) ------------------------------------------------


def fastmlp_model(net, weights):
    """A fastmlp.MLP of the network's shape holding ``weights``."""
    dtype = np.dtype(weights[0][0].dtype).name
    model = fastmlp.MLP(
        list(net.layer_sizes), activation="relu", output_activation="identity", dtype=dtype, seed=0
    )
    for layer, (w, b) in zip(model.layers, weights):
        layer.weight[...] = w
        layer.bias[...] = b
    return model


class FastmlpMLP:
    def __init__(self, net, weights, x, y, shuffle, seed=0):
        self.model = fastmlp_model(net, weights)
        self.net, self.x, self.y, self.shuffle = net, x, y, shuffle
        if net.optimizer == "adam":
            self.opt = fastmlp.optim.Adam(lr=net.lr, betas=ADAM_BETAS, eps=ADAM_EPS)
        else:
            self.opt = fastmlp.optim.SGD(lr=net.lr)

    def predict(self, x):
        return self.model.predict(x)

    def epoch(self):
        self.model.fit(
            self.x,
            self.y,
            loss=self.net.loss,
            optimizer=self.opt,
            epochs=1,
            batch_size=self.net.batch_size,
            shuffle=self.shuffle,
            verbose=False,
        )
        return self


TRAINERS = {"fastmlp": FastmlpMLP, "numpy": NumpyMLP, "torch": TorchMLP}


def epoch_inputs(net, dtype, check=False):
    """Timing: the full generated set, shuffled every epoch.  Check: a prefix of the rows
    without shuffling, so every side follows the same trajectory."""
    x, y = training_data(net, dtype, rows=1024 if check else None)
    return {
        "net": net,
        "weights": initial_weights(net, dtype),
        "x": x,
        "y": y,
        "shuffle": not check,
        "probe": x[:256],
    }


def epoch_side(library):
    trainer_class = TRAINERS[library]

    def prepare(inputs):
        trainer = trainer_class(inputs["net"], inputs["weights"], inputs["x"], inputs["y"], inputs["shuffle"])
        return trainer.epoch

    return prepare


def epoch_reference(inputs):
    """NumPy in float64 from the same weights: the predictions on the probe rows after one epoch."""
    weights = [(w.astype(np.float64), b.astype(np.float64)) for w, b in inputs["weights"]]
    x = inputs["x"].astype(np.float64)
    y = inputs["y"] if inputs["net"].loss == "cross_entropy" else inputs["y"].astype(np.float64)
    trainer = NumpyMLP(inputs["net"], weights, x, y, inputs["shuffle"]).epoch()
    return trainer.predict(inputs["probe"].astype(np.float64))


def predictions_after_epoch(trainer, inputs):
    return trainer.predict(inputs["probe"])


# --- predict latency: one sample through the network ----------------------------------


def predict_inputs(net, dtype):
    x, _ = training_data(net, dtype, rows=1)
    return {"net": net, "weights": initial_weights(net, dtype), "sample": x[0]}


def predict_fastmlp(inputs):
    model, sample = fastmlp_model(inputs["net"], inputs["weights"]), inputs["sample"]
    return lambda: model.predict(sample)


def predict_numpy(inputs):
    layers, sample = inputs["weights"], inputs["sample"]

    def run():
        h = sample
        for w, b in layers[:-1]:
            h = np.maximum(w @ h + b, 0)
        w, b = layers[-1]
        return w @ h + b

    return run


def predict_torch(inputs):
    torch = require_torch()
    model, sample = torch_sequential(inputs["weights"]), torch.from_numpy(inputs["sample"][None])

    def run():
        with torch.inference_mode():
            return model(sample)

    return run


def predict_reference(inputs):
    weights = [(w.astype(np.float64), b.astype(np.float64)) for w, b in inputs["weights"]]
    return NumpyMLP(inputs["net"], weights, None, None, False).predict(inputs["sample"].astype(np.float64))

"""The perceptron learning rule, and why XOR needs a hidden layer.

1. Rosenblatt's rule ``w += lr * (target - prediction) * x`` on a linearly separable
   set converges to a separating line (the perceptron convergence theorem).
2. On XOR no line separates the classes: the rule cycles and never gets all four
   points right.
3. A 2-2-1 MLP (tanh hidden layer, logistic output) trained by backpropagation
   solves XOR: its two hidden units draw two lines, the output combines them.

Run: python examples/perceptron_xor.py [--quick] [--out DIR]
"""

import numpy as np
from _common import parse_args, save
from sklearn.datasets import make_blobs

import fastmlp

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([0, 1, 1, 0])


def perceptron(X, y, epochs, lr=0.1):
    """The perceptron learning rule; returns (weight, bias, errors per epoch)."""
    w, b = np.zeros(X.shape[1]), 0.0
    errors = []
    for _ in range(epochs):
        wrong = 0
        for x, t in zip(X, y):
            pred = 1 if x @ w + b > 0 else 0
            w += lr * (t - pred) * x
            b += lr * (t - pred)
            wrong += int(pred != t)
        errors.append(wrong)
    return w, b, errors


def step_model(w, b):
    """The trained perceptron as a fastmlp network with a 'step' output."""
    net = fastmlp.MLP([len(w), 1], output_activation="step", dtype="float64", seed=0)
    net.layers[0].weight = w.reshape(1, -1)
    net.layers[0].bias = [b]
    return net


def train_xor_mlp(epochs):
    """A 2-2-1 tanh network with a logistic output (BCE on logits), full-batch SGD
    with momentum. A 2-unit hidden layer has bad local minima, so try a few seeds."""
    for seed in range(10):
        net = fastmlp.MLP([2, 2, 1], activation="tanh", dtype="float64", seed=seed)
        hist = net.fit(
            XOR_X,
            XOR_Y.astype(float),
            loss="bce",
            optimizer=fastmlp.optim.SGD(lr=0.5, momentum=0.9),
            epochs=epochs,
            batch_size=4,
            verbose=False,
        )
        pred = (net.predict(XOR_X).ravel() > 0).astype(int)
        if (pred == XOR_Y).all():
            break
    return net, hist["loss"], seed, pred


def main():
    args = parse_args(__doc__)
    epochs = 20 if args.quick else 100
    X, y = make_blobs(n_samples=100, centers=[[-2, -2], [2, 2]], cluster_std=1.0, random_state=0)
    w, b, errors = perceptron(X, y, epochs)
    acc = (step_model(w, b).predict(X).ravel() == y).mean()
    print(f"separable set: perceptron accuracy {acc:.2f}, errors per epoch {errors[:8]}...")

    wx, bx, errors_xor = perceptron(XOR_X, XOR_Y, epochs)
    acc_xor = (step_model(wx, bx).predict(XOR_X).ravel() == XOR_Y).mean()
    print(f"XOR: perceptron accuracy {acc_xor:.2f} (at most 3 of 4: XOR is not linearly separable)")

    net, curve, seed, pred = train_xor_mlp(300 if args.quick else 2000)
    print(
        f"XOR: 2-2-1 MLP (seed {seed}) predicts {pred.tolist()} for targets {XOR_Y.tolist()}, "
        f"final loss {curve[-1]:.4f}"
    )

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    grid = np.linspace(-0.5, 1.5, 200)
    gx, gy = np.meshgrid(grid, grid)
    pts = np.c_[gx.ravel(), gy.ravel()]
    axes[0].scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=12)
    xs = np.linspace(X[:, 0].min(), X[:, 0].max(), 2)
    if abs(w[1]) > 1e-12:
        axes[0].plot(xs, -(w[0] * xs + b) / w[1], "k-")
    axes[0].set_title(f"perceptron, separable: acc {acc:.2f}")
    zp = step_model(wx, bx).predict(pts).reshape(gx.shape)
    axes[1].contourf(gx, gy, zp, alpha=0.3, cmap="coolwarm")
    axes[1].scatter(XOR_X[:, 0], XOR_X[:, 1], c=XOR_Y, cmap="coolwarm", s=80, edgecolors="k")
    axes[1].set_title(f"perceptron on XOR: acc {acc_xor:.2f}")
    zm = (net.predict(pts) > 0).reshape(gx.shape)
    axes[2].contourf(gx, gy, zm, alpha=0.3, cmap="coolwarm")
    axes[2].scatter(XOR_X[:, 0], XOR_X[:, 1], c=XOR_Y, cmap="coolwarm", s=80, edgecolors="k")
    axes[2].set_title(f"2-2-1 MLP on XOR: acc {(pred == XOR_Y).mean():.2f}")
    save(fig, args, "perceptron_xor.png")


if __name__ == "__main__":
    main()

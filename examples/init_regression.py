"""Weight initialisation on a regression: why zero initialisation fails.

A 10-64-64-1 ReLU network on scikit-learn's load_diabetes (standardised inputs and
target), trained with Adam on the mean squared error from four initialisations:
zeros, normal(0, 1), xavier_uniform and kaiming_uniform (PyTorch's default).

With all weights zero, every hidden unit computes the same value (0) and gets the
same gradient — here exactly zero, since relu'(0) = 0 and the outgoing weights are
zero. The symmetry is never broken: only the output bias learns, and the network
predicts the mean (R^2 = 0). normal(0, 1) ignores the fan-in: activations grow
layer by layer and training starts far off; xavier and kaiming scale the weights by
the fan-in/out and train well.

Run: python examples/init_regression.py [--quick] [--out DIR]
"""

import numpy as np
from _common import parse_args, save
from sklearn.datasets import load_diabetes
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import fastmlp

INITS = ["zeros", "normal", "xavier_uniform", "kaiming_uniform"]


def main():
    args = parse_args(__doc__)
    epochs = 10 if args.quick else 40
    X, y = load_diabetes(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
    xs, ys = StandardScaler().fit(Xtr), StandardScaler().fit(ytr.reshape(-1, 1))
    Xtr, Xte = xs.transform(Xtr), xs.transform(Xte)
    ytr_s, yte_s = ys.transform(ytr.reshape(-1, 1)), ys.transform(yte.reshape(-1, 1))

    curves = {}
    for init in INITS:
        net = fastmlp.MLP([10, 64, 64, 1], activation="relu", init=init, dtype="float32", seed=0)
        if init == "zeros":
            for layer in net.layers:  # biases too: a fully symmetric start
                layer.bias = np.zeros_like(layer.bias)
        hist = net.fit(
            Xtr,
            ytr_s,
            loss="mse",
            optimizer=fastmlp.optim.Adam(lr=1e-3, weight_decay=1e-2),
            epochs=epochs,
            batch_size=64,
            validation_data=(Xte, yte_s),
            verbose=False,
        )
        pred = ys.inverse_transform(net.predict(Xte))
        r2 = r2_score(yte, pred.ravel())
        curves[init] = hist
        hidden_spread = float(np.ptp(net.layers[0].weight))
        print(
            f"{init:16} train mse {hist['loss'][-1]:.3f}  test mse {hist['val_loss'][-1]:.3f}  "
            f"test R^2 {r2:+.3f}  spread of first-layer weights {hidden_spread:.3g}"
        )
    print(
        "zeros: the hidden weights never move (spread 0) and R^2 stays ~0: every hidden unit "
        "is identical and receives a zero gradient."
    )

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for init, hist in curves.items():
        axes[0].plot(hist["loss"], label=init)
        axes[1].plot(hist["val_loss"], label=init)
    for ax, title in zip(axes, ["training loss (MSE, standardised y)", "test loss"]):
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(title)
    axes[0].legend()
    save(fig, args, "init_regression.png")


if __name__ == "__main__":
    main()

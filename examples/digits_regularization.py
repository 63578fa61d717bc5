"""Softmax cross-entropy on load_digits with L2 weight decay and dropout, with and
without early stopping.

fastmlp.sklearn.MLPClassifier (a drop-in for scikit-learn's) with a 64-256-10
network: softmax output and cross-entropy loss, ``alpha`` the L2 penalty, ``dropout``
on the hidden layer (an extra scikit-learn's MLP does not have). Early stopping
holds out 10% of the training set and keeps the weights of the best validation
accuracy (scikit-learn's rule: stop after n_iter_no_change epochs without an
improvement of tol).

Run: python examples/digits_regularization.py [--quick] [--out DIR]
"""

import warnings

from _common import parse_args, save
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from fastmlp.sklearn import MLPClassifier


def main():
    args = parse_args(__doc__)
    max_iter = 5 if args.quick else 200
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X / 16.0, y, test_size=0.25, random_state=0)
    configs = {
        "no regularisation": dict(alpha=0.0),
        "L2 (alpha=1e-2)": dict(alpha=1e-2),
        "L2 + dropout 0.3": dict(alpha=1e-2, dropout=0.3),
        "L2 + dropout + early stopping": dict(
            alpha=1e-2, dropout=0.3, early_stopping=True, n_iter_no_change=10
        ),
    }
    fitted = {}
    for name, kw in configs.items():
        clf = MLPClassifier(hidden_layer_sizes=(256,), max_iter=max_iter, random_state=0, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(Xtr, ytr)
        fitted[name] = clf
        extra = f", best validation accuracy {clf.best_validation_score_:.4f}" if clf.early_stopping else ""
        print(
            f"{name:32} epochs {clf.n_iter_:3d}  final loss {clf.loss_:.4f}  "
            f"train acc {clf.score(Xtr, ytr):.4f}  test acc {clf.score(Xte, yte):.4f}{extra}"
        )

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, clf in fitted.items():
        axes[0].plot(clf.loss_curve_, label=name)
    es = fitted["L2 + dropout + early stopping"]
    axes[1].plot(es.validation_loss_curve_, label="validation loss")
    axes[1].plot(es.validation_scores_, label="validation accuracy")
    axes[0].set(yscale="log", xlabel="epoch", title="training loss (cross-entropy + L2)")
    axes[1].set(xlabel="epoch", title="early stopping: held-out 10%")
    axes[0].legend()
    axes[1].legend()
    save(fig, args, "digits_regularization.png")


if __name__ == "__main__":
    main()

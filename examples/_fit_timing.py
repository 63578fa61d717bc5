"""What the fit-time comparisons with scikit-learn share (timing.py, lbfgs_timing.py):
the two data sets, split and scaled the same way, and the best-of-n fit timer."""

import time
import warnings

from sklearn.datasets import load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


def digits_and_diabetes():
    """(Xtr, Xte, ytr, yte) of digits (pixels in [0, 1]) and of diabetes (X and y
    standardised on the training split)."""
    X, y = load_digits(return_X_y=True)
    digits = train_test_split(X / 16.0, y, random_state=0)
    X, y = load_diabetes(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
    xs, ys = StandardScaler().fit(Xtr), StandardScaler().fit(ytr.reshape(-1, 1))
    diabetes = (
        xs.transform(Xtr),
        xs.transform(Xte),
        ys.transform(ytr.reshape(-1, 1)).ravel(),
        ys.transform(yte.reshape(-1, 1)).ravel(),
    )
    return digits, diabetes


def timed(fit, repeats):
    """The model of the last fit and the shortest of `repeats` fit times."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = fit()
        best = min(best, time.perf_counter() - t0)
    return model, best

"""L-BFGS training time: fastmlp.sklearn's solver="lbfgs" vs scikit-learn's.

Both run scipy's L-BFGS-B from the same initial weights (same random_state) with the
same parameters; fastmlp computes each full-batch loss and gradient in one C++ call,
scikit-learn with NumPy. Reports the wall time of fit (the best of 3 fits), the
iterations run (n_iter_) and the test score.

Run: python examples/lbfgs_timing.py [--quick] [--out DIR]
"""

import numpy as np
from _common import parse_args, save
from _fit_timing import digits_and_diabetes, timed
from sklearn import neural_network as sk_nn

import fastmlp
from fastmlp.sklearn import MLPClassifier, MLPRegressor


def tasks(max_iter):
    digits, diabetes = digits_and_diabetes()
    common = dict(solver="lbfgs", max_iter=max_iter, random_state=0)
    return [
        (
            "digits 64-100-10",
            (MLPClassifier, sk_nn.MLPClassifier),
            digits,
            dict(hidden_layer_sizes=(100,), **common),
        ),
        (
            "diabetes 10-64-64-1",
            (MLPRegressor, sk_nn.MLPRegressor),
            diabetes,
            dict(hidden_layer_sizes=(64, 64), alpha=10.0, **common),
        ),
    ]


def main():
    args = parse_args(__doc__)
    max_iter = 5 if args.quick else 200
    repeats = 1 if args.quick else 3  # the best of 3 fits: this is a shared, noisy machine
    print(
        f"fastmlp {fastmlp.cpu_info()['isa']} kernels, {fastmlp.get_num_threads()} threads; "
        f"lbfgs, max_iter={max_iter}"
    )
    results = []
    # --quick: the first task only (the test suite checks that the script runs).
    for name, (ours_cls, ref_cls), (Xtr, Xte, ytr, yte), params in tasks(max_iter)[
        : 1 if args.quick else None
    ]:
        rows = {}
        ref, seconds = timed(lambda: ref_cls(**params).fit(Xtr, ytr), repeats)
        rows["sklearn"] = (seconds, ref.n_iter_, ref.score(Xte, yte))
        for dtype in ("float64", "float32"):
            ours, seconds = timed(lambda: ours_cls(dtype=dtype, **params).fit(Xtr, ytr), repeats)
            rows[f"fastmlp {dtype}"] = (seconds, ours.n_iter_, ours.score(Xte, yte))
        results.append((name, rows))
        print(f"\n{name} ({'accuracy' if ours_cls is MLPClassifier else 'R^2'} on the test split)")
        for key, (seconds, n_iter, score) in rows.items():
            print(
                f"  {key:16} {seconds * 1e3:8.1f} ms  n_iter_ {n_iter:4d}  score {score:.4f}  "
                f"sklearn/this = {rows['sklearn'][0] / seconds:5.1f}x"
            )

    import matplotlib.pyplot as plt

    keys = list(results[0][1])
    fig, ax = plt.subplots(figsize=(8, 4))
    pos = np.arange(len(results))
    for i, key in enumerate(keys):
        ax.bar(pos + (i - len(keys) / 2 + 0.5) * 0.25, [rows[key][0] for _, rows in results], 0.25, label=key)
    ax.set_xticks(pos, [name for name, _ in results])
    ax.set(yscale="log", ylabel="seconds per fit", title=f"lbfgs fit time, max_iter={max_iter}")
    ax.legend()
    save(fig, args, "lbfgs_timing.png")


if __name__ == "__main__":
    main()

"""Model search across a Dask cluster: scikit-learn's GridSearchCV over fastmlp's
MLPClassifier through joblib's Dask backend, fastmlp's threads capped to the workers'.

Run: python examples/dask_model_search.py [--quick] [--out DIR]
"""

import time
import warnings

import distributed
import joblib
from _common import parse_args, save
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from fastmlp.distributed import cap_threads
from fastmlp.sklearn import MLPClassifier


def main():
    args = parse_args(__doc__.splitlines()[0])
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    grid = {"hidden_layer_sizes": [(32,), (128,)], "alpha": [1e-4, 1e-2, 1.0]}
    search = GridSearchCV(MLPClassifier(max_iter=10 if args.quick else 100, random_state=0), grid, cv=3)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        cap_threads(client)
        with warnings.catch_warnings(), joblib.parallel_backend("dask"):
            warnings.simplefilter("ignore")  # ConvergenceWarning of the short fits
            t0 = time.perf_counter()
            search.fit(X, y)
            seconds = time.perf_counter() - t0
    print(
        f"{len(search.cv_results_['params'])} candidates x 3 folds on 2 workers in {seconds:.1f} s: "
        f"best {search.best_params_}, accuracy {search.best_score_:.3f}"
    )
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for units in grid["hidden_layer_sizes"]:
        scores = [
            s
            for p, s in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"])
            if p["hidden_layer_sizes"] == units
        ]
        ax.semilogx(grid["alpha"], scores, marker="o", label=f"hidden {units}")
    ax.set(xlabel="alpha (L2)", ylabel="mean CV accuracy", title="GridSearchCV on Dask")
    ax.legend()
    save(fig, args, "dask_model_search.png")


if __name__ == "__main__":
    main()

"""Training time: fastmlp vs scikit-learn's MLP vs PyTorch on the same tasks.

Each task trains the same architecture with the same optimizer (Adam, lr 1e-3),
batch size and number of epochs (tol=0 so that no one stops early) and reports the
wall time of fit (the best of 3 fits for the estimators) and the test score.
fastmlp.sklearn and scikit-learn also start from the same weights (same random_state).
PyTorch runs a plain training loop (DataLoader-free: shuffled index slices), skipped if
torch is not installed.
Threads: fastmlp and PyTorch use the same number (OMP_NUM_THREADS or all cores);
scikit-learn uses NumPy's BLAS threads.

Run: python examples/timing.py [--quick] [--out DIR]
"""

import time

import numpy as np
from _common import parse_args, save
from _fit_timing import digits_and_diabetes, timed
from sklearn import neural_network as sk_nn
from sklearn.metrics import accuracy_score, r2_score

import fastmlp
from fastmlp.sklearn import MLPClassifier, MLPRegressor


def tasks(epochs):
    digits, diabetes = digits_and_diabetes()
    common = dict(max_iter=epochs, tol=0.0, random_state=0)
    return [
        ("digits 64-100-10, batch 200", "clf", digits, dict(hidden_layer_sizes=(100,), **common)),
        (
            "digits 64-100-10, batch 32",
            "clf",
            digits,
            dict(hidden_layer_sizes=(100,), batch_size=32, **common),
        ),
        (
            "diabetes 10-64-64-1, batch 32",
            "reg",
            diabetes,
            dict(hidden_layer_sizes=(64, 64), batch_size=32, alpha=1.0, **common),
        ),
    ]


def torch_fit(kind, data, params, dtype):
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(fastmlp.get_num_threads())
    Xtr, Xte, ytr, yte = data
    tdt = getattr(torch, dtype)
    sizes = [Xtr.shape[1], *params["hidden_layer_sizes"], 10 if kind == "clf" else 1]
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers[:-1]).to(tdt)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=params.get("alpha", 1e-4) / 200)
    X = torch.as_tensor(Xtr, dtype=tdt)
    Y = torch.as_tensor(ytr, dtype=torch.long if kind == "clf" else tdt)
    loss_fn = torch.nn.CrossEntropyLoss() if kind == "clf" else torch.nn.MSELoss()
    bs = params.get("batch_size", 200)
    n = len(X)
    t0 = time.perf_counter()
    for _ in range(params["max_iter"]):
        perm = torch.randperm(n)
        for i in range(0, n, bs):
            idx = perm[i : i + bs]
            opt.zero_grad()
            out = net(X[idx])
            loss = loss_fn(out, Y[idx]) if kind == "clf" else loss_fn(out.squeeze(1), Y[idx])
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        out = net(torch.as_tensor(Xte, dtype=tdt)).numpy()
    score = accuracy_score(yte, out.argmax(1)) if kind == "clf" else r2_score(yte, out.ravel())
    return seconds, score


def main():
    args = parse_args(__doc__)
    epochs = 2 if args.quick else 50
    repeats = 1 if args.quick else 3  # the best of 3 fits: this is a shared, noisy machine
    try:
        import torch  # noqa: F401

        have_torch = True
    except ImportError:
        have_torch = False
    print(
        f"fastmlp {fastmlp.cpu_info()['isa']} kernels, {fastmlp.get_num_threads()} threads; "
        f"{epochs} epochs per fit"
    )
    results = []
    # --quick: the first task only (the test suite checks that the script runs).
    for name, kind, data, params in tasks(epochs)[: 1 if args.quick else None]:
        Xtr, Xte, ytr, yte = data
        ours_cls, ref_cls = (
            (MLPClassifier, sk_nn.MLPClassifier) if kind == "clf" else (MLPRegressor, sk_nn.MLPRegressor)
        )
        row = {"task": name}
        ref, row["sklearn"] = timed(lambda: ref_cls(**params).fit(Xtr, ytr), repeats)
        row["sklearn score"] = ref.score(Xte, yte)
        for dtype in ("float64", "float32"):
            ours, row[f"fastmlp {dtype}"] = timed(
                lambda: ours_cls(dtype=dtype, **params).fit(Xtr, ytr), repeats
            )
            row[f"fastmlp {dtype} score"] = ours.score(Xte, yte)
            if have_torch:
                row[f"torch {dtype}"], row[f"torch {dtype} score"] = torch_fit(kind, data, params, dtype)
        results.append(row)
        print(f"\n{name} ({'accuracy' if kind == 'clf' else 'R^2'} on the test split)")
        for key in ["sklearn", "fastmlp float64", "fastmlp float32", "torch float64", "torch float32"]:
            if key in row:
                print(
                    f"  {key:16} {row[key]:8.3f} s  score {row[key + ' score']:.4f}  "
                    f"sklearn/this = {row['sklearn'] / row[key]:6.1f}x"
                )

    import matplotlib.pyplot as plt

    keys = [
        k
        for k in ["sklearn", "fastmlp float64", "fastmlp float32", "torch float64", "torch float32"]
        if k in results[0]
    ]
    fig, ax = plt.subplots(figsize=(10, 4))
    pos = np.arange(len(results))
    for i, key in enumerate(keys):
        ax.bar(pos + (i - len(keys) / 2 + 0.5) * 0.15, [r[key] for r in results], 0.15, label=key)
    ax.set_xticks(pos, [r["task"] for r in results])
    ax.set(yscale="log", ylabel="seconds per fit", title=f"training time, {epochs} epochs")
    ax.legend()
    save(fig, args, "timing.png")


if __name__ == "__main__":
    main()

"""Training on sparse X: fastmlp.sklearn on scipy.sparse CSR against scikit-learn's MLP
on the same CSR data, and against fastmlp on the densified array.

The data: a random CSR matrix (n_samples x n_features, uniform values at a given
density, as a bag-of-words or one-hot matrix is), labels from a hidden linear rule
(the sign of X @ r for a random r), the last 10% of the rows held out. All fits use
MLPClassifier(hidden_layer_sizes=(100,), max_iter=epochs, random_state=0) in float32
(X is float32, so both libraries train in float32), adam, batch 200. The densified
fit runs on the first rows only, as many as fit in 2 GiB: the whole array would need
n_samples x n_features x 4 bytes. Besides the wall time of each fit, the CPU time of
the process (which, on one thread, a machine shared with other jobs disturbs less).

Run: python examples/sparse_timing.py [--quick] [--out DIR]
     (the measurement of the README: taskset -c 1 env OMP_NUM_THREADS=1
      OPENBLAS_NUM_THREADS=1 python examples/sparse_timing.py)
"""

import time

import numpy as np
import scipy.sparse as sp
from _common import parse_args, save
from _fit_timing import timed
from sklearn import neural_network as sk_nn

import fastmlp
from fastmlp.sklearn import MLPClassifier


def sparse_data(n_samples, n_features, density, seed=0):
    """(X CSR float32, y) with y = [X @ r > 0] for a hidden random r. The entries are
    drawn directly (scipy.sparse.random draws from all n x d positions, minutes at
    this size); a position drawn twice holds the sum, as in scipy."""
    rng = np.random.default_rng(seed)
    nnz = int(n_samples * n_features * density)
    rows = rng.integers(0, n_samples, nnz)
    cols = rng.integers(0, n_features, nnz)
    X = sp.csr_matrix((rng.random(nnz, dtype=np.float32), (rows, cols)), shape=(n_samples, n_features))
    r = rng.standard_normal(n_features)
    return X, (X @ r > 0).astype(np.int64)


def main():
    args = parse_args(__doc__)
    n, d, density, epochs, dense_gib = (
        (3000, 5000, 0.002, 2, 0.05) if args.quick else (100_000, 50_000, 0.001, 2, 2.0)
    )
    X, y = sparse_data(n, d, density)
    split = n - n // 10
    Xtr, Xte, ytr, yte = X[:split], X[split:], y[:split], y[split:]
    dense_rows = min(split, int(dense_gib * 2**30 / (4 * d)))
    print(
        f"fastmlp {fastmlp.cpu_info()['isa']} kernels, {fastmlp.get_num_threads()} threads; "
        f"X {n} x {d} CSR float32, density {density:g} ({X.nnz} stored entries, "
        f"{(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**20:.0f} MiB; dense it "
        f"would take {n * d * 4 / 2**30:.1f} GiB); MLPClassifier (100,), {epochs} epochs"
    )
    params = dict(hidden_layer_sizes=(100,), max_iter=epochs, random_state=0)
    runs = [
        ("sklearn, CSR", sk_nn.MLPClassifier, Xtr, ytr),
        ("fastmlp, CSR", MLPClassifier, Xtr, ytr),
        (f"fastmlp, CSR, first {dense_rows} rows", MLPClassifier, Xtr[:dense_rows], ytr[:dense_rows]),
        (f"fastmlp, dense, first {dense_rows} rows", MLPClassifier, None, ytr[:dense_rows]),
    ]
    results = []
    for name, cls, Xfit, yfit in runs:
        if Xfit is None:  # densified only now, and dropped after the fit
            Xfit = Xtr[:dense_rows].toarray()
        cpu0 = time.process_time()
        model, seconds = timed(lambda cls=cls, X=Xfit, y=yfit: cls(**params).fit(X, y), 1)
        cpu = (time.process_time() - cpu0) / model.n_iter_
        per_epoch = seconds / model.n_iter_
        results.append((name, cpu, len(yfit)))
        print(
            f"  {name:34} {per_epoch:8.2f} s/epoch (CPU {cpu:6.2f} s)  "
            f"{cpu / len(yfit) * 1e6:7.1f} CPU us/sample  test accuracy {model.score(Xte, yte):.4f}"
        )
        del Xfit
    sk, ours = results[0][1], results[1][1]
    print(
        f"in CPU time, fastmlp on CSR is {sk / ours:.1f}x faster than scikit-learn on CSR, "
        f"and {results[3][1] / results[2][1]:.1f}x faster than fastmlp on the densified rows"
    )

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    ax.barh([r[0] for r in results], [r[1] / r[2] * 1e6 for r in results])
    ax.set(
        xscale="log",
        xlabel="CPU microseconds per sample and epoch",
        title=f"MLPClassifier (100,) on {n} x {d} sparse X, density {density:g}",
    )
    save(fig, args, "sparse_timing.png")


if __name__ == "__main__":
    main()

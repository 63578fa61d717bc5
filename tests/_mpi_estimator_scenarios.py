"""Scenarios of data-parallel fits of the scikit-learn estimators (``fit(X_shard,
y_shard, comm=)``), run on every rank by tests/test_distributed_mpi.py:
``mpiexec -n N python tests/_mpi_estimator_scenarios.py NAME``. A scenario prints ``ok``
on each rank when its checks pass and raises otherwise."""

import signal
import sys
import warnings

import numpy as np
import scipy.sparse
from _mpi_scenarios import comm, data, global_batches, raises_everywhere, rank, size, uneven_bounds
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

import fastmlp
from fastmlp.sklearn import MLPClassifier, MLPRegressor

FITTED = ("coefs_", "intercepts_", "loss_curve_", "n_iter_", "t_", "validation_scores_", "classes_")


def fitted(est):
    """The fitted attributes FITTED that est has, each a list of arrays (None if unset)."""
    out = {}
    for name in FITTED:
        value = getattr(est, name, None)
        if value is not None:
            value = [np.asarray(v) for v in value] if isinstance(value, list) else [np.asarray(value)]
        out[name] = value
    return out


def same_fit_on_every_rank(est, what):
    """The test's own check: every rank's fitted attributes equal rank 0's bit for bit."""
    mine = fitted(est)
    theirs = comm.bcast(mine, root=0)
    for name, value in mine.items():
        assert (value is None) == (theirs[name] is None), f"{what}: {name} on rank {rank} only"
        if value is not None:
            for a, b in zip(value, theirs[name]):
                assert np.array_equal(a, b), f"{what}: rank {rank}'s {name} differs from rank 0's"


def assert_close_fits(est, ref, what, rtol=1e-10):
    """est (the ranks' fit) and ref (one process) agree to rounding."""
    for a, b in zip(est.coefs_ + est.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol, err_msg=what)
    np.testing.assert_allclose(est.loss_curve_, ref.loss_curve_, rtol=rtol, err_msg=what)
    assert (est.n_iter_, est.t_) == (ref.n_iter_, ref.t_), what


def labels_of(y, rows_per_rank):
    """Three classes from a target column; class 2 only in rank 0's rows."""
    labels = np.digitize(y[:, 0], [-0.2, 0.4])
    later = labels[rows_per_rank:]
    later[later == 2] = 1
    return labels


def estimator_follows_one_process():
    """Equal shards in order, shuffling off: the ranks fit as one process fits the global
    batches (the rows in their order, batch_size x ranks): the same coefs_, loss_curve_,
    n_iter_, t_ and classes_. MLPRegressor with adam and sample weights; MLPClassifier
    with sgd, class_weight="balanced" and a class (or label) that only rank 0's shard
    holds, on labels, multilabel indicators and sparse X; partial_fit."""
    per, batch = 48, 16
    X, y = data(per * size, "float64")
    lo, hi = rank * per, (rank + 1) * per
    order = np.concatenate(global_batches([(r * per, (r + 1) * per) for r in range(size)], batch))
    labels = labels_of(y, per)
    settings = dict(hidden_layer_sizes=(16, 8), shuffle=False, random_state=0, max_iter=6)
    weights = np.random.default_rng(1).uniform(0.5, 2.0, len(X))
    multilabel = (y > 0).astype(int)
    multilabel[per:, 1] = 0  # the second label only in rank 0's rows
    sparse_X = scipy.sparse.csr_matrix(np.where(np.abs(X) > 0.5, X, 0))
    balanced = dict(solver="sgd", learning_rate_init=0.1, class_weight="balanced")
    cases = [  # (what, estimator, X, y, sample_weight, parameters)
        ("regressor", MLPRegressor, X, y, weights, dict(solver="adam", learning_rate_init=0.01)),
        ("classifier", MLPClassifier, X, labels, None, balanced),
        ("multilabel", MLPClassifier, X, multilabel, None, balanced),
        ("sparse X", MLPClassifier, sparse_X, labels, None, balanced),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for what, kind, data_X, target, w, extra in cases:
            mine, ordered = (None, None) if w is None else (w[lo:hi], w[order])
            est = kind(batch_size=batch, **settings, **extra).fit(
                data_X[lo:hi], target[lo:hi], mine, comm=comm
            )
            ref = kind(batch_size=batch * size, **settings, **extra).fit(
                data_X[order], target[order], ordered
            )
            same_fit_on_every_rank(est, what)
            assert_close_fits(est, ref, what)
            if what == "classifier":
                assert list(est.classes_) == [0, 1, 2], est.classes_
        est = MLPClassifier(batch_size=batch, **settings)
        ref = MLPClassifier(batch_size=batch * size, **settings)
        for _ in range(2):
            est.partial_fit(X[lo:hi], labels[lo:hi], classes=[0, 1, 2], comm=comm)
            ref.partial_fit(X[order], labels[order], classes=[0, 1, 2])
        same_fit_on_every_rank(est, "partial_fit")
        assert_close_fits(est, ref, "partial_fit")


def estimator_lbfgs():
    """solver="lbfgs" on uneven shards: every rank's scipy sees the full-batch loss and
    gradient of all the shards, so the ranks follow one process's lbfgs on all rows."""
    X, y = data(300, "float64")
    lo, hi = uneven_bounds(len(X))[rank]
    labels = labels_of(y, uneven_bounds(len(X))[0][1])  # class 2 only in rank 0's rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for kind, target in ((MLPRegressor, y), (MLPClassifier, labels)):
            settings = dict(solver="lbfgs", hidden_layer_sizes=(16,), max_iter=25, random_state=0, alpha=1e-3)
            est = kind(**settings).fit(X[lo:hi], target[lo:hi], comm=comm)
            ref = kind(**settings).fit(X, target)
            same_fit_on_every_rank(est, f"lbfgs {kind.__name__}")
            for a, b in zip(est.coefs_ + est.intercepts_, ref.coefs_ + ref.intercepts_):
                np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-8, err_msg=kind.__name__)
            np.testing.assert_allclose(est.loss_, ref.loss_, rtol=1e-10)
            assert est.n_iter_ == ref.n_iter_


def estimator_early_stopping():
    """Uneven shards, early stopping: each rank holds out a tenth of its shard, and the
    validation score is scikit-learn's of every rank's held-out rows together; every rank
    ends at the same epoch with the same scores and (best) weights. random_state=None:
    every rank starts from rank 0's weights."""
    X, y = data(900, "float64")
    y = y[:, 0]
    lo, hi = uneven_bounds(len(X))[rank]
    est = MLPRegressor(
        hidden_layer_sizes=(32,),
        early_stopping=True,
        n_iter_no_change=3,
        max_iter=200,
        learning_rate_init=0.01,
        random_state=0,
    )
    est.fit(X[lo:hi], y[lo:hi], comm=comm)
    same_fit_on_every_rank(est, "early stopping")
    assert est.n_iter_ < 200, "early stopping did not stop"
    # Each rank's held-out rows, drawn as the estimator draws them: the initial weights,
    # then scikit-learn's split, from one RandomState.
    rs = np.random.RandomState(0)
    for fan_in, fan_out in ((6, 32), (32, 1)):
        rs.uniform(size=(fan_in, fan_out))
        rs.uniform(size=fan_out)
    _, X_val, _, y_val = train_test_split(X[lo:hi], y[lo:hi], random_state=rs, test_size=0.1)
    X_all, y_all = np.concatenate(comm.allgather(X_val)), np.concatenate(comm.allgather(y_val))
    expected = r2_score(y_all, est.predict(X_all))  # the best weights, restored at the end
    np.testing.assert_allclose(est.best_validation_score_, expected, rtol=1e-12)
    assert est.best_validation_score_ == max(est.validation_scores_)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=None)
        clf.fit(X[lo:hi], (y[lo:hi] > 0).astype(int), comm=comm)
    same_fit_on_every_rank(clf, "random_state=None")


class InterruptedRegressor(MLPRegressor):
    """An MLPRegressor whose last rank gets a Ctrl-C at a chosen point of its fit:
    after epoch `epoch` (between two epochs, outside the engine), or in lbfgs's
    `evaluation`-th evaluation of the objective. Deterministic, unlike a timer, whose
    signal can land before fit has installed its handler (and then, as under mpi4py
    without -m, ends that rank outside any collective)."""

    def __init__(self, epoch=None, evaluation=None, **params):
        super().__init__(**params)
        self.epoch, self.evaluation, self.calls = epoch, evaluation, 0

    def _interrupt_at(self, point, when):
        if rank == size - 1 and point == when:
            signal.raise_signal(signal.SIGINT)

    def _iteration_ends(self):
        self._interrupt_at(self.n_iter_, self.epoch)
        super()._iteration_ends()

    def _lbfgs_objective(self, packed, *data):
        self.calls += 1
        self._interrupt_at(self.calls, self.evaluation)
        return super()._lbfgs_objective(packed, *data)


def estimator_interrupted():
    """Ctrl-C on one rank between two epochs: at the check after the next epoch, that
    rank stops as scikit-learn's fit does (the warning "Training interrupted by user.",
    the fit returns) and the others raise a RuntimeError naming it, all with the same
    weights; nobody hangs."""
    X, y = data(2000, "float32")
    est = InterruptedRegressor(epoch=2, hidden_layer_sizes=(32,), max_iter=50, n_iter_no_change=100)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            est.fit(X, y, comm=comm)
        except RuntimeError as e:
            assert rank != size - 1, f"the interrupted rank raised {e!r}"
            assert f"rank {size - 1} of {size} was interrupted" in str(e), str(e)
        else:
            assert rank == size - 1, f"rank {rank} was not stopped"
            assert any("interrupted by user" in str(w.message) for w in caught), [
                str(w.message) for w in caught
            ]
    assert est.n_iter_ == 3, est.n_iter_  # epoch 3 ran before the check that stopped it
    weights = np.concatenate([c.ravel() for c in est.coefs_ + est.intercepts_])
    assert np.array_equal(weights, comm.bcast(weights, root=0)), f"rank {rank}'s weights differ"


def estimator_lbfgs_interrupted():
    """Ctrl-C on one rank during an lbfgs fit (in scipy or the engine, outside any poll):
    the evaluation's all-reduce stops every rank, that one with KeyboardInterrupt, the
    others with a RuntimeError; nobody waits for max_iter or hangs."""
    X, y = data(2000, "float32")
    est = InterruptedRegressor(evaluation=3, solver="lbfgs", hidden_layer_sizes=(32,), max_iter=10_000, tol=0)
    try:
        est.fit(X, y, comm=comm)
    except (KeyboardInterrupt, RuntimeError) as e:
        expected = KeyboardInterrupt if rank == size - 1 else RuntimeError
        assert isinstance(e, expected), f"rank {rank}: {e!r}"
        assert est.calls == 3, est.calls
        return
    raise AssertionError("the fit was not interrupted")


def estimator_bad_input():
    """Shards that cannot train together raise on every rank."""
    X, y = data(60, "float64")
    last = size - 1
    features = 5 if rank == last else 6
    raises_everywhere(
        (ValueError, RuntimeError),
        ["n_features"],
        lambda: MLPRegressor(max_iter=2).fit(X[:, :features], y, comm=comm),
    )
    shard = (X[:10], y[:10]) if rank == last else (X, y)  # 1 row to hold out: too few
    raises_everywhere(
        (ValueError, RuntimeError),
        ["validation set is too small" if rank == last else f"rank {last} of {size} failed"],
        lambda: MLPRegressor(early_stopping=True).fit(*shard, comm=comm),
    )


if __name__ == "__main__":
    fastmlp.set_num_threads(1)
    globals()[sys.argv[1]]()
    print(f"rank {rank} of {size}: ok")

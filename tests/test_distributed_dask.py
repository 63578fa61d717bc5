"""Batch inference and model search on a real dask.distributed LocalCluster with two
worker processes of one thread each."""

import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")  # fastmlp[dask]; in the test extra, so CI runs these
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

import fastmlp  # noqa: E402
from fastmlp.distributed import cap_threads, predict, predict_proba  # noqa: E402
from fastmlp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        cap_threads(c)
        yield c


def test_workers_threads_are_capped(client):
    assert set(client.run(fastmlp.get_num_threads).values()) == {1}
    assert len(client.scheduler_info()["workers"]) == 2


@pytest.mark.parametrize("sizes,dtype", [([784, 256, 10], "float32"), ([2, 256, 256, 256, 1], "float64")])
def test_predict_dask_array_equals_in_memory(client, sizes, dtype):
    X = np.random.default_rng(0).standard_normal((6000, sizes[0])).astype(dtype)
    model = fastmlp.MLP(sizes, dtype=dtype, seed=1)
    lazy = predict(model, da.from_array(X, chunks=(1500, -1)))  # rechunked to 2048
    assert isinstance(lazy, da.Array) and lazy.shape == (6000, sizes[-1]) and lazy.dtype == dtype
    out = client.compute(lazy).result()
    assert np.array_equal(out, model.predict(X))


def test_predict_rechunks_columns(client):
    X = np.random.default_rng(1).standard_normal((2000, 8))
    model = fastmlp.MLP([8, 16, 3], dtype="float64", seed=0)
    out = client.compute(predict(model, da.from_array(X, chunks=(500, 4)))).result()
    assert np.array_equal(out, model.predict(X))


def test_chunks_of_unknown_size(client):
    X = np.random.default_rng(3).standard_normal((3000, 5))
    model = fastmlp.MLP([5, 16, 2], dtype="float64", seed=0)
    rows = dd.from_pandas(pd.DataFrame(X), npartitions=3).to_dask_array()  # chunks (nan, 5)
    out = client.compute(predict(model, rows)).result()
    np.testing.assert_allclose(out, model.predict(X), rtol=1e-12, atol=1e-12)


def test_estimator_on_a_dataframe(client, digits):
    Xtr, Xte, ytr, yte = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPClassifier(hidden_layer_sizes=(32,), max_iter=5, random_state=0).fit(Xtr, ytr)
    frame = dd.from_pandas(pd.DataFrame(Xte, index=np.arange(len(Xte)) * 3), npartitions=3)
    labels = predict(est, frame)
    proba = predict_proba(est, frame)
    assert isinstance(labels, dd.Series) and isinstance(proba, dd.DataFrame)
    labels, proba = client.compute([labels, proba], sync=True)
    assert np.array_equal(labels.to_numpy(), est.predict(Xte))
    assert np.array_equal(labels.index, frame.index.compute())
    assert np.array_equal(proba.to_numpy(), est.predict_proba(Xte))


class CountingMLP(fastmlp.MLP):
    """Counts how often the client pickles it (class attribute: the client's count)."""

    pickles = 0

    def __getstate__(self):
        type(self).pickles += 1
        return super().__getstate__()


def test_model_is_sent_once_not_per_chunk(client):
    X = np.random.default_rng(2).standard_normal((20000, 4)).astype(np.float32)
    counts = []
    for chunk in (10240, 2048):  # 2 and 10 blocks
        model = CountingMLP([4, 8, 1], seed=0)
        CountingMLP.pickles = 0
        out = client.compute(predict(model, da.from_array(X, chunks=(chunk, -1)))).result()
        assert np.array_equal(out, model.predict(X))
        counts.append(CountingMLP.pickles)
    assert counts[0] == counts[1] <= 2, counts


def test_bad_input():
    model = fastmlp.MLP([4, 1], seed=0)
    with pytest.raises(ValueError, match=r"shape \(n_samples, 4\)"):
        predict(model, da.zeros((10, 3), chunks=5))
    with pytest.raises(TypeError, match="dask.array"):
        predict(model, np.zeros((10, 4)))
    with pytest.raises(TypeError, match="predict_proba"):
        predict_proba(model, da.zeros((10, 4), chunks=5))


def test_grid_search_on_the_cluster_equals_local(client):
    joblib = pytest.importorskip("joblib")
    from sklearn.datasets import make_regression
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    X, y = make_regression(n_samples=300, n_features=6, noise=5.0, random_state=0)
    y = y / y.std()
    grid = {"alpha": [1e-4, 1e-1], "hidden_layer_sizes": [(8,), (32,)], "learning_rate_init": [1e-3, 1e-2]}

    def searches():
        base = MLPRegressor(max_iter=30, random_state=0)
        return (
            GridSearchCV(base, grid, cv=3),
            RandomizedSearchCV(base, grid, n_iter=4, cv=3, random_state=0),
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = [s.fit(X, y) for s in searches()]
        with joblib.parallel_backend("dask"):
            remote = [s.fit(X, y) for s in searches()]
    for a, b in zip(local, remote):
        assert a.best_params_ == b.best_params_
        np.testing.assert_array_equal(a.cv_results_["mean_test_score"], b.cv_results_["mean_test_score"])

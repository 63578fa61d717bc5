"""ONNX export (fastmlp.onnx): the graphs run in onnxruntime and compute what predict
and predict_proba do, to 1e-5 in float32 and 1e-12 in float64."""

import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime
import pytest
from conftest import ACTIVATIONS, DTYPES, quiet_fit
from numpy.testing import assert_allclose, assert_array_equal

import fastmlp
from fastmlp import onnx as fastmlp_onnx

TOL = {np.float32: 1e-5, np.float64: 1e-12}


def run(path, X):
    """The outputs of the graph at `path` on X, by name, from an onnxruntime session."""
    session = onnxruntime.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {session.get_inputs()[0].name: X})))


def close(actual, expected, dtype):
    assert actual.dtype == np.dtype(dtype)
    assert_allclose(actual, expected, rtol=TOL[dtype], atol=TOL[dtype])


def unit_model(activation, dtype):
    """MLP([1, 1]) with weight 1 and bias 0: its output is the activation of its input."""
    model = fastmlp.MLP([1, 1], output_activation=activation, dtype=dtype, seed=0)
    model.layers[0].weight = [[1.0]]
    model.layers[0].bias = [0.0]
    return model


# ---- fastmlp.MLP ------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output_activation", ACTIVATIONS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_and_output_layer(tmp_path, rng, activation, output_activation, dtype):
    model = fastmlp.MLP(
        [6, 9, 7, 4], activation=activation, output_activation=output_activation, dtype=dtype, seed=3
    )
    path = tmp_path / "model.onnx"
    model.to_onnx(path)
    for rows in (1, 57):  # the batch dimension is dynamic
        X = (3 * rng.standard_normal((rows, 6))).astype(dtype)
        out = run(path, X)
        assert list(out) == ["output"]
        close(out["output"], model.predict(X), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_onnx_reference_implementation_agrees(tmp_path, rng, activation, dtype):
    # onnx's own evaluator implements the operators as the standard defines them: the
    # graph means what predict computes there too, not only in onnxruntime.
    from onnx.reference import ReferenceEvaluator

    model = fastmlp.MLP([6, 9, 4], activation=activation, output_activation=activation, dtype=dtype, seed=3)
    model.to_onnx(tmp_path / "m.onnx")
    X = (3 * rng.standard_normal((50, 6))).astype(dtype)
    (out,) = ReferenceEvaluator(os.fspath(tmp_path / "m.onnx")).run(None, {"input": X})
    close(out, model.predict(X), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("slope", (0.01, 0.3, -0.5))
def test_leaky_relu_slope_and_no_bias(tmp_path, rng, slope, dtype):
    model = fastmlp.MLP(
        [5, 8, 3],
        activation="leaky_relu",
        output_activation="leaky_relu",
        bias=False,
        negative_slope=slope,
        dtype=dtype,
        seed=1,
    )
    model.to_onnx(tmp_path / "m.onnx")
    X = rng.standard_normal((40, 5)).astype(dtype)
    close(run(tmp_path / "m.onnx", X)["output"], model.predict(X), dtype)
    assert len(onnx.load(tmp_path / "m.onnx").graph.initializer) == 2 + 2  # 2 weights, 2 constants


@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu_over_its_whole_range(tmp_path, dtype):
    # float64 graphs compute erf from Exp and arithmetic: check it where erfc spans
    # its range, up to where it underflows, and at the extremes.
    info = np.finfo(dtype)
    x = np.concatenate(
        [
            np.linspace(-40, 40, 20001, dtype=dtype),
            [0, -0.0, info.tiny, -info.tiny, info.max, -info.max, np.inf, -np.inf],
        ]
    )
    X = x.astype(dtype).reshape(-1, 1)
    model = unit_model("gelu", dtype)
    model.to_onnx(tmp_path / "gelu.onnx")
    close(run(tmp_path / "gelu.onnx", X)["output"], model.predict(X), dtype)


def test_erfc_coefficients_are_the_chebyshev_interpolant():
    from numpy.polynomial import chebyshev
    from scipy.special import erfcx

    def log_ratio(x):  # log(erfcx(z) / t) at x = 2t - 1, t = 2 / (2 + z)
        t = (np.maximum(x, -1 + 1e-300) + 1) / 2
        return np.log(erfcx(2 / t - 2) / t)

    coefficients = chebyshev.chebinterpolate(log_ratio, len(fastmlp_onnx._ERFC_CHEBYSHEV) - 1)
    assert_allclose(fastmlp_onnx._ERFC_CHEBYSHEV, coefficients, rtol=0, atol=1e-16)


@pytest.mark.parametrize("dtype", DTYPES)
def test_step_at_zero_and_nan(tmp_path, dtype):
    X = np.array([[0.0], [-0.0], [1e-30], [-1e-30], [np.nan], [np.inf], [-np.inf]], dtype=dtype)
    model = unit_model("step", dtype)
    model.to_onnx(tmp_path / "step.onnx")
    assert_array_equal(run(tmp_path / "step.onnx", X)["output"], model.predict(X))


@pytest.mark.parametrize("dtype", DTYPES)
def test_graph_is_standard_and_documented(tmp_path, dtype):
    model = fastmlp.MLP([4, 3, 2], activation="gelu", output_activation="softmax", dtype=dtype)
    model.to_onnx(tmp_path / "m.onnx")
    onnx.checker.check_model(os.fspath(tmp_path / "m.onnx"), full_check=True)
    proto = onnx.load(tmp_path / "m.onnx")
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", fastmlp_onnx.OPSET)]
    assert proto.ir_version == fastmlp_onnx.IR_VERSION
    elem = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    (inp,), (out,) = proto.graph.input, proto.graph.output
    for value, name, width in ((inp, "input", 4), (out, "output", 2)):
        assert value.name == name
        assert value.type.tensor_type.elem_type == elem
        dims = value.type.tensor_type.shape.dim
        assert (dims[0].dim_param, dims[1].dim_value) == ("batch", width)
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("Gemm") == 2 and ops[-1] == "Softmax"
    assert ("Erf" in ops) == (dtype == np.float32)  # onnxruntime has no float64 Erf
    weights = {i.name: onnx.numpy_helper.to_array(i) for i in proto.graph.initializer}
    assert_array_equal(weights["layers.1.weight"], model.layers[1].weight)  # (out, in), transB=1
    assert_array_equal(weights["layers.0.bias"], model.layers[0].bias)


# ---- the scikit-learn estimators ------------------------------------------------------


@pytest.fixture(scope="module")
def sk():
    from fastmlp.sklearn import MLPClassifier, MLPRegressor

    return MLPClassifier, MLPRegressor


def check_classifier(tmp_path, clf, X):
    path = tmp_path / "clf.onnx"
    clf.to_onnx(path)
    X = X.astype(clf.coefs_[0].dtype)
    for rows in (X[:1], X):
        out = run(path, rows)
        assert list(out) == ["label", "probabilities"]
        assert_array_equal(out["label"], clf.predict(rows))
        close(out["probabilities"], clf.predict_proba(rows), rows.dtype.type)


@pytest.mark.parametrize("dtype", ("float32", "float64"))
@pytest.mark.parametrize("activation", ("identity", "logistic", "tanh", "relu", "leaky_relu", "gelu"))
def test_multiclass_classifier(tmp_path, sk, digits, activation, dtype):
    Xtr, Xte, ytr, _ = digits
    labels = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    clf = quiet_fit(
        sk[0](hidden_layer_sizes=(20,), activation=activation, max_iter=15, dtype=dtype, random_state=0),
        Xtr,
        labels[ytr],
    )
    check_classifier(tmp_path, clf, Xte)


@pytest.mark.parametrize("dtype", ("float32", "float64"))
@pytest.mark.parametrize(
    "labels",
    ([0, 1], [-3, 7], ["no", "yes"], [False, True], [-1.0, 2.0]),
    ids=["01", "ints", "strings", "bools", "floats"],
)
def test_binary_classifier(tmp_path, sk, digits, labels, dtype):
    Xtr, Xte, ytr, _ = digits
    y = np.asarray(labels)[(ytr >= 5).astype(int)]
    clf = quiet_fit(sk[0](hidden_layer_sizes=(16, 8), max_iter=20, dtype=dtype, random_state=0), Xtr, y)
    check_classifier(tmp_path, clf, Xte)


@pytest.mark.parametrize("dtype", ("float32", "float64"))
def test_multilabel_classifier(tmp_path, sk, digits, dtype):
    Xtr, Xte, ytr, _ = digits
    Y = np.column_stack([ytr % 2, ytr >= 5, ytr == 0]).astype(int)
    clf = quiet_fit(sk[0](hidden_layer_sizes=(24,), max_iter=20, dtype=dtype, random_state=0), Xtr, Y)
    check_classifier(tmp_path, clf, Xte)


@pytest.mark.parametrize("dtype", ("float32", "float64"))
@pytest.mark.parametrize("activation", ("identity", "logistic", "tanh", "relu", "leaky_relu", "gelu"))
@pytest.mark.parametrize("loss", ("squared_error", "poisson"))
@pytest.mark.parametrize("n_outputs", (1, 3))
def test_regressor(tmp_path, sk, rng, n_outputs, loss, activation, dtype):
    X = rng.standard_normal((120, 5))
    Y = np.abs(X[:, :n_outputs] * 2 + 0.3 * X[:, 1:2] ** 2)  # >= 0, for poisson too
    y = Y.ravel() if n_outputs == 1 else Y
    reg = quiet_fit(
        sk[1](
            loss=loss,
            hidden_layer_sizes=(12, 6),
            activation=activation,
            max_iter=20,
            dtype=dtype,
            random_state=0,
        ),
        X,
        y,
    )
    reg.to_onnx(tmp_path / "reg.onnx")
    X = X.astype(dtype)
    for rows in (X[:1], X):
        out = run(tmp_path / "reg.onnx", rows)
        assert list(out) == ["variable"]
        close(out["variable"], reg.predict(rows).reshape(len(rows), n_outputs), rows.dtype.type)


def test_lbfgs_classifier_after_pickling(tmp_path, sk, digits):
    # The estimator's network is rebuilt from coefs_ after unpickling: the export too.
    import pickle

    Xtr, Xte, ytr, _ = digits
    clf = pickle.loads(
        pickle.dumps(
            quiet_fit(sk[0](hidden_layer_sizes=(10,), solver="lbfgs", max_iter=30, random_state=0), Xtr, ytr)
        )
    )
    check_classifier(tmp_path, clf, Xte)


# ---- refusals and failures -------------------------------------------------------------


def test_unfitted_estimator_writes_nothing(tmp_path, sk):
    from sklearn.exceptions import NotFittedError

    for est in (sk[0](), sk[1]()):
        with pytest.raises(NotFittedError):
            est.to_onnx(tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []


def test_one_class_classifier_keeps_the_old_file(tmp_path, sk, digits):
    Xtr, _, _, _ = digits
    clf = quiet_fit(sk[0](hidden_layer_sizes=(4,), max_iter=2, random_state=0), Xtr, np.full(len(Xtr), 7))
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    with pytest.raises(ValueError, match="fitted on one class"):
        clf.to_onnx(path)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["m.onnx"]


def test_unwritable_paths_leave_no_file(tmp_path):
    model = fastmlp.MLP([3, 2], seed=0)
    with pytest.raises(FileNotFoundError):
        model.to_onnx(tmp_path / "missing" / "m.onnx")
    (tmp_path / "dir").mkdir()
    with pytest.raises(IsADirectoryError):
        model.to_onnx(tmp_path / "dir")  # the rename fails after the data were written
    assert os.listdir(tmp_path) == ["dir"] and os.listdir(tmp_path / "dir") == []


def test_without_onnx_the_error_names_the_extra(tmp_path):
    code = (
        "import sys; sys.modules['onnx'] = None\n"
        "import fastmlp\n"
        "try:\n    fastmlp.MLP([2, 1]).to_onnx('never.onnx')\nexcept ImportError as e:\n"
        "    assert \"pip install 'fastmlp[onnx]'\" in str(e), e\nelse:\n    raise SystemExit('no error')"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, cwd=tmp_path)


def test_labels_onnx_cannot_hold_are_refused(tmp_path, sk, digits):
    Xtr, _, ytr, _ = digits
    clf = quiet_fit(sk[0](hidden_layer_sizes=(4,), max_iter=2, random_state=0), Xtr, ytr)
    clf.classes_ = clf.classes_ + 1j  # set by hand: scikit-learn's fit refuses complex labels
    with pytest.raises(ValueError, match="class labels must be integers, floats, booleans or strings"):
        clf.to_onnx(tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []

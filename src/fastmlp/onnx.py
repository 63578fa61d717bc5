"""Export of fastmlp networks to ONNX, for runtimes in other languages.

The graph is standard ONNX, opset ``OPSET`` (17, IR version 8, from 2022: tested with
onnxruntime 1.19 and 1.32), built with the ``onnx`` package's helper API and checked by
``onnx.checker`` before it is written: one ``Gemm`` per layer (``transB=1``: the
weights stay in torch.nn.Linear's (out_features, in_features) layout) with the weight
and bias as initializers, then the layer's activation:

- identity: nothing; relu: ``Relu``; sigmoid: ``Sigmoid``; tanh: ``Tanh``;
  softmax: ``Softmax(axis=-1)``;
- leaky_relu: ``Where(Less(x, 0), Mul(x, negative_slope), x)``, fastmlp's definition
  (onnxruntime has no float64 ``LeakyRelu``);
- gelu: the exact erf form ``0.5 x (1 + erf(x / sqrt(2)))``, with ``Erf`` in float32;
  onnxruntime has no float64 ``Erf`` (nor ``Gelu``, which needs opset 20), so float64
  graphs compute erf from standard float64 ops (``_erfc``: relative error below 5e-15);
- step: ``Where(GreaterOrEqual(x, 0), 1, Where(Less(x, 0), 0, x))`` (1 at 0, NaN kept).

The graph computes in the model's dtype (float32 or float64, the initializers' and
the input's) and has a dynamic batch dimension, named "batch".

Every file is written atomically (fastmlp._files.atomic_write): a failure leaves the
file that was there, or none. ``onnx`` is an optional dependency (``pip install
'fastmlp[onnx]'``, which adds onnxruntime to run the graphs).
"""

import numpy as np

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as exc:
    raise ImportError(
        "ONNX export needs the onnx package, which is not installed: "
        "pip install 'fastmlp[onnx]' (onnx and onnxruntime)"
    ) from exc

from fastmlp import __version__
from fastmlp._files import atomic_write

__all__ = ["OPSET", "export_model", "export_estimator"]

OPSET = 17
# The IR version of opset 17 (onnx 1.12), not the onnx package's newest: runtimes refuse
# files whose IR version is newer than theirs.
IR_VERSION = 8
BATCH = "batch"

_ELEM_TYPE = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}

# erfc(z) = t exp(-z^2 + P(2t - 1)) for z >= 0, t = 2 / (2 + z) (Numerical Recipes'
# form), P the Chebyshev series below: the degree-24 Chebyshev interpolant
# (numpy.polynomial.chebyshev.chebinterpolate) of log(erfcx(z) / t), from
# scipy.special.erfcx. P's error is below 5e-15 on all of z >= 0, so erfc's relative
# error is below 5e-15 for z < 6 and 6e-14 up to 27 (from the rounding of z^2), where
# erfc underflows. tests/test_onnx.py recomputes the coefficients.
_ERFC_CHEBYSHEV = (
    -0.6513268598908547,
    0.6419697923564904,
    0.019476473204185708,
    -0.00956151478680863,
    -0.0009465953444820733,
    0.00036683949785280785,
    4.2523324806755235e-05,
    -2.0278578112490945e-05,
    -1.6242900046945478e-06,
    1.303655835720129e-06,
    1.562644157273678e-08,
    -8.523809568933831e-08,
    6.529054286476926e-09,
    5.059343647496768e-09,
    -9.913644559187097e-10,
    -2.2736487943461407e-10,
    9.646743957736206e-11,
    2.394465990071051e-12,
    -6.886391464639792e-12,
    8.948019378875956e-13,
    3.1324154734868355e-13,
    -1.1333527023161162e-13,
    1.1412486553779912e-15,
    6.081349041036923e-15,
    -6.549459098258569e-16,
)


class _Graph:
    """The nodes and initializers of one graph, with unique tensor names."""

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        self.nodes = []
        self.initializers = []
        self._constants = {}
        self._count = 0

    def initializer(self, name, array):
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def const(self, value):
        """A scalar of the graph's dtype (one initializer per value)."""
        key = float(value)
        if key not in self._constants:
            self._constants[key] = self.initializer(
                f"const_{len(self._constants)}", np.array(value, dtype=self.dtype)
            )
        return self._constants[key]

    def op(self, op_type, *inputs, name=None, **attributes):
        """Add one node; returns the name of its output (``name`` or a fresh one)."""
        self._count += 1
        out = name or f"{op_type.lower()}_{self._count}"
        self.nodes.append(
            helper.make_node(op_type, list(inputs), [out], name=f"{op_type}_{self._count}", **attributes)
        )
        return out


def _erf(g, x):
    if g.dtype == np.float32:
        return g.op("Erf", x)
    # erf(x) = sign(x) (1 - erfc(|x|))
    return g.op("Mul", g.op("Sign", x), g.op("Sub", g.const(1), _erfc(g, g.op("Abs", x))))


def _erfc(g, z):
    """erfc(z) for z >= 0 from float64 Mul, Add, Div and Exp (see _ERFC_CHEBYSHEV)."""
    t = g.op("Div", g.const(2), g.op("Add", g.const(2), z))
    y = g.op("Sub", g.op("Mul", g.const(4), t), g.const(2))  # 2 (2t - 1), as Clenshaw uses it
    # Clenshaw's recurrence b_k = c_k + y b_{k+1} - b_{k+2}, from the highest degree down.
    *rest, c1, c0 = reversed(_ERFC_CHEBYSHEV)
    b2, b1 = None, g.const(rest[0])
    for c in rest[1:] + [c1]:
        b = g.op("Add", g.op("Mul", y, b1), g.const(c))
        if b2 is not None:
            b = g.op("Sub", b, b2)
        b2, b1 = b1, b
    # The sum is c_0 + (y / 2) b_1 - b_2.
    series = g.op("Sub", g.op("Add", g.const(c0), g.op("Mul", g.op("Mul", g.const(0.5), y), b1)), b2)
    exponent = g.op("Sub", series, g.op("Mul", z, z))
    return g.op("Mul", t, g.op("Exp", exponent))


def _activation(g, name, x, negative_slope, out=None):
    """The output of activation `name` (fastmlp's, or "exp") applied to tensor x."""
    if name == "identity":
        return g.op("Identity", x, name=out) if out else x
    if name in ("relu", "sigmoid", "tanh", "exp"):
        return g.op(name.capitalize(), x, name=out)
    if name == "softmax":
        return g.op("Softmax", x, axis=-1, name=out)
    if name == "leaky_relu":
        return g.op(
            "Where", g.op("Less", x, g.const(0)), g.op("Mul", x, g.const(negative_slope)), x, name=out
        )
    if name == "gelu":
        half_x = g.op("Mul", x, g.const(0.5))
        cdf2 = g.op("Add", g.const(1), _erf(g, g.op("Mul", x, g.const(np.sqrt(0.5)))))
        return g.op("Mul", half_x, cdf2, name=out)
    if name == "step":
        below_or_nan = g.op("Where", g.op("Less", x, g.const(0)), g.const(0), x)
        return g.op("Where", g.op("GreaterOrEqual", x, g.const(0)), g.const(1), below_or_nan, name=out)
    raise ValueError(f"activation {name!r} has no ONNX export")


def _network(g, model, x, output_activation=None, out=None):
    """The layers of fastmlp.MLP `model` applied to x; the last layer's activation is
    `output_activation` if given (the estimators apply theirs after the network)."""
    for i, layer in enumerate(model.layers):
        w = g.initializer(f"layers.{i}.weight", layer.weight)
        inputs = [x, w] + ([g.initializer(f"layers.{i}.bias", layer.bias)] if layer.bias is not None else [])
        last = i == len(model.layers) - 1
        act = output_activation if last and output_activation is not None else layer.activation
        x = _activation(
            g, act, g.op("Gemm", *inputs, transB=1), model.negative_slope, out=out if last else None
        )
    return x


def _tensor_info(name, elem_type, width):
    return helper.make_tensor_value_info(name, elem_type, [BATCH] if width is None else [BATCH, width])


def _write(g, path, inputs, outputs, doc):
    graph = helper.make_graph(g.nodes, "fastmlp", inputs, outputs, g.initializers)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="fastmlp",
        producer_version=__version__,
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    atomic_write(path, [model.SerializeToString()])


def export_model(model, path):
    """Write fastmlp.MLP `model` to `path` as an ONNX graph (see MLP.to_onnx)."""
    g = _Graph(model.dtype)
    elem = _ELEM_TYPE[g.dtype]
    _network(g, model, "input", out="output")
    _write(
        g,
        path,
        [_tensor_info("input", elem, model.n_features)],
        [_tensor_info("output", elem, model.n_outputs)],
        f"fastmlp {model!r}",
    )


def export_estimator(estimator, path):
    """Write a fitted fastmlp.sklearn estimator to `path` as an ONNX graph (see
    MLPClassifier.to_onnx and MLPRegressor.to_onnx)."""
    model = estimator._ensure_model()
    g = _Graph(model.dtype)
    elem = _ELEM_TYPE[g.dtype]
    inputs = [_tensor_info("X", elem, model.n_features)]
    if not hasattr(estimator, "classes_"):  # a regressor: identity or exp output
        _network(g, model, "X", output_activation=estimator.out_activation_, out="variable")
        outputs = [_tensor_info("variable", elem, model.n_outputs)]
    else:
        outputs = _classifier_outputs(g, estimator, model, elem)
    _write(g, path, inputs, outputs, f"fastmlp {type(estimator).__name__}")


def _classifier_outputs(g, estimator, model, elem):
    """ "label" as predict returns it and "probabilities" as predict_proba does."""
    y_type = estimator._label_binarizer.y_type_
    classes = np.asarray(estimator.classes_)
    if y_type == "multilabel-indicator":
        p = _network(g, model, "X", output_activation="sigmoid", out="probabilities")
        g.op("Cast", g.op("Greater", p, g.const(0.5)), to=TensorProto.INT64, name="label")
        return [
            _tensor_info("label", TensorProto.INT64, len(classes)),
            _tensor_info("probabilities", elem, len(classes)),
        ]
    if len(classes) < 2:
        raise ValueError(
            f"to_onnx: the classifier was fitted on one class ({classes[0]!r}); "
            f"its graph would have nothing to compute"
        )
    labels, label_type = _label_tensor(classes)
    table = g.initializer("classes", labels)
    if y_type == "multiclass":
        p = _network(g, model, "X", output_activation="softmax", out="probabilities")
        index = g.op("ArgMax", p, axis=1, keepdims=0)
    else:  # binary: one logistic output p, probabilities [1 - p, p], label classes_[p > 0.5]
        p1 = _network(g, model, "X", output_activation="sigmoid")
        g.op("Concat", g.op("Sub", g.const(1), p1), p1, axis=1, name="probabilities")
        axes = g.initializer("squeeze_axes", np.array([1], dtype=np.int64))
        index = g.op("Cast", g.op("Squeeze", g.op("Greater", p1, g.const(0.5)), axes), to=TensorProto.INT64)
    g.op("Gather", table, index, axis=0, name="label")
    return [_tensor_info("label", label_type, None), _tensor_info("probabilities", elem, len(classes))]


def _label_tensor(classes):
    """classes_ as an initializer array, with its ONNX element type: int64, float64,
    bool or string labels."""
    if classes.dtype.kind in "iu":
        return classes.astype(np.int64), TensorProto.INT64
    if classes.dtype.kind == "f":
        return classes.astype(np.float64), TensorProto.DOUBLE
    if classes.dtype.kind == "b":
        return classes, TensorProto.BOOL
    if classes.dtype.kind == "U":
        return classes.astype(object), TensorProto.STRING
    raise ValueError(
        f"to_onnx: the class labels must be integers, floats, booleans or strings; classes_ is {classes!r}"
    )

"""Bad input raises a TypeError or ValueError naming the argument (and the shapes)."""

import re

import numpy as np
import pytest

import fastmlp
from fastmlp._aligned import is_aligned

f32, f64 = np.float32, np.float64


def arr(*shape, dtype=f64):
    return np.ones(shape, dtype)


def lin(x=None, w=None, b=None, **kw):
    x = arr(3, 4) if x is None else x
    w = arr(5, 4) if w is None else w
    return fastmlp.linear(x, w, b, **kw)


def lin_bw(gy=None, x=None, w=None, y=None, act="identity", **kw):
    gy = arr(3, 5) if gy is None else gy
    x = arr(3, 4) if x is None else x
    w = arr(5, 4) if w is None else w
    y = arr(3, 5) if y is None else y
    return fastmlp.linear_backward(gy, x, w, y, act, **kw)


def act_bw(name="tanh", gy=None, y=None, x=None, **kw):
    gy = arr(3, 5) if gy is None else gy
    y = arr(3, 5) if y is None else y
    return fastmlp.activation_backward(name, gy, y, x, **kw)


S = re.escape

CASES = {
    # --- not arrays, wrong dtypes (TypeError) ---
    "matmul a list": (
        TypeError,
        r"\ba must be a numpy.ndarray, got list",
        lambda: fastmlp.matmul([[1.0, 2.0]], arr(2, 2)),
    ),
    "matmul b scalar": (
        TypeError,
        r"\bb must be a numpy.ndarray, got float",
        lambda: fastmlp.matmul(arr(2, 2), 1.0),
    ),
    "matmul int a": (
        TypeError,
        r"\ba must have dtype float32 or float64, got int64",
        lambda: fastmlp.matmul(np.ones((2, 2), np.int64), arr(2, 2)),
    ),
    "matmul float16": (
        TypeError,
        r"\bb must have dtype float32 or float64, got float16",
        lambda: fastmlp.matmul(arr(2, 2), np.ones((2, 2), np.float16)),
    ),
    "matmul complex": (
        TypeError,
        r"\ba must have dtype float32 or float64",
        lambda: fastmlp.matmul(np.ones((2, 2), complex), arr(2, 2)),
    ),
    "matmul bool": (
        TypeError,
        r"\bb must have dtype float32 or float64",
        lambda: fastmlp.matmul(arr(2, 2), np.ones((2, 2), bool)),
    ),
    "matmul big-endian": (
        TypeError,
        r"\ba must have dtype float32 or float64, got >f8",
        lambda: fastmlp.matmul(np.ones((2, 2), ">f8"), arr(2, 2)),
    ),
    "matmul mixed": (
        TypeError,
        r"\ba is float32 but b is float64",
        lambda: fastmlp.matmul(arr(2, 2, dtype=f32), arr(2, 2)),
    ),
    "linear x list": (TypeError, r"\bx must be a numpy.ndarray", lambda: lin(x=[[1.0] * 4] * 3)),
    "linear weight None": (
        TypeError,
        r"\bweight must be a numpy.ndarray, got NoneType",
        lambda: fastmlp.linear(arr(3, 4), None),
    ),
    "linear mixed weight": (
        TypeError,
        r"\bx is float64 but weight is float32",
        lambda: lin(w=arr(5, 4, dtype=f32)),
    ),
    "linear mixed bias": (
        TypeError,
        r"\bx is float32 but bias is float64",
        lambda: lin(x=arr(3, 4, dtype=f32), w=arr(5, 4, dtype=f32), b=arr(5)),
    ),
    "linear int bias": (
        TypeError,
        r"\bbias must have dtype float32 or float64, got int32",
        lambda: lin(b=np.ones(5, np.int32)),
    ),
    "linear bias list": (TypeError, r"\bbias must be a numpy.ndarray, got list", lambda: lin(b=[0.0] * 5)),
    "linear big-endian x": (
        TypeError,
        r"\bx must have dtype float32 or float64, got >f4",
        lambda: lin(x=np.ones((3, 4), ">f4"), w=arr(5, 4, dtype=f32)),
    ),
    "linear_backward mixed y": (
        TypeError,
        r"\bgrad_y is float64 but y is float32",
        lambda: lin_bw(y=arr(3, 5, dtype=f32)),
    ),
    "linear_backward mixed pre": (
        TypeError,
        r"\bgrad_y is float64 but pre_activation is float32",
        lambda: lin_bw(pre_activation=arr(3, 5, dtype=f32)),
    ),
    "linear_backward gy tuple": (
        TypeError,
        r"\bgrad_y must be a numpy.ndarray, got tuple",
        lambda: lin_bw(gy=(1.0, 2.0)),
    ),
    "activation list": (
        TypeError,
        r"\bx must be a numpy.ndarray, got list",
        lambda: fastmlp.activation("relu", [1.0, -1.0]),
    ),
    "activation int": (
        TypeError,
        r"\bx must have dtype float32 or float64, got int64",
        lambda: fastmlp.activation("relu", np.arange(3)),
    ),
    "activation_backward mixed": (
        TypeError,
        r"\bgrad_y is float64 but y is float32",
        lambda: act_bw(y=arr(3, 5, dtype=f32)),
    ),
    "activation_backward mixed x": (
        TypeError,
        r"\bgrad_y is float64 but x is float32",
        lambda: act_bw("gelu", x=arr(3, 5, dtype=f32)),
    ),
    # --- out of the wrong dtype / type ---
    "matmul out dtype": (
        TypeError,
        r"\bout is float32 but the result is float64",
        lambda: fastmlp.matmul(arr(2, 3), arr(3, 4), out=arr(2, 4, dtype=f32)),
    ),
    "matmul out list": (
        TypeError,
        r"\bout must be a numpy.ndarray",
        lambda: fastmlp.matmul(arr(2, 3), arr(3, 4), out=[[0.0] * 4] * 2),
    ),
    "linear out int": (
        TypeError,
        r"\bout must have dtype float32 or float64",
        lambda: lin(out=np.zeros((3, 5), np.int64)),
    ),
    "linear pre out dtype": (
        TypeError,
        r"\bpre_activation_out is float32 but the result is float64",
        lambda: lin(pre_activation_out=arr(3, 5, dtype=f32)),
    ),
    "activation out dtype": (
        TypeError,
        r"\bout is float64 but the result is float32",
        lambda: fastmlp.activation("relu", arr(4, dtype=f32), out=arr(4)),
    ),
    # --- wrong ndim / shapes (ValueError naming argument and shape) ---
    "matmul 1-D a": (
        ValueError,
        r"\ba must be 2-D, got shape \(3,\)",
        lambda: fastmlp.matmul(arr(3), arr(3, 2)),
    ),
    "matmul 3-D b": (
        ValueError,
        r"\bb must be 2-D, got shape \(2, 3, 4\)",
        lambda: fastmlp.matmul(arr(2, 2), arr(2, 3, 4)),
    ),
    "matmul 0-D": (
        ValueError,
        r"\ba must be 2-D, got shape \(\)",
        lambda: fastmlp.matmul(np.ones(()), arr(2, 2)),
    ),
    "matmul shapes": (
        ValueError,
        S("a of shape (2, 3) and b of shape (4, 5)"),
        lambda: fastmlp.matmul(arr(2, 3), arr(4, 5)),
    ),
    "linear shapes": (
        ValueError,
        S("x of shape (3, 4) does not fit weight of shape (5, 6)"),
        lambda: lin(w=arr(5, 6)),
    ),
    "linear weight.T given": (
        ValueError,
        S("x of shape (3, 4) does not fit weight of shape (4, 5)"),
        lambda: lin(w=arr(4, 5)),
    ),
    "linear 1-D x": (ValueError, r"\bx must be 2-D, got shape \(4,\)", lambda: lin(x=arr(4))),
    "linear 3-D weight": (
        ValueError,
        r"\bweight must be 2-D, got shape \(1, 5, 4\)",
        lambda: lin(w=arr(1, 5, 4)),
    ),
    "linear bias length": (
        ValueError,
        S("bias of shape (4,) does not fit weight of shape (5, 4)"),
        lambda: lin(b=arr(4)),
    ),
    "linear bias 2-D": (ValueError, S("bias of shape (1, 5)"), lambda: lin(b=arr(1, 5))),
    "linear_backward x/weight": (
        ValueError,
        S("x of shape (3, 4) does not fit weight of shape (5, 6)"),
        lambda: lin_bw(w=arr(5, 6)),
    ),
    "linear_backward grad_y": (
        ValueError,
        S("grad_y of shape (3, 6), expected (3, 5)"),
        lambda: lin_bw(gy=arr(3, 6)),
    ),
    "linear_backward y": (ValueError, S("y of shape (2, 5), expected (3, 5)"), lambda: lin_bw(y=arr(2, 5))),
    "linear_backward 1-D y": (ValueError, r"\by must be 2-D, got shape \(15,\)", lambda: lin_bw(y=arr(15))),
    "linear_backward pre shape": (
        ValueError,
        S("pre_activation of shape (3, 4)"),
        lambda: lin_bw(pre_activation=arr(3, 4)),
    ),
    "activation 0-D": (
        ValueError,
        r"\bx must have at least 1 dimension",
        lambda: fastmlp.activation("relu", np.ones(())),
    ),
    "activation_backward shapes": (
        ValueError,
        S("grad_y of shape (3, 5) and y of shape (5, 3)"),
        lambda: act_bw(y=arr(5, 3)),
    ),
    "activation_backward x shape": (
        ValueError,
        S("x of shape (3, 4) must have the shape of grad_y (3, 5)"),
        lambda: act_bw("gelu", x=arr(3, 4)),
    ),
    # --- bad out ---
    "matmul out shape": (
        ValueError,
        S("out has shape (4, 2), expected (2, 4)"),
        lambda: fastmlp.matmul(arr(2, 3), arr(3, 4), out=arr(4, 2)),
    ),
    "matmul out F-order": (
        ValueError,
        r"\bout must be C-contiguous",
        lambda: fastmlp.matmul(arr(2, 3), arr(3, 4), out=np.asfortranarray(arr(2, 4))),
    ),
    "matmul out strided": (
        ValueError,
        r"\bout must be C-contiguous",
        lambda: fastmlp.matmul(arr(2, 3), arr(3, 4), out=arr(2, 8)[:, ::2]),
    ),
    "linear out shape": (ValueError, S("out has shape (3, 4), expected (3, 5)"), lambda: lin(out=arr(3, 4))),
    "linear pre out shape": (
        ValueError,
        S("pre_activation_out has shape (5, 3), expected (3, 5)"),
        lambda: lin(pre_activation_out=arr(5, 3)),
    ),
    "activation out shape": (
        ValueError,
        S("out has shape (5,), expected (4,)"),
        lambda: fastmlp.activation("relu", arr(4), out=arr(5)),
    ),
    "activation_backward out shape": (
        ValueError,
        S("out has shape (5, 3), expected (3, 5)"),
        lambda: act_bw(out=arr(5, 3)),
    ),
    # --- names and options ---
    "activation name": (
        ValueError,
        r"unknown activation 'swish'",
        lambda: fastmlp.activation("swish", arr(3)),
    ),
    "linear activation name": (ValueError, r"unknown activation 'Relu'", lambda: lin(activation="Relu")),
    "linear_backward activation name": (
        ValueError,
        r"unknown activation 'soft_max'",
        lambda: lin_bw(act="soft_max"),
    ),
    "activation_backward name": (ValueError, r"unknown activation ''", lambda: act_bw("")),
    "linear_backward step": (ValueError, r"'step' has no gradient", lambda: lin_bw(act="step")),
    "activation_backward step": (ValueError, r"'step' has no gradient", lambda: act_bw("step")),
    "linear_backward gelu no pre": (ValueError, r"'gelu' needs pre_activation", lambda: lin_bw(act="gelu")),
    "linear_backward leaky<0 no pre": (
        ValueError,
        r"'leaky_relu' needs pre_activation",
        lambda: lin_bw(act="leaky_relu", negative_slope=-0.5),
    ),
    "activation_backward gelu no x": (ValueError, r"'gelu' needs x", lambda: act_bw("gelu")),
    "activation_backward leaky<0 no x": (
        ValueError,
        r"'leaky_relu' needs x",
        lambda: act_bw("leaky_relu", negative_slope=-1.0),
    ),
    "set_num_threads 0": (ValueError, r"n must be >= 1, got 0", lambda: fastmlp.set_num_threads(0)),
    "set_num_threads -3": (ValueError, r"n must be >= 1, got -3", lambda: fastmlp.set_num_threads(-3)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input(case):
    exc, pattern, call = CASES[case]
    with pytest.raises(exc, match=pattern):
        call()


def test_read_only_out():
    out = arr(2, 4)
    out.flags.writeable = False
    with pytest.raises(ValueError, match=r"\bout is not writeable"):
        fastmlp.matmul(arr(2, 3), arr(3, 4), out=out)
    with pytest.raises(ValueError, match=r"\bout is not writeable"):
        fastmlp.activation("relu", arr(2, 4), out=out)
    assert (out == 1).all()


def test_read_only_inputs_are_fine():
    a, b = arr(2, 3), arr(3, 4)
    a.flags.writeable = b.flags.writeable = False
    np.testing.assert_array_equal(fastmlp.matmul(a, b), np.full((2, 4), 3.0))


@pytest.mark.parametrize("which", ["a", "b"])
def test_out_overlapping_an_input(which):
    buf = arr(4, 4)
    a, b = (buf, arr(4, 4)) if which == "a" else (arr(4, 4), buf)
    with pytest.raises(ValueError, match=rf"\bout overlaps input {which}\b"):
        fastmlp.matmul(a, b, out=buf)
    np.testing.assert_array_equal(buf, 1.0)


def test_out_overlapping_a_view_of_an_input():
    buf = np.ones((6, 4))
    with pytest.raises(ValueError, match=r"\bout overlaps input a\b"):
        fastmlp.matmul(buf[::2], arr(4, 4), out=buf[2:5])  # interleaved rows


@pytest.mark.parametrize("which", ["x", "weight", "bias"])
def test_linear_out_overlapping_an_input(which):
    x, w, b = arr(4, 4), arr(4, 4), arr(4)
    target = {"x": x, "weight": w, "bias": None}[which]
    if which == "bias":
        target = np.ones(16)
        b = target[:4]
        target = target.reshape(4, 4)
    with pytest.raises(ValueError, match=rf"\bout overlaps input {which}\b"):
        fastmlp.linear(x, w, b, out=target)
    with pytest.raises(ValueError, match=rf"\bpre_activation_out overlaps input {which}\b"):
        fastmlp.linear(x, w, b, pre_activation_out=target)


def test_linear_pre_activation_out_is_out():
    out = arr(3, 5)
    with pytest.raises(ValueError, match=r"\bpre_activation_out overlaps out\b"):
        lin(out=out, pre_activation_out=out)


def test_activation_out_overlapping_x():
    x = arr(5)
    with pytest.raises(ValueError, match=r"\bout overlaps input x\b"):
        fastmlp.activation("tanh", x, out=x)
    g, y = arr(5), arr(5)
    for name, a in (("grad_y", g), ("y", y)):
        with pytest.raises(ValueError, match=rf"\bout overlaps input {name}\b"):
            fastmlp.activation_backward("tanh", g, y, out=a)


def test_strides_not_a_multiple_of_the_item_size():
    # A structured array's field: strides of 9 bytes, misaligned elements. Read from an
    # aligned copy; refused where the kernel would write it.
    rec = np.zeros((3, 4), dtype=[("v", f64), ("tag", np.int8)])
    a = rec["v"]
    a[...] = arr(3, 4)
    b = arr(4, 2)
    np.testing.assert_allclose(fastmlp.matmul(a, b), a @ b, rtol=1e-13)
    out = np.zeros((3, 2), dtype=[("v", f64), ("tag", np.int8)])["v"]
    with pytest.raises(ValueError, match=r"\bout is not aligned"):
        fastmlp.matmul(a, b, out=out)


def test_errors_leave_out_untouched():
    out = np.full((3, 5), 7.0)
    with pytest.raises(ValueError):
        fastmlp.linear(arr(3, 4), arr(5, 4), arr(5), "nope", out=out)
    np.testing.assert_array_equal(out, 7.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_do_not_crash(isa, bad):
    x = arr(4, 3)
    x[1, 1] = bad
    w = arr(5, 3)
    for act in fastmlp.ACTIVATIONS:
        y = fastmlp.linear(x, w, arr(5), act)
        assert y.shape == (4, 5)
        if act != "step":
            gx, gw, gb = fastmlp.linear_backward(
                arr(4, 5), x, w, y, act, pre_activation=fastmlp.linear(x, w, arr(5))
            )
            assert gx.shape == (4, 3)


def test_kernels_keep_working_after_errors():
    for case in CASES.values():
        with pytest.raises(case[0]):
            case[2]()
    np.testing.assert_array_equal(fastmlp.matmul(arr(2, 3), arr(3, 4)), np.full((2, 4), 3.0))


def test_an_error_inside_a_halved_training_step_reaches_python():
    # A halved step (64 rows x 35k weights) runs its two halves in one OpenMP region; an
    # exception there (a label the Python checks would have refused, in the second half)
    # must come back as a Python error, not end the process or hang the other thread.
    model = fastmlp.MLP([8, 256, 128, 4], seed=0)
    X = np.ones((64, 8), np.float32)
    labels = np.zeros(64, np.int64)
    labels[-1] = 7
    with pytest.raises(ValueError, match="label 7 of row 63 "):
        model._engine.loss_and_grads(X, labels, "cross_entropy", "mean", None)
    # and the engine still works afterwards
    value, _ = model.loss_and_grads(X, np.zeros(64, np.int64), "cross_entropy")
    assert np.isfinite(value)


@pytest.mark.parametrize("slope", [1e39, -1e39, np.inf, np.nan])
def test_negative_slope_that_overflows_float32_is_refused(slope):
    x, w = np.ones((2, 3), np.float32), np.ones((4, 3), np.float32)
    out = np.full((2, 4), 7.0, np.float32)
    for call in (
        lambda: fastmlp.linear(x, w, activation="leaky_relu", negative_slope=slope, out=out),
        lambda: fastmlp.activation("leaky_relu", -x, negative_slope=slope),
        lambda: fastmlp.linear_backward(
            out, x, w, out, activation="leaky_relu", pre_activation=out, negative_slope=slope
        ),
    ):
        with pytest.raises(ValueError, match="negative_slope must be a finite float32 number"):
            call()
    np.testing.assert_array_equal(out, 7.0)  # nothing written
    # float64 holds 1e39
    if np.isfinite(slope):
        got = fastmlp.activation("leaky_relu", -np.ones(3), negative_slope=slope)
        np.testing.assert_array_equal(got, -np.ones(3) * slope)


@pytest.mark.parametrize("dtype,size", [(f32, "16384.0"), (f64, "32768.0")])
def test_a_result_too_large_for_memory_is_a_memory_error_naming_its_shape(dtype, size):
    """Empty inputs whose product is 2^21 x 2^21: the result cannot be allocated."""
    x, w = np.zeros((2**21, 0), dtype), np.zeros((0, 2**21), dtype)
    with pytest.raises(MemoryError, match=rf"{size} GiB for a .* array of shape \(2097152, 2097152\)"):
        fastmlp.matmul(x, w)
    with pytest.raises(MemoryError, match=r"shape \(2097152, 2097152\)"):
        fastmlp.linear(x, w.T)


def test_new_results_start_on_a_cache_line():
    """Outputs the kernels allocate (fastmlp/_aligned.py says why); NumPy's own start on
    any 16-byte boundary."""
    x, w = np.ones((37, 19), f32), np.ones((23, 19), f32)
    model = fastmlp.MLP([19, 7, 3], dtype="float32")
    for _ in range(16):
        y = fastmlp.linear(x, w)
        gx, gw, gb = fastmlp.linear_backward(np.ones((37, 23), f32), x, w, y)
        for a in (fastmlp.matmul(x, w.T), fastmlp.linear(x, w), model.predict(x), gx, gw, gb):
            assert is_aligned(a) and a.flags.writeable and a.flags.c_contiguous

"""Every workload of the suite, defined once.

The runner (fastmlp.bench.run), the pytest-benchmark files (bench/test_*.py) and the
quick correctness checks (tests/test_bench_checks.py) all take their cases from
here.  A case knows how to build its inputs, how each library performs it, the
float64 reference its results are compared with, and its FLOP count.
"""

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from fastmlp.bench import dense_ops as ops
from fastmlp.bench import mlp_training as mlp
from fastmlp.bench.optional import torch_module

LIBRARIES = ("fastmlp", "numpy", "torch")
SUBJECTS = (
    "microkernel",
    "matmul",
    "dense_forward",
    "dense_backward",
    "activations",
    "train_epoch",
    "predict_latency",
)


@dataclass(frozen=True)
class Case:
    subject: str  # one of SUBJECTS (one bench/test_<subject>.py each in the repository)
    workload: str  # the row's label, e.g. "linear+relu fwd"
    shape: str  # e.g. "4096x1024->1024"
    dtype: str
    flops: Optional[float]  # per call; None where FLOP/s means nothing
    inputs: Callable[[], Any]  # () -> the inputs every library gets (a dict)
    sides: Mapping[str, Callable]  # library -> prepare(inputs) -> zero-argument callable
    reference: Callable[[Any], Any]  # inputs -> float64 result
    quick: bool  # part of the default (quick) suite
    tolerance: float  # max |got - ref| / max |ref|, per result array
    observe: Callable = field(default=lambda result, inputs: result)  # result -> compared arrays
    check_inputs: Optional[Callable[[], Any]] = None  # the check's own inputs; None: the timed ones
    threads: Optional[int] = None  # None: the run's thread count
    isa: Optional[str] = None  # fastmlp micro-kernel set; None: the one picked at import
    size: Optional[int] = None  # x coordinate in the charts

    @property
    def id(self):
        return f"{self.workload} {self.shape} {self.dtype}"

    def inputs_for_check(self, timed_inputs=None):
        if self.check_inputs is not None:
            return self.check_inputs()
        return self.inputs() if timed_inputs is None else timed_inputs

    def prepare(self, library, inputs):
        """The callable for ``library``; raises Unavailable ("not installed", ...)."""
        return self.sides[library](inputs)


def _tolerance(dtype, k=1):
    return (2e-5 if dtype == "float32" else 1e-12) * max(1.0, np.sqrt(k))


# --- the workloads --------------------------------------------------------------------

MATMUL_SIZES_FULL = (32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096)
MATMUL_SIZES_QUICK = {"float32": (64, 256, 1024, 4096), "float64": (64, 256, 1024)}
MATMUL_SIDES = {"fastmlp": ops.matmul_fastmlp, "numpy": ops.matmul_numpy, "torch": ops.matmul_torch}

# in-cache sizes (3 matrices in a 1 MiB L2) for the per-micro-kernel rows, one thread
MICROKERNEL_SIZE = {"float32": 256, "float64": 192}


def _matmul_case(n, dtype, quick, subject="matmul", isa=None, threads=None):
    return Case(
        subject,
        "matmul" if isa is None else f"kernel {isa}, 1 thread",
        f"{n}x{n}x{n}",
        dtype,
        2.0 * n**3,
        lambda: ops.matmul_inputs(n, n, n, dtype),
        MATMUL_SIDES,
        ops.matmul_reference,
        quick,
        _tolerance(dtype, n),
        observe=ops.matmul_checked_rows,
        threads=threads,
        isa=isa,
        size=n,
    )


# in-cache shape (input and output in a 1 MiB L2) for the per-ISA elementwise kernels
# (vmath.hpp): sigmoid exercises exp and a division, gelu erfc
ELEMENTWISE_MICROKERNEL_SHAPE = (128, 1024)
ELEMENTWISE_MICROKERNELS = ("sigmoid", "gelu")


def microkernel_cases():
    import fastmlp

    isas = fastmlp.cpu_info()["available_isas"]
    return [
        _matmul_case(MICROKERNEL_SIZE[dtype], dtype, True, "microkernel", isa, threads=1)
        for isa in isas
        for dtype in ("float32", "float64")
    ] + [
        _activation_case(name, ELEMENTWISE_MICROKERNEL_SHAPE, True, "microkernel", isa, threads=1)
        for isa in isas
        for name in ELEMENTWISE_MICROKERNELS
    ]


def matmul_cases():
    return [
        _matmul_case(n, dtype, n in MATMUL_SIZES_QUICK[dtype])
        for dtype in ("float32", "float64")
        for n in MATMUL_SIZES_FULL
    ]


# (batch, in, out): the big layer of issue 3 and the shapes MLPs live on
DENSE_BIG = (4096, 1024, 1024)
DENSE_BATCHES = (1, 32, 256)
DENSE_WIDTHS_FULL = (4, 16, 64, 256, 512, 1024)
DENSE_WIDTHS_QUICK = (16, 256, 1024)

DENSE_SUBJECTS = {
    "dense_forward": (
        "linear+relu fwd",
        {"fastmlp": ops.linear_relu_fastmlp, "numpy": ops.linear_relu_numpy, "torch": ops.linear_relu_torch},
        ops.linear_relu_reference,
        2,
    ),
    "dense_backward": (
        "linear+relu fwd+bwd",
        {
            "fastmlp": ops.linear_relu_train_fastmlp,
            "numpy": ops.linear_relu_train_numpy,
            "torch": ops.linear_relu_train_torch,
        },
        ops.linear_relu_train_reference,
        6,
    ),
}


def _dense_shapes():
    shapes = [(DENSE_BIG, True)]
    for batch in DENSE_BATCHES:
        shapes += [((batch, w, w), w in DENSE_WIDTHS_QUICK) for w in DENSE_WIDTHS_FULL]
    return shapes


def dense_cases(subject):
    workload, sides, reference, flops_per_mac = DENSE_SUBJECTS[subject]
    cases = []
    for (batch, n_in, n_out), quick in _dense_shapes():

        def make(b=batch, i=n_in, o=n_out):
            return ops.dense_inputs(b, i, o, "float32")

        cases.append(
            Case(
                subject,
                workload,
                f"{batch}x{n_in}->{n_out}",
                "float32",
                flops_per_mac * batch * n_in * n_out,
                make,
                sides,
                reference,
                quick,
                _tolerance("float32", max(n_in, batch)),
                size=n_in,
            )
        )
    return cases


ACTIVATION_NAMES_QUICK = ("relu", "sigmoid", "softmax")
ACTIVATION_NAMES_FULL = ("relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax")
ACTIVATION_SHAPE = (4096, 1024)


def _activation_case(name, shape, quick, subject="activations", isa=None, threads=None):
    rows, cols = shape
    into_out = subject == "microkernel"
    return Case(
        subject,
        name if isa is None else f"{name} {isa}, 1 thread",
        f"{rows}x{cols}",
        "float32",
        None,
        lambda: ops.activation_inputs(rows, cols, "float32"),
        {
            # The micro-kernel rows time each library's kernel on data in cache, every
            # side into a preallocated out=; the activation rows the call as users write
            # it, every side returning a new array (an allocation regression of fastmlp's
            # once hid behind out= there, when only its side wrote into one).
            "fastmlp": ops.activation_fastmlp(name, into_out=into_out),
            "numpy": ops.activation_numpy(name, into_out=into_out),
            "torch": ops.activation_torch(name, into_out=into_out),
        },
        ops.activation_reference(name),
        quick,
        1e-5,
        threads=threads,
        isa=isa,
    )


def activation_cases():
    return [
        _activation_case(name, ACTIVATION_SHAPE, name in ACTIVATION_NAMES_QUICK)
        for name in ACTIVATION_NAMES_FULL
    ]


TRAINING_NETWORKS = (mlp.HOUSING, mlp.HOUSING_SMALL, mlp.MNIST)


def train_epoch_cases():
    return [
        Case(
            "train_epoch",
            f"train epoch {net.optimizer} b{net.batch_size}",
            f"{net.name} x{net.rows}",
            "float32",
            net.flops_per_epoch,
            lambda net=net: mlp.epoch_inputs(net, "float32"),
            {lib: mlp.epoch_side(lib) for lib in LIBRARIES},
            mlp.epoch_reference,
            True,
            2e-3,
            observe=mlp.predictions_after_epoch,
            check_inputs=lambda net=net: mlp.epoch_inputs(net, "float32", check=True),
        )
        for net in TRAINING_NETWORKS
    ]


def predict_latency_cases():
    return [
        Case(
            "predict_latency",
            "predict 1 sample",
            net.name,
            "float32",
            net.flops_per_epoch / net.rows / 3,
            lambda net=net: mlp.predict_inputs(net, "float32"),
            {"fastmlp": mlp.predict_fastmlp, "numpy": mlp.predict_numpy, "torch": mlp.predict_torch},
            mlp.predict_reference,
            True,
            1e-5,
        )
        for net in TRAINING_NETWORKS
    ]


def all_cases():
    return (
        microkernel_cases()
        + matmul_cases()
        + dense_cases("dense_forward")
        + dense_cases("dense_backward")
        + activation_cases()
        + train_epoch_cases()
        + predict_latency_cases()
    )


def select(full=False, only=None, subject=None):
    """The cases of the quick (default) or full suite, optionally those whose subject, id or
    workload matches the glob/substring ``only``, or of one ``subject``."""

    def matches(case):
        if only is None:
            return True
        text = f"{case.subject} {case.id}".lower()
        pattern = only.lower()
        return pattern in text or fnmatch.fnmatch(text, pattern)

    return [
        c
        for c in all_cases()
        if (full or c.quick) and matches(c) and (subject is None or c.subject == subject)
    ]


# --- correctness -------------------------------------------------------------------------


def _as_arrays(result):
    if isinstance(result, (tuple, list)):
        return [a for r in result for a in _as_arrays(r)]
    torch = torch_module()
    if torch is not None and isinstance(result, torch.Tensor):
        result = result.detach().numpy()
    return [np.asarray(result, dtype=np.float64).ravel()]


def relative_error(result, reference):
    """max over result arrays of max|got - ref| / max|ref| (shapes must agree in size)."""
    got, ref = _as_arrays(result), _as_arrays(reference)
    if len(got) != len(ref):
        return float("inf")
    worst = 0.0
    for g, r in zip(got, ref):
        if g.size != r.size or not np.all(np.isfinite(g)):
            return float("inf")
        scale = max(np.max(np.abs(r)), 1e-30) if r.size else 1.0
        worst = max(worst, float(np.max(np.abs(g - r))) / scale if r.size else 0.0)
    return worst


@dataclass(frozen=True)
class Check:
    ok: bool
    error: float


def check_result(case, result, inputs, reference):
    """Compare one side's ``result`` (from ``inputs``) with the float64 ``reference``."""
    error = relative_error(case.observe(result, inputs), reference)
    return Check(error <= case.tolerance, error)


def check_side(case, library, inputs=None, reference=None):
    """Run ``library``'s side once on the check inputs and compare; raises Unavailable."""
    if inputs is None:
        inputs = case.inputs_for_check()
    if reference is None:
        reference = case.reference(inputs)
    return check_result(case, case.prepare(library, inputs)(), inputs, reference)

"""Choice of the micro-kernel set: FASTMLP_ISA at import, _set_isa in process."""

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import AVAILABLE_ISAS, DEFAULT_ISA, blocking

import fastmlp
from fastmlp import _core

ALL_ISAS = ("generic", "avx2", "avx512")
PROBE = (
    "import fastmlp, fastmlp._core as c; i = fastmlp.cpu_info(); "
    "print(i['isa'], c._gemm_blocking('float32')['isa'], c._gemm_blocking('float64')['isa'])"
)


def run_python(code, **env):
    full = dict(os.environ)
    full.pop("FASTMLP_ISA", None)
    full.update(env)
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=120)


def test_cpu_info():
    info = fastmlp.cpu_info()
    assert set(info) == {
        "cpu",
        "isa",
        "available_isas",
        "num_threads",
        "vendor",
        "brand",
        "family",
        "model",
        "stepping",
        "caches",
        "cache_source",
        "blocking",
    }
    assert isinstance(info["cpu"], str) and info["cpu"]
    assert set(info["caches"]) == {"l1d", "l2", "l3"}
    assert set(info["blocking"]) == {"float32", "float64"}
    assert info["blocking"]["float32"] == blocking(np.float32)
    assert info["available_isas"][0] == "generic"
    assert set(info["available_isas"]) <= set(ALL_ISAS)
    assert info["isa"] in info["available_isas"]
    assert info["num_threads"] == fastmlp.get_num_threads() >= 1


def test_default_is_best_available_unless_forced():
    proc = run_python(PROBE)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [AVAILABLE_ISAS[-1]] * 3
    if "FASTMLP_ISA" not in os.environ:
        assert DEFAULT_ISA == AVAILABLE_ISAS[-1]


@pytest.mark.parametrize("name", ALL_ISAS)
def test_env_var_is_honoured(name):
    proc = run_python(PROBE, FASTMLP_ISA=name)
    if name in AVAILABLE_ISAS:
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == [name] * 3
    else:  # the CPU lacks it: a clear error, no silent fallback
        assert proc.returncode != 0
        assert "ValueError" in proc.stderr and f"FASTMLP_ISA={name}" in proc.stderr
        assert "does not support" in proc.stderr


@pytest.mark.parametrize("bad", ("bogus", "AVX2", "sse2"))
def test_bad_env_var_fails_import(bad):
    proc = run_python("import fastmlp", FASTMLP_ISA=bad)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ValueError") and f"FASTMLP_ISA={bad}" in last, proc.stderr
    assert "generic" in last  # tells what is accepted
    assert "Segmentation" not in proc.stderr


def test_env_var_forced_isa_computes_correctly():
    code = (
        "import numpy as np, fastmlp; r = np.random.default_rng(1); "
        "a = r.standard_normal((67, 130)); b = r.standard_normal((130, 45)); "
        "print(abs(fastmlp.matmul(a, b) - a @ b).max())"
    )
    for name in AVAILABLE_ISAS:
        proc = run_python(code, FASTMLP_ISA=name)
        assert proc.returncode == 0, proc.stderr
        assert float(proc.stdout) < 1e-12, name


def test_set_isa_switches_kernels(isa):
    assert fastmlp.cpu_info()["isa"] == isa
    for dtype in (np.float32, np.float64):
        b = blocking(dtype)
        assert b["isa"] == isa
        assert b["mr"] >= 1 and b["nr"] >= 1
        assert b["small_mr"] >= 1 and b["small_nr"] >= 1
        assert b["mc"] % b["mr"] == 0 or b["mc"] >= b["mr"]
        assert b["kc"] >= 1 and b["nc"] >= b["nr"]


def test_set_isa_rejects_unknown_and_keeps_current():
    before = fastmlp.cpu_info()["isa"]
    with pytest.raises(ValueError, match="unknown instruction set"):
        _core._set_isa("bogus")
    for name in ALL_ISAS:
        if name not in AVAILABLE_ISAS:
            with pytest.raises(ValueError, match="does not support"):
                _core._set_isa(name)
    assert fastmlp.cpu_info()["isa"] == before


def test_gemm_blocking_rejects_other_dtypes():
    with pytest.raises(ValueError, match="float32"):
        _core._gemm_blocking("int32")

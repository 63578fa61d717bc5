"""The CPU's caches as fastmlp reads them, and the GEMM blocking derived from them.

The cache model (src/csrc/cpu/blocking.hpp) is checked on the caches of other CPUs,
simulated through FASTMLP_CACHES / _core._set_caches: for each, the blocks must be the
largest that fit the model's bounds, and every kernel must still compute correctly and
bit-identically on 1 and 2 threads at the edges of those blocks.
"""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import f64, gemm_bound, make

import fastmlp
from fastmlp import _core

# The model's constants (src/csrc/cpu/blocking.hpp).
MIN_KC, MAX_KC, MIN_PANELS, L2_SHARE, L3_SHARE, MAX_MC = 64, 512, 4, 0.5, 0.25, 8192
SMALL_FULL_MR = 12  # the tile height whose small path may use the whole B budget

K, M = 1024, 1024 * 1024
# Data caches of CPUs users run (one core's share), as FASTMLP_CACHES specs.
CPUS = {
    "intel-skylake-client": "l1d=32K/8,l2=256K/4,l3=8M/16",
    "intel-alder-lake-p": "l1d=48K/12,l2=1280K/10,l3=24M/12",
    "amd-zen3": "l1d=32K/8,l2=512K/8,l3=32M/16",
    "amd-zen4": "l1d=32K/8,l2=1M/8,l3=32M/16",
    "amd-zen5": "l1d=48K/12,l2=1M/16,l3=32M/16",
    "intel-sapphire-rapids": "l1d=48K/12,l2=2M/16,l3=105M/15",
    "no-l3": "l1d=32K/8,l2=512K/8,l3=0",
}


def parse_spec(spec):
    """{'l1d': (bytes, ways), ...} of a FASTMLP_CACHES spec."""
    out = {}
    for item in spec.split(","):
        level, value = item.split("=")
        size, _, ways = value.partition("/")
        unit = {"K": K, "M": M}.get(size[-1], 1)
        out[level] = (int(float(size.rstrip("KM")) * unit), int(ways) if ways else 0)
    return out


@pytest.fixture
def simulated_caches(request):
    """Switch the blocking to another CPU's caches for the test; restore after."""

    def use(spec):
        _core._set_caches(spec)
        return fastmlp.cpu_info()

    yield use
    _core._set_caches("")


def run_python(code, **env):
    # The child runs the parent's ISA (FASTMLP_ISA), so that its blocking compares with
    # the parent's, and none of its other settings.
    full = {k: v for k, v in os.environ.items() if not k.startswith("FASTMLP_") or k == "FASTMLP_ISA"}
    full.update(env)
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=120)


# --- detection ---------------------------------------------------------------------


def sysfs_caches():
    """{level name: (size, ways)} of cpu0 from Linux's sysfs, or None."""
    base = "/sys/devices/system/cpu/cpu0/cache"
    if not os.path.isdir(base):
        return None
    out = {}
    for entry in sorted(os.listdir(base)):
        if not entry.startswith("index"):
            continue
        read = lambda name, entry=entry: open(os.path.join(base, entry, name)).read().strip()  # noqa: E731
        if read("type") == "Instruction":
            continue
        size = read("size")
        size = int(size[:-1]) * {"K": K, "M": M}[size[-1]] if size[-1] in "KM" else int(size)
        out[{"1": "l1d", "2": "l2", "3": "l3"}[read("level")]] = (size, int(read("ways_of_associativity")))
    return out


def test_detected_caches_agree_with_the_operating_system():
    info = fastmlp.cpu_info()
    assert info["cache_source"] in ("cpuid", "sysfs", "sysconf", "default")
    caches = info["caches"]
    assert caches["l1d"]["size"] >= 4 * K and caches["l2"]["size"] > caches["l1d"]["size"]
    for level in caches.values():
        assert level["line"] in (32, 64, 128) and level["shared_by"] >= 1
    expected = sysfs_caches()
    if expected is None:
        pytest.skip("no sysfs on this system: nothing independent to compare with")
    for name, (size, ways) in expected.items():
        assert caches[name]["size"] == size, name
        assert caches[name]["ways"] in (ways, 0), name


def test_cpu_identity_agrees_with_proc_cpuinfo():
    if not os.path.exists("/proc/cpuinfo"):
        pytest.skip("no /proc/cpuinfo")
    text = open("/proc/cpuinfo").read().split("\n\n")[0]
    fields = dict((k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in text.splitlines()))
    if "cpu family" not in fields:
        pytest.skip("not an x86 /proc/cpuinfo")
    info = fastmlp.cpu_info()
    assert info["vendor"] == fields["vendor_id"]
    assert info["family"] == int(fields["cpu family"]) and info["model"] == int(fields["model"])
    assert info["brand"] == fields["model name"]
    assert f"family {info['family']} model {info['model']}" in info["cpu"]


# --- the model on other CPUs' caches --------------------------------------------------


@pytest.mark.parametrize("cpu", CPUS)
def test_blocks_are_the_largest_that_fit(isa, cpu, simulated_caches):
    info = simulated_caches(CPUS[cpu])
    caches = parse_spec(CPUS[cpu])
    assert info["cache_source"].endswith("+FASTMLP_CACHES")
    assert info["caches"]["l2"]["size"] == caches["l2"][0]
    (l2, _), (l3, _) = caches["l2"], caches["l3"]
    for dtype, b in info["blocking"].items():
        S = np.dtype(dtype).itemsize
        mr, nr, mc, kc, nc = b["mr"], b["nr"], b["mc"], b["kc"], b["nc"]
        assert b["source"] == "model" and b["isa"] == isa
        # KC: as deep as allowed while the thread's B block keeps MIN_PANELS micro-panels
        b_block = L2_SHARE * l2
        assert kc % 8 == 0 and MIN_KC <= kc <= MAX_KC
        assert kc * MIN_PANELS * nr * S <= b_block or kc == MIN_KC
        assert (kc + 8) * MIN_PANELS * nr * S > b_block or kc == MAX_KC
        # NC: the thread's B block within its share of L2
        assert nc % nr == 0 and kc * nc * S <= L2_SHARE * l2
        assert kc * (nc + nr) * S > L2_SHARE * l2
        # MC: the shared A block and the C block it updates within their share of L3 (or
        # twice the L2 without one)
        a_block = L3_SHARE * l3 if l3 else 2 * l2
        assert mc % mr == 0 and mr <= mc <= MAX_MC
        assert mc * (kc + nc) * S <= a_block or mc == mr
        assert (mc + mr) * (kc + nc) * S > a_block or mc + mr > MAX_MC
        # small_kn: an unpacked B within the packed B block's budget, less for short tiles
        assert b["small_kn"] == int(L2_SHARE * l2 / S * min(1.0, b["small_mr"] / SMALL_FULL_MR))


def test_blocks_grow_with_the_caches(isa, simulated_caches):
    small = simulated_caches("l1d=32K/8,l2=256K/4,l3=8M")["blocking"]
    large = simulated_caches("l1d=48K/12,l2=2M/16,l3=64M")["blocking"]
    for dtype in small:
        assert large[dtype]["kc"] >= small[dtype]["kc"]
        assert large[dtype]["kc"] * large[dtype]["nc"] >= 4 * small[dtype]["kc"] * small[dtype]["nc"]
        assert large[dtype]["mc"] >= small[dtype]["mc"]


def blocking_edge_shapes(b):
    """(m, k, n) at the edges of the blocks b, each dimension under test alone."""
    mr, nr, mc, kc, nc = b["mr"], b["nr"], b["mc"], b["kc"], b["nc"]
    return [
        (7, kc + 1, 11),
        (7, 2 * kc - 1, 11),
        (mc + 1, 3, 5),
        (2 * mc + 1, 3, 5),  # three M blocks of equal size
        (mc + mr + 1, 9, 2 * nr + 3),
        (9, 5, nc + 1),
        (70, 3, 2 * nc + nr + 1),
        (mr + 1, kc + 1, nc + 1),
        (b["small_mr"] + 1, 5, 2 * b["small_nr"] + 3),  # the small path's tile
    ]


@pytest.mark.parametrize("cpu", ("intel-skylake-client", "amd-zen3", "intel-sapphire-rapids", "no-l3"))
@pytest.mark.parametrize("dtype", (np.float32, np.float64))
def test_kernels_correct_at_simulated_block_edges(isa, cpu, dtype, simulated_caches, rng, restore_threads):
    b = simulated_caches(CPUS[cpu])["blocking"][np.dtype(dtype).name]
    for m, k, n in blocking_edge_shapes(b):
        a = make(rng, (m, k), dtype)
        w = make(rng, (n, k), dtype, "C")  # W^T: the transposing packer
        bias = make(rng, (n,), dtype)
        product = f64(a) @ f64(w).T
        results = []
        for threads in (1, 2):
            fastmlp.set_num_threads(threads)
            y = fastmlp.linear(a, w, bias, activation="relu")
            c = fastmlp.matmul(a, w.T)
            c_rows = fastmlp.matmul(a, np.ascontiguousarray(w.T))  # unpacked while B fits
            results.append((y, c, c_rows))
        for one, two in zip(*results):
            np.testing.assert_array_equal(one, two)  # thread-independent
        bound = gemm_bound(a, w.T, dtype)
        assert (np.abs(results[0][1] - product) <= bound).all(), (m, k, n)
        assert (np.abs(results[0][2] - product) <= bound).all(), (m, k, n)
        with_bias = product + f64(bias)
        bias_bound = bound + eps_of(dtype) * (np.abs(product) + np.abs(f64(bias)))
        assert (np.abs(results[0][0] - np.maximum(with_bias, 0)) <= bias_bound).all(), (m, k, n)


def eps_of(dtype):
    return 4 * float(np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", (np.float32, np.float64))
def test_backward_correct_under_small_caches(isa, dtype, simulated_caches, rng):
    b = simulated_caches(CPUS["intel-skylake-client"])["blocking"][np.dtype(dtype).name]
    m, k, n = b["mr"] * 3 + 1, b["kc"] + 3, b["nc"] + 5
    x, w = make(rng, (m, k), dtype), make(rng, (n, k), dtype)
    gy = make(rng, (m, n), dtype)
    y = fastmlp.linear(x, w)
    gx, gw, gb = fastmlp.linear_backward(gy, x, w, y)
    np.testing.assert_allclose(gx, f64(gy) @ f64(w), rtol=0, atol=50 * eps_of(dtype) * np.sqrt(n))
    np.testing.assert_allclose(gw, f64(gy).T @ f64(x), rtol=0, atol=50 * eps_of(dtype) * np.sqrt(m))
    np.testing.assert_allclose(gb, f64(gy).sum(0), rtol=0, atol=50 * eps_of(dtype) * np.sqrt(m))


# --- the overrides ---------------------------------------------------------------------

PROBE = "import fastmlp, json; print(json.dumps(fastmlp.cpu_info()))"


def test_fastmlp_caches_variable_sets_the_blocking():
    import json

    proc = run_python(PROBE, FASTMLP_CACHES="l2=256K/4,l3=0")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["caches"]["l2"] == {
        "size": 256 * K,
        "ways": 4,
        "line": info["caches"]["l2"]["line"],
        "shared_by": 1,
    }
    assert info["caches"]["l3"]["size"] == 0
    assert info["caches"]["l1d"] == fastmlp.cpu_info()["caches"]["l1d"]  # levels not named stay
    _core._set_caches("l2=256K/4,l3=0")
    try:
        assert fastmlp.cpu_info()["blocking"] == info["blocking"]
    finally:
        _core._set_caches("")


def test_fastmlp_blocking_variable_replaces_the_model():
    import json

    proc = run_python(PROBE, FASTMLP_BLOCKING="mc=100,kc=200,nc=300,small=0")
    assert proc.returncode == 0, proc.stderr
    for b in json.loads(proc.stdout)["blocking"].values():
        assert b["source"] == "FASTMLP_BLOCKING" and b["kc"] == 200 and b["small_kn"] == 0
        assert b["mc"] == 100 // b["mr"] * b["mr"] and b["nc"] == 300 // b["nr"] * b["nr"]


@pytest.mark.parametrize("spec", ("kc=1", "mc=1,nc=1", "kc=7,nc=5"))
def test_tiny_blocks_still_compute_correctly(isa, spec, rng):
    a, b = make(rng, (29, 37), np.float64), make(rng, (37, 41), np.float64)
    _core._set_blocking(spec + ",small=0")  # packed, not the unpacked path of small products
    try:
        got = fastmlp.matmul(a, b)
    finally:
        _core._set_blocking("")
    assert np.abs(got - a @ b).max() < 1e-12


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("FASTMLP_CACHES", "l2=lots", "bad size"),
        ("FASTMLP_CACHES", "l4=1M", "unknown level"),
        ("FASTMLP_CACHES", "l2", "expected LEVEL=SIZE"),
        ("FASTMLP_CACHES", "l1d=1K", "smaller than 4 KiB"),
        ("FASTMLP_CACHES", "l2=1M/0", "bad ways"),
        ("FASTMLP_BLOCKING", "kc=0", "expected mc=N"),
        ("FASTMLP_BLOCKING", "xc=5", "unknown key"),
        ("FASTMLP_BLOCKING", "kc=12x", "expected mc=N"),
        ("FASTMLP_BLOCKING", "small=-1", "small=N (N >= 0)"),
    ],
)
def test_bad_overrides_fail_clearly(variable, value, message):
    proc = run_python("import fastmlp", **{variable: value})
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ValueError") and variable in last and message in last, proc.stderr
    setter = _core._set_caches if variable == "FASTMLP_CACHES" else _core._set_blocking
    before = fastmlp.cpu_info()
    with pytest.raises(ValueError, match=re.escape(message)):
        setter(value)
    assert fastmlp.cpu_info() == before  # a refused spec changes nothing

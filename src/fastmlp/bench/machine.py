"""What the benchmarks ran on, and the FMA peak every GFLOP/s figure is compared with."""

import functools
import os
import platform
import time

import numpy as np
from threadpoolctl import threadpool_info

import fastmlp
from fastmlp._cpu import format_blocking, format_caches
from fastmlp.bench.optional import torch_module

# Environment variables that change how the libraries' threads behave or which kernels they pick.
RELEVANT_ENV = (
    "OMP_NUM_THREADS",
    "OMP_WAIT_POLICY",
    "GOMP_SPINCOUNT",
    "OPENBLAS_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_THREAD_TIMEOUT",
    "MKL_NUM_THREADS",
    "ATEN_CPU_CAPABILITY",
    "FASTMLP_ISA",
    "FASTMLP_CACHES",
    "FASTMLP_BLOCKING",
)


# A probe on several threads that finds less than PEAK_SCALING x threads x the one-thread
# peak is taken again, up to PEAK_RETRIES times PEAK_PAUSE seconds apart, and its best
# kept. On a VM the host may take a core for seconds: on 2 threads of a Zen 4 one probe
# found 117.9 of 236 GFLOP/s, and every two-thread row of that run read 160-190% of
# "peak"; another run found 117.8 on all of 5 probes taken back to back. Threads that
# share a core's FMA units (SMT) stay below the bar; they only cost the retries, and the
# header says that the peak is below the bar (format_peaks).
PEAK_SCALING = 0.75
PEAK_RETRIES = 6
PEAK_PAUSE = 0.5


@functools.cache
def peak_gflops(isa, dtype, threads):
    """FMA peak of this machine for fastmlp's ``isa``, ``dtype`` and ``threads`` (probed once)."""

    # Best of short rounds over half a second: a brief disturbance only lowers some rounds.
    def probe():
        return fastmlp._core._peak_gflops(isa, dtype, threads, 0.5)

    if threads == 1:
        return probe()
    return scaled_probe(probe, threads, peak_gflops(isa, dtype, 1))


def below_scaling(gflops, threads, one_thread):
    """Whether a peak on ``threads`` is below PEAK_SCALING x ``threads`` x ``one_thread``."""
    return gflops < PEAK_SCALING * threads * one_thread


def scaled_probe(probe, threads, one_thread, retries=PEAK_RETRIES, pause=PEAK_PAUSE):
    """The best of ``probe()`` (GFLOP/s on ``threads``), taken again ``pause`` seconds
    later while it is below the bar (below_scaling), at most ``retries`` more times."""
    best = probe()
    for _ in range(retries):
        if not below_scaling(best, threads, one_thread):
            break
        time.sleep(pause)
        best = max(best, probe())
    return best


def probe_peaks(cases, threads):
    """Probe now every FMA peak that ``cases`` (run at ``threads`` unless a case sets its
    own) are compared with: a list of {isa, dtype, threads, gflops}, in the order probed.

    Called before any library has run: after their calls, NumPy's idle threads keep
    spinning for a while, and a probe then finds fewer free cores (on a 2-core Zen 4, a
    50 ms probe right after NumPy's products measured 100 of 2 threads' 234 GFLOP/s).
    The header prints them, so that a probe spoiled by a stolen core shows.
    """
    default_isa = fastmlp.cpu_info()["isa"]
    wanted = dict.fromkeys((c.isa or default_isa, c.dtype, c.threads or threads) for c in cases if c.flops)
    peaks = [dict(isa=i, dtype=d, threads=t, gflops=peak_gflops(i, d, t)) for i, d, t in wanted]
    for p in peaks:
        if p["threads"] > 1:
            p["below_scaling"] = below_scaling(
                p["gflops"], p["threads"], peak_gflops(p["isa"], p["dtype"], 1)
            )
    return peaks


def format_peaks(peaks):
    """One line: the probed FMA peaks, GFLOP/s, grouped by ISA and dtype."""
    groups = {}
    for p in peaks:
        short = (
            " [below 3/4 of threads x 1t: threads share a core, or one was busy]"
            if p.get("below_scaling")
            else ""
        )
        groups.setdefault((p["isa"], p["dtype"]), []).append(f"{p['gflops']:.1f} ({p['threads']}t){short}")
    return ", ".join(f"{isa} {dtype} {' '.join(v)}" for (isa, dtype), v in groups.items())


def numpy_blas():
    """NumPy's BLAS as threadpoolctl sees it: {internal_api, version, architecture, ...} or None."""
    for pool in threadpool_info():
        if pool["user_api"] == "blas" and "numpy" in pool["filepath"]:
            return pool
    return next((p for p in threadpool_info() if p["user_api"] == "blas"), None)


def cpu_times(path="/proc/stat"):
    """(steal, total) clock ticks of all CPUs so far, from the first line of /proc/stat,
    or None where there is none (not Linux). Steal is the time the hypervisor ran
    something else while this VM had work for the CPU."""
    try:
        with open(path) as f:
            fields = f.readline().split()
    except OSError:
        return None
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal (guest time is counted in user)
    ticks = [int(v) for v in fields[1:9]]
    return ticks[7], sum(ticks)


def steal_percent(before, after):
    """The share of CPU time between two cpu_times() readings that was stolen (%), or None."""
    if before is None or after is None:
        return None
    total = after[1] - before[1]
    return 100.0 * (after[0] - before[0]) / total if total > 0 else 0.0


def format_steal(percents):
    """One line: the steal time of each run in order (steal_percent; None where unknown,
    as in JSON written before the runner recorded it, shown as "-"), or "" if none is known."""
    if all(p is None for p in percents):
        return ""
    runs = "this run's" if len(percents) == 1 else "each run's"
    values = ", ".join("-" if p is None else f"{p:.1f}%" for p in percents)
    unknown = " (-: not recorded)" if None in percents else ""
    return (
        f"steal    {values} of {runs} CPU time{unknown} went to other work of the "
        "host (/proc/stat): where it is more than a few %, the times are not this machine's best"
    )


def describe(threads):
    """A dict describing the machine, the libraries and their versions."""
    torch = torch_module()
    info = fastmlp.cpu_info()
    blas = numpy_blas() or {}
    return {
        "cpu": info["cpu"],
        "cores": os.cpu_count(),
        "threads": threads,
        "fastmlp_isa": info["isa"],
        "fastmlp_available_isas": info["available_isas"],
        "caches": format_caches(info),
        "fastmlp_blocking": info["blocking"],
        "numpy_blas": {
            k: blas.get(k) for k in ("internal_api", "version", "architecture", "threading_layer", "filepath")
        },
        "versions": {
            "python": platform.python_version(),
            "fastmlp": fastmlp.__version__,
            "numpy": np.__version__,
            "torch": torch.__version__ if torch else None,
        },
        "torch_blas": _torch_blas(torch),
        "env": {k: os.environ[k] for k in RELEVANT_ENV if k in os.environ},
        "threadpools": [
            {
                k: p.get(k)
                for k in ("user_api", "internal_api", "version", "prefix", "num_threads", "architecture")
            }
            for p in threadpool_info()
        ],
    }


def _blocking_line(m):
    blocking = m.get("fastmlp_blocking") or {}
    if not all("source" in b for b in blocking.values()):  # a run from before the cache model
        return "not recorded"
    return format_blocking({"blocking": blocking})


def _torch_blas(torch):
    if torch is None:
        return None
    config = torch.__config__.show()
    return "MKL" if "USE_MKL=ON" in config or "Intel(R) oneAPI Math Kernel" in config else "other"


def format_machine(m):
    blas = m["numpy_blas"]
    v = m["versions"]
    lines = [
        f"CPU      {m['cpu']} ({m['cores']} logical cores), {m['threads']} thread(s) for every library",
        f"caches   {m.get('caches', 'not recorded')}",
        f"fastmlp  {v['fastmlp']}, micro-kernels {m['fastmlp_isa']} "
        f"(available: {', '.join(m['fastmlp_available_isas'])})",
        f"blocking {_blocking_line(m)}",
        f"NumPy    {v['numpy']}, BLAS {blas['internal_api']} {blas['version']} "
        f"kernels {blas['architecture']} ({blas['threading_layer']})",
        f"PyTorch  {v['torch'] + ' (' + str(m['torch_blas']) + ')' if v['torch'] else 'not installed'}",
        f"Python   {v['python']}",
    ]
    if m.get("fma_peaks"):
        lines.append(f"peak     GFLOP/s from the FMA probe: {format_peaks(m['fma_peaks'])}")
    if m["env"]:
        lines.append("env      " + " ".join(f"{k}={val}" for k, val in m["env"].items()))
    return "\n".join(lines)

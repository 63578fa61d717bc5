"""Timing several implementations of one workload in alternating blocks.

OpenBLAS and OpenMP runtimes keep their worker threads spinning for a while after
a call returns; on a machine with few cores those spinning threads steal time
from whatever runs next.  Alternating single calls therefore penalises every
side (PyTorch measured at ~110 instead of ~195 GFLOP/s when each call followed
an OpenBLAS call on 2 cores).  Here each side runs a block of several samples
before the next side gets its turn; the first sample of a block absorbs the
previous side's spinning and the best sample of each side is kept.  Rotating
the order every round keeps any remaining bias even.  Before each block the
timer also sleeps ``settle_seconds``: OpenBLAS's workers spin for about 2^28
cycles (~0.1 s) after a call, longer than a block of small calls, and on this
2-core machine they slowed the next library's calls by 2-60x (bench/README.md).
"""

import gc
import math
import statistics
import time
from dataclasses import dataclass

# A sample should last at least this long: fast calls are repeated inside one
# sample so that the clock's resolution and the loop overhead do not count.
MIN_SAMPLE_SECONDS = 2e-4
MIN_ROUNDS = 3
MAX_ROUNDS = 3  # each round costs a settle pause per side
MAX_SAMPLES = 300
SETTLE_SECONDS = 0.12


@dataclass(frozen=True)
class Timing:
    best: float  # seconds per call, best sample
    median: float  # seconds per call, median sample
    samples: int  # number of samples taken
    calls_per_sample: int


def _calibrate(fn):
    """(calls per sample, estimated seconds per call)."""
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    if once >= MIN_SAMPLE_SECONDS:
        return 1, once
    calls = max(1, int(MIN_SAMPLE_SECONDS / max(once, 1e-9)))
    return calls, _sample(fn, calls)


def _sample(fn, calls):
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def measure(functions, seconds_per_side=0.3, block=5, warmed_up=False, settle_seconds=SETTLE_SECONDS):
    """Time each zero-argument callable in ``functions`` (name -> fn) in alternating blocks.

    Every side gets about ``seconds_per_side`` of measurement (at least
    ``MIN_ROUNDS`` samples): rounds of ``block`` samples per side, sides rotating.
    ``warmed_up``: each function has already been called once (skip the warm-up call).
    ``settle_seconds``: pause before each block so the previous side's threads go idle.
    Returns name -> Timing.
    """
    names = list(functions)
    calls, estimate = {}, {}
    for name in names:
        if not warmed_up:
            functions[name]()  # first-touch pages, pack buffers, thread pools
        calls[name], estimate[name] = _calibrate(functions[name])
    wanted = {
        name: min(MAX_SAMPLES, max(MIN_ROUNDS, int(seconds_per_side / estimate[name]))) for name in names
    }
    rounds = min(MAX_ROUNDS, max(MIN_ROUNDS, math.ceil(max(wanted.values()) / block)))
    per_round = {name: max(1, math.ceil(wanted[name] / rounds)) for name in names}
    samples = {name: [] for name in names}

    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                fn, n = functions[name], calls[name]
                todo = min(per_round[name], wanted[name] - len(samples[name]))
                if todo and len(names) > 1:
                    time.sleep(settle_seconds)
                samples[name].extend(_sample(fn, n) for _ in range(todo))
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: Timing(min(s), statistics.median(s), len(s), calls[name]) for name, s in samples.items()}

"""Measure one case on every library: check each side's result, then time the sides in
alternating blocks with the same thread count and the same inputs."""

import fastmlp
from fastmlp.bench import cases as case_defs
from fastmlp.bench.machine import peak_gflops
from fastmlp.bench.optional import Unavailable
from fastmlp.bench.threads import use_isa, use_threads
from fastmlp.bench.timing import measure


def run_case(case, threads, seconds_per_side, libraries=case_defs.LIBRARIES):
    """A result row (a JSON-ready dict) for ``case``."""
    threads = case.threads or threads
    with use_threads(threads), use_isa(case.isa):
        isa = fastmlp.cpu_info()["isa"]
        # Probed once; only fastmlp's GFLOP/s are compared with the peak.
        peak = peak_gflops(isa, case.dtype, threads) if "fastmlp" in libraries else None
        results, functions = _prepare_and_check(case, libraries)
        timings = measure(functions, seconds_per_side, warmed_up=True) if functions else {}
    for library, timing in timings.items():
        r = results[library]
        r.update(best_s=timing.best, median_s=timing.median, samples=timing.samples)
        if case.flops:
            r["gflops"] = case.flops / timing.best / 1e9
            if peak:
                r["pct_peak"] = 100.0 * r["gflops"] / peak
    return {
        "id": case.id,
        "subject": case.subject,
        "workload": case.workload,
        "shape": case.shape,
        "dtype": case.dtype,
        "flops": case.flops,
        "size": case.size,
        "threads": threads,
        "isa": isa,
        "peak_gflops": peak,
        "results": results,
    }


def _prepare_and_check(case, libraries):
    inputs = case.inputs()
    check_inputs = case.inputs_for_check(inputs)
    same_inputs = check_inputs is inputs
    reference = case.reference(check_inputs)
    results, functions = {}, {}
    for library in libraries:
        try:
            fn = case.prepare(library, inputs)
            if same_inputs:
                check = case_defs.check_result(case, fn(), inputs, reference)  # also the warm-up
            else:
                check = case_defs.check_side(case, library, check_inputs, reference)
                fn()  # warm-up
        except Unavailable as why:
            results[library] = {"status": str(why)}
            continue
        results[library] = {"status": "ok", "correct": check.ok, "error": check.error}
        functions[library] = fn
    return results, functions


def ratio(row, other):
    """other's time / fastmlp's time: > 1 means fastmlp is faster.  None if either is missing."""
    mine, theirs = row["results"].get("fastmlp", {}), row["results"].get(other, {})
    if "best_s" not in mine or "best_s" not in theirs:
        return None
    return theirs["best_s"] / mine["best_s"]

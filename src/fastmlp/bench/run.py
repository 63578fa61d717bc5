"""fastmlp's benchmark runner: every kernel and workload against NumPy and PyTorch.

    python -m fastmlp.bench                 # quick suite (about 2 minutes on 2 cores)
    python -m fastmlp.bench --full          # every size (matmul 32..4096, all widths, activations)
    python -m fastmlp.bench --only matmul   # cases whose subject/workload/shape contain a pattern
    python -m fastmlp.bench --threads 1 --json out.json --png out.png
    python -m fastmlp.bench --combine a.json b.json --png out.png   # best of earlier runs

`fastmlp-bench` and, in a source checkout, `python bench/run.py` are the same command.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from fastmlp.bench import cases, machine, report
from fastmlp.bench.suite import run_case

# Where results go unless --json/--png say otherwise: a folder of the current directory
# (an installed package's own folder is no place for them); bench/run.py passes its
# bench/results/.
RESULTS_DIR = "fastmlp-bench-results"
# OpenBLAS core types whose kernels need AVX-512.
AVX512_CORETYPES = ("skylakex", "cooperlake", "sapphirerapids")
# Subjects whose NumPy side is BLAS-bound: these are re-measured with another OpenBLAS core type.
BLAS_SUBJECTS = ("microkernel", "matmul", "dense_forward", "dense_backward")


def parse_args(argv=None, results_dir=RESULTS_DIR):
    p = argparse.ArgumentParser(
        prog="fastmlp-bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--full", action="store_true", help="the full suite instead of the quick one")
    p.add_argument(
        "--only",
        metavar="PATTERN",
        help="only cases whose subject, workload, shape or dtype contain PATTERN (or match it as a glob)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count(),
        help="threads for every library (default: all cores, %(default)s)",
    )
    p.add_argument("--json", default=os.path.join(results_dir, "results.json"), metavar="PATH")
    p.add_argument("--png", default=os.path.join(results_dir, "bench.png"), metavar="PATH")
    p.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="measuring time per library and case (default 0.25 quick, 1.0 full)",
    )
    p.add_argument(
        "--numpy-coretype",
        default="SkylakeX",
        metavar="NAME",
        help="also measure NumPy with OPENBLAS_CORETYPE=NAME in a child process "
        "(skipped when OpenBLAS already uses it; 'none' to skip)",
    )
    p.add_argument(
        "--combine",
        nargs="+",
        metavar="JSON",
        help="measure nothing: print the table (and draw --png) of earlier runs' "
        "--json files, each library's best time per case over the runs",
    )
    p.add_argument("--numpy-only", action="store_true", help=argparse.SUPPRESS)  # the child's mode
    return p.parse_args(argv)


def selected_cases(args):
    selected = cases.select(full=args.full, only=args.only)
    if args.numpy_only:
        selected = [c for c in selected if c.subject in BLAS_SUBJECTS]
    return selected


def numpy_with_coretype(args, info):
    """{case id: NumPy result} measured in a child process with OPENBLAS_CORETYPE set before
    NumPy loads, or (None, reason) when not applicable."""
    coretype = args.numpy_coretype
    blas = info["numpy_blas"]
    if coretype.lower() == "none":
        return None, None
    if blas.get("internal_api") != "openblas":
        return None, f"NumPy uses {blas.get('internal_api')}, not OpenBLAS: no {coretype} column"
    if (blas.get("architecture") or "").lower() == coretype.lower():
        return None, f"NumPy's OpenBLAS already uses its {coretype} kernels: no separate column"
    if not any(c.subject in BLAS_SUBJECTS for c in selected_cases(args)):
        return None, None
    if coretype.lower() in AVX512_CORETYPES and "avx512" not in info["fastmlp_available_isas"]:
        return None, (
            f"this CPU has no AVX-512: OpenBLAS's {coretype} kernels cannot run on it "
            f"(NumPy uses its {blas.get('architecture')} kernels): no separate column"
        )
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "child.json")
        cmd = [
            sys.executable,
            "-m",
            "fastmlp.bench",
            "--numpy-only",
            "--threads",
            str(args.threads),
            "--json",
            out,
            "--png",
            "",
            "--numpy-coretype",
            "none",
        ]
        cmd += ["--full"] if args.full else []
        cmd += ["--only", args.only] if args.only else []
        cmd += ["--seconds", str(args.seconds)] if args.seconds else []
        env = dict(os.environ, OPENBLAS_CORETYPE=coretype)
        print(f"measuring NumPy with OPENBLAS_CORETYPE={coretype} in a child process ...", flush=True)
        done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL)
        if done.returncode == -signal.SIGILL:
            return None, (
                f"OpenBLAS's {coretype} kernels use instructions this CPU lacks "
                f"(the child process died of SIGILL): no separate column"
            )
        if done.returncode != 0:
            return None, f"the OPENBLAS_CORETYPE={coretype} child failed (exit {done.returncode})"
        with open(out) as f:
            child = json.load(f)
    got = child["machine"]["numpy_blas"]["architecture"]
    results = {row["id"]: row["results"]["numpy"] for row in child["results"]}
    return results, f"NumPy {coretype} column: OpenBLAS reported kernels '{got}' in the child process"


def combine(args):
    runs = []
    for path in args.combine:
        with open(path) as f:
            runs.append(json.load(f))
    rows = report.best_of_runs(runs)
    print(machine.format_machine(runs[0]["machine"]))
    print(f"\n{len(rows)} cases, each library's best over {len(runs)} runs; {report.RATIO_NOTE}\n")
    print(report.header())
    for row in rows:
        print(report.format_row(row))
    print("\n" + report.footer(rows))
    steal = machine.format_steal([run["settings"].get("steal_percent") for run in runs])
    if steal:
        print(steal)
    if args.png:
        report.draw_png(args.png, runs[0]["machine"], rows)
        print(f"\nwrote {args.png}")
    return 0


def main(argv=None, results_dir=RESULTS_DIR):
    """Run the suite (or --combine earlier runs) with the command line ``argv``; 0 on success."""
    args = parse_args(argv, results_dir)
    if args.combine:
        return combine(args)
    start, ticks = time.perf_counter(), machine.cpu_times()
    seconds = args.seconds or (1.0 if args.full else 0.25)
    libraries = ("numpy",) if args.numpy_only else cases.LIBRARIES
    info = machine.describe(args.threads)
    selected = selected_cases(args)
    if not args.numpy_only:
        info["fma_peaks"] = machine.probe_peaks(selected, args.threads)
    coretype_results, coretype_note = (None, None) if args.numpy_only else numpy_with_coretype(args, info)
    coretype_column = f"vs NumPy {args.numpy_coretype}"[:13] if coretype_results else None

    if not args.numpy_only:
        print(machine.format_machine(info))
        if coretype_note:
            print(coretype_note)
        print(f"\n{len(selected)} cases ({'full' if args.full else 'quick'} suite); {report.RATIO_NOTE}\n")
        print(report.header(coretype_column), flush=True)
    rows = []
    for case in selected:
        row = run_case(case, args.threads, seconds, libraries)
        if coretype_results and case.id in coretype_results:
            row["results"]["numpy_coretype"] = coretype_results[case.id]
        rows.append(row)
        if not args.numpy_only:
            print(report.format_row(row, coretype_column), flush=True)

    settings = {
        "full": args.full,
        "only": args.only,
        "threads": args.threads,
        "seconds_per_side": seconds,
        "numpy_coretype": args.numpy_coretype if coretype_results else None,
        "wall_seconds": time.perf_counter() - start,
        "steal_percent": machine.steal_percent(ticks, machine.cpu_times()),
    }
    if args.json:
        report.write_json(args.json, info, rows, settings)
    if args.numpy_only:
        return 0
    print("\n" + report.footer(rows))
    steal = machine.format_steal([settings["steal_percent"]])
    if steal:
        print(steal)
    if args.png:
        report.draw_png(args.png, info, rows)
    print(f"\nwrote {args.json or '-'} and {args.png or '-'} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

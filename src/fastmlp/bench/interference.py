"""How much one library's idle-spinning threads slow the next library's call down.

    python -m fastmlp.bench.interference [--size 256] [--threads 2]   # or bench/interference.py

For each environment setting (in a child process each, since the runtimes read
their settings when they load) and each pair (victim, aggressor) of fastmlp,
NumPy and PyTorch, a float32 matmul of size n is timed
  alone:       in a block of consecutive victim calls (best call),
  interleaved: each victim call right after one aggressor call (best and median call),
  after-sleep: each victim call right after one aggressor call and a 0.2 s pause.
The slowdown is interleaved median / alone.  Results go to the table printed and to
fastmlp-bench-results/interference.json (bench/results/ from bench/interference.py).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from fastmlp.bench.run import RESULTS_DIR

SETTINGS = {
    "default": {},
    "OMP_WAIT_POLICY=passive": {"OMP_WAIT_POLICY": "passive"},
    "GOMP_SPINCOUNT=0": {"GOMP_SPINCOUNT": "0"},
    "OPENBLAS_THREAD_TIMEOUT=4": {"OPENBLAS_THREAD_TIMEOUT": "4"},
    "all three": {"OMP_WAIT_POLICY": "passive", "GOMP_SPINCOUNT": "0", "OPENBLAS_THREAD_TIMEOUT": "4"},
}
CALLS = 40


def _child(size, threads):
    import numpy as np

    from fastmlp.bench import dense_ops as ops
    from fastmlp.bench.threads import use_threads

    inputs = ops.matmul_inputs(size, size, size, "float32")
    sides = {
        "fastmlp": ops.matmul_fastmlp(inputs),
        "numpy": ops.matmul_numpy(inputs),
        "torch": ops.matmul_torch(inputs),
    }
    out = {}
    with use_threads(threads):
        for fn in sides.values():
            for _ in range(5):
                fn()
        for victim, vfn in sides.items():
            alone = []
            for _ in range(CALLS):
                t = time.perf_counter()
                vfn()
                alone.append(time.perf_counter() - t)
            for aggressor, afn in sides.items():
                if aggressor == victim:
                    continue
                inter = []
                for _ in range(CALLS):
                    afn()
                    t = time.perf_counter()
                    vfn()
                    inter.append(time.perf_counter() - t)
                out[f"{victim} after {aggressor}"] = {
                    "alone_best": min(alone),
                    "alone_median": statistics.median(alone),
                    "interleaved_best": min(inter),
                    "interleaved_median": statistics.median(inter),
                }
    np.asarray(0)
    json.dump(out, sys.stdout)


def main(argv=None, results_dir=RESULTS_DIR):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--json", default=os.path.join(results_dir, "interference.json"))
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return _child(args.size, args.threads)
    results = {}
    for name, env in SETTINGS.items():
        cmd = [
            sys.executable,
            "-m",
            "fastmlp.bench.interference",
            "--child",
            "--size",
            str(args.size),
            "--threads",
            str(args.threads),
        ]
        done = subprocess.run(cmd, env=dict(os.environ, **env), capture_output=True, text=True, check=True)
        results[name] = json.loads(done.stdout)
    pairs = list(next(iter(results.values())))
    print(
        f"float32 matmul {args.size}^3, {args.threads} threads: median time of the victim's call "
        f"right after one call of the aggressor / its median time in a block of its own calls"
    )
    print(f"{'victim after aggressor':26}" + "".join(f"{n:>28}" for n in SETTINGS))
    for pair in pairs:
        cells = []
        for name in SETTINGS:
            r = results[name][pair]
            cells.append(
                f"{r['interleaved_median'] / r['alone_median']:.2f}x ({r['alone_median'] * 1e6:.0f} us)"
            )
        print(f"{pair:26}" + "".join(f"{c:>28}" for c in cells))
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump({"size": args.size, "threads": args.threads, "results": results}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())

"""The runner's --combine (the best of several runs, per case and library), its header,
and its three entry points: python -m fastmlp.bench, fastmlp-bench, bench/run.py."""

import json
import os
import shutil
import subprocess
import sys
import warnings

import pytest

from fastmlp.bench import report

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = [sys.executable, "-m", "fastmlp.bench"]


def run_quick(command=RUNNER, only="matmul 64x64x64 float64", json_path="", env=None):
    """The runner's stdout for the cases matching only, timed for 0.01 s a side, with no
    plot and no NumPy child process."""
    args = [
        "--only",
        only,
        "--seconds",
        "0.01",
        "--json",
        str(json_path),
        "--png",
        "",
        "--numpy-coretype",
        "none",
    ]
    return subprocess.run([*command, *args], check=True, capture_output=True, text=True, env=env).stdout


def _run(times):
    """A run's JSON results: one case per entry of times, {library: best_s or a status}."""
    rows = []
    for i, sides in enumerate(times):
        results = {
            lib: ({"status": "ok", "best_s": t} if isinstance(t, float) else {"status": t})
            for lib, t in sides.items()
        }
        rows.append(
            {
                "id": f"case {i}",
                "subject": "matmul",
                "workload": "matmul",
                "shape": f"{i}",
                "dtype": "float32",
                "results": results,
            }
        )
    return {"machine": {}, "results": rows}


def test_best_of_runs_takes_each_librarys_shortest_time():
    a = _run([{"fastmlp": 2.0, "numpy": 1.0}, {"fastmlp": 1.0, "torch": "not installed"}])
    b = _run([{"fastmlp": 1.5, "numpy": 3.0}, {"fastmlp": 4.0, "torch": 2.0}])
    rows = report.best_of_runs([a, b])
    assert [r["id"] for r in rows] == ["case 0", "case 1"]
    assert rows[0]["results"]["fastmlp"]["best_s"] == 1.5
    assert rows[0]["results"]["numpy"]["best_s"] == 1.0
    assert rows[1]["results"]["fastmlp"]["best_s"] == 1.0
    assert rows[1]["results"]["torch"]["best_s"] == 2.0  # a timed result beats a status
    assert a["results"][0]["results"]["fastmlp"]["best_s"] == 2.0  # the inputs are untouched


def test_best_of_runs_takes_the_percent_of_peak_against_the_highest_probe():
    """A run whose FMA probe read half the peak (a core lent elsewhere) must not lend its
    inflated % of peak to the combined table."""

    def run(best_s, peak):
        r = _run([{"fastmlp": best_s}])
        gflops = 1.0 / best_s
        r["results"][0].update(peak_gflops=peak, flops=1e9)
        r["results"][0]["results"]["fastmlp"].update(gflops=gflops, pct_peak=100.0 * gflops / peak)
        return r

    slow_probe, good_probe = run(1.0, 1.0), run(2.0, 2.0)  # 100% and 25% as measured
    rows = report.best_of_runs([slow_probe, good_probe])
    assert rows[0]["peak_gflops"] == 2.0
    assert rows[0]["results"]["fastmlp"]["best_s"] == 1.0
    assert rows[0]["results"]["fastmlp"]["pct_peak"] == pytest.approx(50.0)
    assert slow_probe["results"][0]["results"]["fastmlp"]["pct_peak"] == 100.0  # inputs untouched


def test_best_of_runs_refuses_runs_of_different_cases():
    with pytest.raises(ValueError, match="different cases"):
        report.best_of_runs([_run([{"fastmlp": 1.0}]), _run([{"fastmlp": 1.0}] * 2)])


def test_runner_combines_json_files(tmp_path):
    runs = []
    for n in range(2):
        path = tmp_path / f"run{n}.json"
        run_quick(json_path=path)
        runs.append(path)
    out = subprocess.run(
        [*RUNNER, "--combine", *map(str, runs), "--png", ""], check=True, capture_output=True, text=True
    ).stdout
    assert "best over 2 runs" in out
    best = min(json.load(open(p))["results"][0]["results"]["fastmlp"]["best_s"] for p in runs)
    assert report.format_seconds(best) in out


@pytest.mark.parametrize("only", ["matmul 64x64x64 float64", "2-4-3-1"])
def test_chart_of_a_partial_run_draws_only_panels_with_data(only, tmp_path):
    """--only runs of one subject: the other panels are left out, without matplotlib's
    warning about an empty legend."""
    pytest.importorskip("matplotlib")
    path = tmp_path / "run.json"
    run_quick(only=only, json_path=path)
    run = json.load(open(path))
    png = tmp_path / "chart.png"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report.draw_png(str(png), run["machine"], run["results"])
    assert png.stat().st_size > 10_000


def test_runner_header_names_the_caches_and_blocking_in_use():
    env = dict(os.environ, FASTMLP_CACHES="l2=256K/4,l3=0")
    out = run_quick(env=env)
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "L2 256 KiB/4-way" in lines["caches"] and "no L3" in lines["caches"]
    assert "+FASTMLP_CACHES" in lines["caches"]
    assert "family" in lines["CPU"]
    # the blocking the child derived from those caches, as fastmlp reports it in-process
    import fastmlp
    from fastmlp import _core
    from fastmlp._cpu import format_blocking

    _core._set_caches("l2=256K/4,l3=0")
    try:
        assert lines["blocking"].split(None, 1)[1] == format_blocking(fastmlp.cpu_info())
    finally:
        _core._set_caches("")


def test_runner_probes_each_peak_once_before_the_cases_and_prints_it(tmp_path):
    # Two rows (float32 and float64) at the run's threads: two peaks, each probed once.
    out_json = tmp_path / "run.json"
    out = run_quick(only="64x64x64", json_path=out_json)
    run = json.loads(out_json.read_text())
    peaks = run["machine"]["fma_peaks"]
    probed = {(p["isa"], p["dtype"], p["threads"]): p["gflops"] for p in peaks}
    assert len(probed) == len(peaks) and all(g > 0 for g in probed.values())
    rows = run["results"]
    assert {(r["isa"], r["dtype"], r["threads"]) for r in rows} == set(probed)
    for r in rows:  # each row's % of peak is of the value probed up front, not of a new probe
        assert r["peak_gflops"] == probed[(r["isa"], r["dtype"], r["threads"])]
        fast = r["results"]["fastmlp"]
        assert fast["pct_peak"] == pytest.approx(100 * fast["gflops"] / r["peak_gflops"])
    peak_line = next(line for line in out.splitlines() if line.startswith("peak "))
    for (isa, dtype, threads), gflops in probed.items():
        assert f"{isa} {dtype}" in peak_line and f"{gflops:.1f} ({threads}t)" in peak_line


@pytest.mark.parametrize(
    ("probes", "expected", "taken"),
    [
        ([236.0], 236.0, 1),  # two cores' worth at once
        ([117.9, 118.0, 235.0, 100.0], 235.0, 3),  # a core taken by the host, then given back
        ([120.0] * 7, 120.0, 7),  # threads sharing a core's FMA units: every retry, then its best
    ],
)
def test_a_multithread_peak_probe_below_the_cores_is_taken_again(probes, expected, taken):
    from fastmlp.bench.machine import PEAK_RETRIES, scaled_probe

    left = list(probes)
    assert scaled_probe(lambda: left.pop(0), threads=2, one_thread=118.2, pause=0) == expected
    assert len(probes) - len(left) == taken <= PEAK_RETRIES + 1


def test_a_multithread_peak_below_the_bar_says_so_in_the_header():
    from fastmlp.bench.machine import format_peaks

    peaks = [
        dict(isa="avx512", dtype="float32", threads=1, gflops=118.2),
        dict(isa="avx512", dtype="float32", threads=2, gflops=117.8, below_scaling=True),
        dict(isa="avx512", dtype="float64", threads=2, gflops=118.1, below_scaling=False),
    ]
    line = format_peaks(peaks)
    assert "118.2 (1t) 117.8 (2t) [below 3/4 of threads x 1t: threads share a core, or one was busy]" in line
    assert "avx512 float64 118.1 (2t)," not in line and line.endswith("avx512 float64 118.1 (2t)")


def test_steal_time_comes_from_proc_stat(tmp_path):
    from fastmlp.bench.machine import cpu_times, format_steal, steal_percent

    stat = tmp_path / "stat"
    stat.write_text("cpu  100 5 50 800 10 0 5 30 0 0\ncpu0 50 2 25 400 5 0 2 15 0 0\n")
    assert cpu_times(stat) == (30, 1000)
    assert steal_percent((30, 1000), (80, 1200)) == pytest.approx(25.0)
    assert steal_percent(None, (80, 1200)) is None
    assert cpu_times(tmp_path / "missing") is None
    stat.write_text("intr 1 2 3\n")
    assert cpu_times(stat) is None
    assert format_steal([None]) == ""
    assert format_steal([2.5]).startswith("steal    2.5% of this run's CPU time")
    # a run without the figure (older JSON) keeps its place, so each value stays with its run
    assert format_steal([0.3, None, 12.0]).startswith(
        "steal    0.3%, -, 12.0% of each run's CPU time (-: not recorded) went"
    )


def test_a_run_reports_its_steal_time(tmp_path):
    out = tmp_path / "out.json"
    printed = run_quick(json_path=out)
    steal = json.load(open(out))["settings"]["steal_percent"]
    if os.path.exists("/proc/stat"):
        assert 0 <= steal <= 100
        assert f"steal    {steal:.1f}% of this run's CPU time" in printed
    else:
        assert steal is None and "steal " not in printed


def test_no_avx512_coretype_column_on_a_cpu_without_avx512():
    from fastmlp.bench import run

    args = run.parse_args(["--only", "matmul 64x64x64 float64"])
    info = {
        "numpy_blas": {"internal_api": "openblas", "architecture": "Haswell"},
        "fastmlp_available_isas": ["generic", "avx2"],
    }
    results, note = run.numpy_with_coretype(args, info)
    assert results is None
    assert "no AVX-512" in note and "SkylakeX" in note and "Haswell" in note


@pytest.mark.parametrize(
    "command",
    [
        [os.path.join(os.path.dirname(sys.executable), "fastmlp-bench")],  # the console script
        [sys.executable, os.path.join(ROOT, "bench", "run.py")],  # the repository's wrapper
    ],
    ids=["fastmlp-bench", "bench/run.py"],
)
def test_every_entry_point_runs_the_packaged_runner(command, tmp_path):
    assert shutil.which(command[0]), f"{command[0]} is not installed"
    out = tmp_path / "out.json"
    printed = run_quick(command, json_path=out)
    assert "matmul" in printed and "vs NumPy" in printed
    assert [r["id"] for r in json.load(open(out))["results"]] == ["matmul 64x64x64 float64"]
    helps = {
        tuple(c): subprocess.run([*c, "--help"], check=True, capture_output=True, text=True).stdout
        for c in (command, RUNNER)
    }
    assert len(set(helps.values())) == 1, "the entry points have different options"

"""pytest-benchmark glue: each bench/test_<subject>.py sets SUBJECT and gets one test per
(case, library) of that subject, grouped by case so the three libraries sit side by side.

    pytest bench/                       # quick cases
    pytest bench/ --bench-full          # every case
    pytest bench/test_matmul.py --benchmark-columns=min,median,ops
"""

import pytest

from fastmlp.bench import cases
from fastmlp.bench.optional import Unavailable
from fastmlp.bench.threads import use_isa, use_threads


def pytest_addoption(parser):
    parser.addoption("--bench-full", action="store_true", help="benchmark the full suite's cases")
    parser.addoption(
        "--bench-threads", type=int, default=None, help="threads for every library (default: all cores)"
    )


def pytest_generate_tests(metafunc):
    subject = getattr(metafunc.module, "SUBJECT", None)
    if subject is None or "case" not in metafunc.fixturenames:
        return
    selected = cases.select(full=metafunc.config.getoption("--bench-full"), subject=subject)
    metafunc.parametrize("library", cases.LIBRARIES)
    metafunc.parametrize("case", selected, ids=[c.id.replace(" ", "_") for c in selected])


@pytest.fixture
def run_case(benchmark, request):
    """run_case(case, library): benchmark one side of a case, with its correctness in extra_info."""
    import os

    threads = request.config.getoption("--bench-threads") or os.cpu_count()

    def run(case, library):
        with use_threads(case.threads or threads), use_isa(case.isa):
            inputs = case.inputs()
            try:
                fn = case.prepare(library, inputs)
                check = cases.check_side(case, library, case.inputs_for_check(inputs))
            except Unavailable as why:
                pytest.skip(f"{library}: {why}")
            benchmark.group = case.id
            benchmark.extra_info.update(
                library=library,
                shape=case.shape,
                dtype=case.dtype,
                threads=case.threads or threads,
                correct=bool(check.ok),
                error=float(check.error),
            )
            benchmark(fn)
        if case.flops:
            benchmark.extra_info["gflops"] = case.flops / benchmark.stats.stats.min / 1e9

    return run

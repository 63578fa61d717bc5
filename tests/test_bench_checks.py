"""Every benchmark's correctness check as a quick test, so the suite cannot rot.

The cases come from fastmlp.bench.cases, the one definition the runner and the
pytest-benchmark files use.  Each side's result is compared with a float64
reference; a side that cannot run here (PyTorch not installed, fastmlp.MLP not
written yet) is skipped with the reason.  The largest products (more than
CHECK_FLOPS_LIMIT per call) are left to the runner: they take the code paths of
the smaller sizes and would only make the test run slow.
"""

import pytest

from fastmlp.bench import cases
from fastmlp.bench.optional import Unavailable
from fastmlp.bench.threads import use_isa, use_threads

CHECK_FLOPS_LIMIT = 2e10

CHECKED = [c for c in cases.all_cases() if (c.flops or 0) <= CHECK_FLOPS_LIMIT]


@pytest.fixture(scope="module")
def references():
    return {}


@pytest.mark.parametrize("library", cases.LIBRARIES)
@pytest.mark.parametrize("case", CHECKED, ids=[f"{c.subject}:{c.id}".replace(" ", "_") for c in CHECKED])
def test_benchmark_result_matches_reference(case, library, references):
    with use_threads(case.threads or 2), use_isa(case.isa):
        if case.id not in references:
            inputs = case.inputs_for_check()
            references.clear()  # one case's arrays at a time
            references[case.id] = (inputs, case.reference(inputs))
        inputs, reference = references[case.id]
        try:
            check = cases.check_side(case, library, inputs, reference)
        except Unavailable as why:
            pytest.skip(f"{library}: {why}")
    assert check.ok, f"{library} on {case.id}: relative error {check.error:.3g} > {case.tolerance:.3g}"


def test_every_subject_has_cases_in_the_quick_suite():
    quick = {c.subject for c in cases.select()}
    assert quick == set(cases.SUBJECTS)


def test_case_ids_are_unique():
    ids = [c.id for c in cases.all_cases()]
    assert len(ids) == len(set(ids))

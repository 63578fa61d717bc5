"""pytest-benchmark: activations cases (bench/cases.py) for fastmlp, NumPy and PyTorch."""

SUBJECT = "activations"


def test_activations(run_case, case, library):
    run_case(case, library)

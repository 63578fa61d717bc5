"""pytest-benchmark: dense forward cases (bench/cases.py) for fastmlp, NumPy and PyTorch."""

SUBJECT = "dense_forward"


def test_dense_forward(run_case, case, library):
    run_case(case, library)

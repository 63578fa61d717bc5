"""pytest-benchmark: matmul cases (bench/cases.py) for fastmlp, NumPy and PyTorch."""

SUBJECT = "matmul"


def test_matmul(run_case, case, library):
    run_case(case, library)

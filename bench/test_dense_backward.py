"""pytest-benchmark: dense backward cases (bench/cases.py) for fastmlp, NumPy and PyTorch."""

SUBJECT = "dense_backward"


def test_dense_backward(run_case, case, library):
    run_case(case, library)

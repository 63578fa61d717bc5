"""pytest-benchmark: microkernel cases (bench/cases.py) for fastmlp, NumPy and PyTorch."""

SUBJECT = "microkernel"


def test_microkernel(run_case, case, library):
    run_case(case, library)

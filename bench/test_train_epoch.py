"""pytest-benchmark: train epoch cases (bench/cases.py) for fastmlp, NumPy and PyTorch."""

SUBJECT = "train_epoch"


def test_train_epoch(run_case, case, library):
    run_case(case, library)

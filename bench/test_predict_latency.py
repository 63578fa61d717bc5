"""pytest-benchmark: predict latency cases (bench/cases.py) for fastmlp, NumPy and PyTorch."""

SUBJECT = "predict_latency"


def test_predict_latency(run_case, case, library):
    run_case(case, library)

"""The CI step that runs scikit-learn's MLP tests on fastmlp (.ci/sklearn_suite.py):
its rewrite of the installed test file and its list of left-out tests."""

import importlib.util
import pathlib

import pytest

pytest.importorskip("sklearn")

RUNNER = pathlib.Path(__file__).resolve().parents[1] / ".ci" / "sklearn_suite.py"


def _runner():
    spec = importlib.util.spec_from_file_location("sklearn_suite", RUNNER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_only_the_import_changes():
    runner = _runner()
    source = runner.suite_source()
    original = pathlib.Path(
        importlib.util.find_spec("sklearn.neural_network.tests.test_mlp").origin
    ).read_text()
    assert runner.THEIRS not in source and source.count(runner.OURS) == 1
    assert source.replace(runner.OURS, runner.THEIRS) == original


def test_left_out_tests_exist_and_say_why():
    runner = _runner()
    source = runner.suite_source()
    for name, reason in runner.DESELECTED.items():
        assert f"def {name}(" in source and reason

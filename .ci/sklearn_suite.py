#!/usr/bin/env python3
"""scikit-learn's own tests of its MLPs, run on fastmlp.sklearn's estimators.

Copies sklearn/neural_network/tests/test_mlp.py of the installed scikit-learn into a
temporary directory with only its import of MLPClassifier and MLPRegressor changed to
fastmlp.sklearn's, and runs it with pytest, without the tests in DESELECTED. Exits with
pytest's status. Extra arguments go to pytest.

    python .ci/sklearn_suite.py [-x] [-v]
"""

import importlib.util
import pathlib
import subprocess
import sys
import tempfile

THEIRS = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
OURS = "from fastmlp.sklearn import MLPClassifier, MLPRegressor"

# Tests left out, each with its reason. Only what needs scikit-learn's internals or a
# feature fastmlp does not have belongs here.
DESELECTED = {}

# The file's one fixture from scikit-learn's conftest (not copied: it configures all of
# scikit-learn's suite): global_random_seed, with the value scikit-learn's conftest uses
# when SKLEARN_TESTS_GLOBAL_RANDOM_SEED is not set, parametrized as it is there.
CONFTEST = """\
def pytest_generate_tests(metafunc):
    if "global_random_seed" in metafunc.fixturenames:
        metafunc.parametrize("global_random_seed", [42])
"""


def suite_source():
    """The installed test_mlp.py with fastmlp's import; fails if the import is not
    there exactly once (a scikit-learn release that changed it needs a look)."""
    spec = importlib.util.find_spec("sklearn.neural_network.tests.test_mlp")
    source = pathlib.Path(spec.origin).read_text()
    if source.count(THEIRS) != 1:
        raise SystemExit(f"{spec.origin}: expected the line {THEIRS!r} exactly once")
    return source.replace(THEIRS, OURS)


def main(argv):
    source = suite_source()
    for name in DESELECTED:
        if f"def {name}(" not in source:
            raise SystemExit(f"DESELECTED names {name}, which test_mlp.py no longer has")
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "test_mlp.py"
        path.write_text(source)
        (pathlib.Path(tmp) / "conftest.py").write_text(CONFTEST)
        deselect = [f"--deselect=test_mlp.py::{name}" for name in DESELECTED]
        # From the temporary directory, so that no project configuration applies.
        return subprocess.call(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_mlp.py", *deselect, *argv],
            cwd=tmp,
        )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""scikit-learn's own estimator checks on fastmlp.sklearn's estimators."""

import pytest

pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastmlp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

# Small, fast instances: the checks fit dozens of times on tiny data sets.
# max_iter=100 is what scikit-learn's own suite uses for its MLPs
# (sklearn/utils/_test_common/instance_generator.py).
CHECKED = [
    MLPClassifier(max_iter=100, random_state=0),
    MLPRegressor(max_iter=100, random_state=0),
]

# Checks expected to fail, with the reason. Only features scikit-learn documents as
# optional for an estimator are allowed here.
EXPECTED_FAILURES = {}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


@parametrize_with_checks(CHECKED, expected_failed_checks=_expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)

"""What the installed package declares: one version, the sklearn extra's minimum (the
estimators' true one: .ci/wheel tests them on it), the runner's console script."""

import re
from importlib import metadata

import sklearn

import fastmlp


def test_version_is_the_package_metadatas():
    assert fastmlp.__version__ == metadata.version("fastmlp")


def test_sklearn_extra_declares_the_minimum_the_estimators_need():
    requires = metadata.requires("fastmlp")
    [sklearn_req] = [r for r in requires if 'extra == "sklearn"' in r]
    minimum = re.fullmatch(r'scikit-learn>=([0-9.]+); extra == "sklearn"', sklearn_req).group(1)
    # the test extra takes scikit-learn through the sklearn extra, so the two agree
    assert 'fastmlp[sklearn]; extra == "test"' in requires
    installed = tuple(int(p) for p in re.findall(r"\d+", sklearn.__version__)[:2])
    assert installed >= tuple(int(p) for p in minimum.split(".")[:2])


def test_runner_console_script():
    scripts = {
        e.name: e.value for e in metadata.distribution("fastmlp").entry_points if e.group == "console_scripts"
    }
    assert scripts == {"fastmlp-bench": "fastmlp.bench.run:main"}

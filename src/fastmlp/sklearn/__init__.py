"""scikit-learn compatible estimators trained by fastmlp's C++ engine.

``fastmlp.sklearn.MLPClassifier`` and ``fastmlp.sklearn.MLPRegressor`` take the
constructor parameters of ``sklearn.neural_network.MLPClassifier`` / ``MLPRegressor``
(same names, same defaults), follow their training, convergence and early-stopping
logic, and expose the same fitted attributes. With the stochastic solvers (sgd, adam)
each epoch runs in one call of fastmlp's engine; with lbfgs, each evaluation of the
full-batch loss and gradient that scipy's L-BFGS-B asks for.

scikit-learn (1.7 or later: the ``sklearn`` extra, ``pip install "fastmlp[sklearn]"``)
is an optional dependency of fastmlp: ``import fastmlp`` never imports it, and
importing this module without it raises an ImportError that says so.
"""

try:
    import sklearn  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "fastmlp.sklearn requires scikit-learn, which is not installed: pip install 'fastmlp[sklearn]'"
    ) from exc

from fastmlp.sklearn._classifier import MLPClassifier
from fastmlp.sklearn._regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]

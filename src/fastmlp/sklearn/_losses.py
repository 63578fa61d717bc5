"""How scikit-learn's MLP losses map onto fastmlp's engine losses.

Per output activation (``out_activation_``): the engine loss, the factor turning the
engine's "mean" loss into scikit-learn's, and the factor turning scikit-learn's
gradient into the engine's, the last two as functions of the number of outputs k.

- identity (squared_error): sklearn reports 0.5 * mean squared error (over samples and
  outputs) and steps along (f - y) / n; the engine's MSELoss is mean((f - y)^2) with
  gradient 2 (f - y) / (n k).
- logistic: sklearn sums the binary log-loss over outputs and averages over samples,
  BCEWithLogitsLoss averages over both.
- softmax: both average the cross-entropy over samples.
- exp (MLPRegressor(loss="poisson")): sklearn sums the half Poisson deviance over
  outputs and averages over samples (gradient exp(z) - y over n); PoissonLoss averages
  over both.
"""

LOSSES = {
    "identity": ("mse", lambda k: 0.5, lambda k: 2.0 / k),
    "logistic": ("bce", lambda k: float(k), lambda k: 1.0 / k),
    "softmax": ("cross_entropy", lambda k: 1.0, lambda k: 1.0),
    "exp": ("poisson", lambda k: float(k), lambda k: 1.0 / k),
}

"""Early stopping for MLP.fit."""

from fastmlp._checks import check_int, check_number

__all__ = ["EarlyStopping"]


class EarlyStopping:
    """Stop fit when the monitored loss has not improved for ``patience`` epochs.

    The monitored loss is the validation loss when fit has ``validation_data``, else
    the training loss. An epoch improves on the best one when its loss is lower by
    more than ``min_delta``. With ``restore_best_weights`` (the default) the model
    ends with the weights of the best epoch, as keras.callbacks.EarlyStopping does.
    ``fit(early_stopping=5)`` means ``EarlyStopping(patience=5)``.
    """

    def __init__(self, patience: int = 5, min_delta: float = 0.0, restore_best_weights: bool = True) -> None:
        self.patience = check_int(patience, "patience", 0)
        self.min_delta = check_number(min_delta, "min_delta", 0.0)
        self.restore_best_weights = bool(restore_best_weights)

    @classmethod
    def from_arg(cls, value):
        if value is None or isinstance(value, cls):
            return value
        return cls(patience=check_int(value, "early_stopping", 0))

    def start(self, params):
        self.best = float("inf")
        self.best_epoch = None
        self._wait = 0
        self._best_params = [p.copy() for p in params] if self.restore_best_weights else None

    def should_stop(self, epoch, loss, params):
        """Record epoch's loss; True when training should stop."""
        if loss < self.best - self.min_delta:
            self.best, self.best_epoch, self._wait = loss, epoch, 0
            if self._best_params is not None:
                for saved, p in zip(self._best_params, params):
                    saved[...] = p
            return False
        self._wait += 1
        return self._wait > self.patience

    def finish(self, params):
        """Put the best epoch's weights back (if asked and there was a best epoch)."""
        if self._best_params is not None and self.best_epoch is not None:
            for saved, p in zip(self._best_params, params):
                p[...] = saved

"""The multilayer perceptron: its layers, inference, gradients and training."""

from __future__ import annotations

import json
import math
import os
import secrets
import time
from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any, Callable, Optional

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from fastmlp import _core, _safetensors
from fastmlp import init as _init
from fastmlp import losses as _losses
from fastmlp import optim as _optim
from fastmlp import sparse as _sparse
from fastmlp._aligned import aligned_copy, aligned_empty
from fastmlp._checks import (
    as_float_array,
    check_bool,
    check_choice,
    check_features,
    check_int,
    check_number,
    check_sample_weight,
    check_slope,
)
from fastmlp._progress import progress_bar
from fastmlp._torch import state_dict_names
from fastmlp.early_stopping import EarlyStopping

__all__ = ["Dense", "MLP"]

ACTIVATIONS = ("identity", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax", "step")
# What the metadata of a saved model's file say it is (fastmlp.io reads it back).
FILE_FORMAT = "fastmlp.MLP"
# Offset that keeps the dropout masks of train_step calls apart from those of fit epochs.
_STEP_STREAM = 1 << 63

# The public signatures' types (Python 3.9: typing's generics, not the | syntax).
Array = NDArray[Any]  # float32 or float64, as the model's dtype
Gradients = list[tuple[Array, Optional[Array]]]


class Dense:
    """One layer ``y = activation(x @ weight.T + bias)`` of an MLP, as torch.nn.Linear.

    ``weight`` (out_features, in_features) and ``bias`` (out_features,) are the arrays
    the model trains in place. Assigning to them (``layer.weight = w`` or
    ``layer.weight[...] = w``) copies the values in; the next call uses them.
    """

    def __init__(self, weight: Array, bias: Array | None, activation: str) -> None:
        self._weight = weight
        self._bias = bias
        self.activation = activation

    @property
    def weight(self) -> Array:
        return self._weight

    @weight.setter
    def weight(self, value: ArrayLike) -> None:
        _assign(self._weight, value, "weight")

    @property
    def bias(self) -> Array | None:
        return self._bias

    @bias.setter
    def bias(self, value: ArrayLike) -> None:
        if self._bias is None:
            raise ValueError("this layer has no bias (the MLP was built with bias=False)")
        _assign(self._bias, value, "bias")

    @property
    def in_features(self) -> int:
        return self._weight.shape[1]

    @property
    def out_features(self) -> int:
        return self._weight.shape[0]

    def __repr__(self):
        return (
            f"Dense(in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self._bias is not None}, activation={self.activation!r})"
        )


def _assign(target, value, name):
    value = np.asarray(value)
    if value.shape != target.shape:
        raise ValueError(f"{name} must have shape {target.shape}, got {value.shape}")
    target[...] = value


class MLP:
    """A multilayer perceptron trained by C++ kernels, one call per epoch.

    Parameters
    ----------
    layer_sizes : sequence of int
        Widths from the input to the output, e.g. ``[784, 256, 10]``.
    activation : str or sequence of str
        Activation of the hidden layers (one name, or one per hidden layer):
        identity, relu, leaky_relu, sigmoid, tanh, gelu, softmax or step.
    output_activation : str
        Activation of the last layer. Leave it "identity" for the "cross_entropy" and
        "bce" losses, which take logits.
    bias : bool
        Whether layers have a bias.
    init : str or callable
        Weight initialisation: a name from fastmlp.init (kaiming_uniform, the
        default, is torch.nn.Linear's: a=sqrt(5)) or ``f(weight, rng)`` filling the
        array in place. Biases follow torch.nn.Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    dropout : float in [0, 1)
        Inverted dropout on hidden-layer outputs during fit and train_step.
    dtype : "float32" or "float64"
    seed : int or None
        Seeds the initialisation, the shuffling and the dropout masks; a seed gives
        bit-identical training whatever the number of threads.
    negative_slope : float
        leaky_relu's slope for negative inputs.

    Attributes
    ----------
    layers : list of Dense
    history_ : dict, the history of the last fit.
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activation: str | Sequence[str] = "relu",
        output_activation: str = "identity",
        bias: bool = True,
        init: str | Callable[[Array, np.random.Generator], object] = "kaiming_uniform",
        dropout: float = 0.0,
        dtype: DTypeLike = "float32",
        seed: int | None = None,
        negative_slope: float = 0.01,
    ) -> None:
        sizes = list(layer_sizes) if not isinstance(layer_sizes, (str, bytes)) else None
        if not sizes or len(sizes) < 2:
            raise ValueError(f"layer_sizes must list at least 2 sizes (inputs, outputs), got {layer_sizes!r}")
        self.layer_sizes = tuple(check_int(s, f"layer_sizes[{i}]", 1) for i, s in enumerate(sizes))
        n_hidden = len(sizes) - 2
        if isinstance(activation, str):
            hidden = [check_choice(activation, "activation", ACTIVATIONS)] * n_hidden
        else:
            hidden = list(activation)
        if len(hidden) != n_hidden:
            raise ValueError(f"activation lists {len(hidden)} names for {n_hidden} hidden layers")
        for a in hidden:
            check_choice(a, "activation", ACTIVATIONS)
        check_choice(output_activation, "output_activation", ACTIVATIONS)
        self.activation = activation
        self.output_activation = output_activation
        self.bias = bool(bias)
        self._dropout = check_number(dropout, "dropout", 0.0, 1.0, open_max=True)
        self.dtype = np.dtype(
            check_choice(str(np.dtype(dtype)) if _is_dtype(dtype) else dtype, "dtype", ("float32", "float64"))
        )
        self._negative_slope = check_slope(negative_slope, "negative_slope", self.dtype)
        if seed is None:
            seed = secrets.randbits(63)
        self.seed = check_int(seed, "seed", 0, 2**64 - 1)  # the engine's uint64_t
        self._activations = hidden + [output_activation]

        rng = np.random.default_rng(self.seed)
        weight_init = _weight_initializer(init)
        layers = []
        for fan_in, fan_out, act in zip(self.layer_sizes, self.layer_sizes[1:], self._activations):
            w = aligned_empty((fan_out, fan_in), self.dtype)
            weight_init(w, rng)
            b = _init.linear_bias(aligned_empty(fan_out, self.dtype), fan_in, rng) if self.bias else None
            layers.append(Dense(w, b, act))
        self._layers = tuple(layers)
        self._engine = self._make_engine()
        self._epochs_done = 0  # keys the shuffles and dropout masks of later epochs
        self._steps_done = 0  # and those of train_step calls
        self._step_optimizers = {}  # optimizers named by string in train_step, kept between calls
        self.history_ = None

    def _make_engine(self):
        return _core._MLP(
            self.parameters(), self._activations, self.bias, self._negative_slope, self._dropout
        )

    # copy.deepcopy and pickle (e.g. by scikit-learn's clone or joblib): the C++ engine
    # holds pointers into the arrays, so a copy gets an engine of its own.
    def __getstate__(self):
        state = self.__dict__.copy()
        del state["_engine"]
        return state

    def __setstate__(self, state):
        for name in ("layers", "dropout", "negative_slope"):  # pickled before they were properties
            if name in state:
                state["_" + name] = state.pop(name)
        state["_layers"] = tuple(state["_layers"])
        for layer in state["_layers"]:  # out-of-band pickle buffers (as Dask sends them) may
            layer._weight = _trainable(layer._weight)  # be read-only or unaligned
            if layer._bias is not None:
                layer._bias = _trainable(layer._bias)
        self.__dict__.update(state)
        for optimizer in state.get("_step_optimizers", {}).values():  # train_step's, by name
            if optimizer._params is not None:
                optimizer._moved_to(self.parameters())
        self._engine = self._make_engine()

    # ---- settings the engine was built with ------------------------------------------

    @property
    def layers(self) -> list[Dense]:
        """The layers (a tuple of Dense: their arrays are trained in place; the
        architecture is fixed, build a new MLP to change it)."""
        return self._layers

    @property
    def dropout(self) -> float:
        """Inverted dropout on hidden-layer outputs in [0, 1); settable (the next
        training step uses the new value)."""
        return self._dropout

    @dropout.setter
    def dropout(self, value: float) -> None:
        self._dropout = check_number(value, "dropout", 0.0, 1.0, open_max=True)
        self._engine = self._make_engine()

    @property
    def negative_slope(self) -> float:
        """leaky_relu's slope for negative inputs; settable."""
        return self._negative_slope

    @negative_slope.setter
    def negative_slope(self, value: float) -> None:
        self._negative_slope = check_slope(value, "negative_slope", self.dtype)
        self._engine = self._make_engine()

    # ---- introspection -------------------------------------------------------------

    @property
    def n_features(self) -> int:
        return self.layer_sizes[0]

    @property
    def n_outputs(self) -> int:
        return self.layer_sizes[-1]

    def parameters(self) -> list[Array]:
        """The parameter arrays, in the order weight0, bias0, weight1, ... (trained in place)."""
        params = []
        for layer in self.layers:
            params.append(layer.weight)
            if layer.bias is not None:
                params.append(layer.bias)
        return params

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this architecture (without weights)."""
        return {
            "layer_sizes": list(self.layer_sizes),
            "activation": list(self._activations[:-1]),
            "output_activation": self.output_activation,
            "bias": self.bias,
            "dropout": self.dropout,
            "dtype": str(self.dtype),
            "seed": self.seed,
            "negative_slope": self.negative_slope,
        }

    def __repr__(self):
        return (
            f"MLP(layer_sizes={list(self.layer_sizes)}, activation={self.activation!r}, "
            f"output_activation={self.output_activation!r}, dtype={str(self.dtype)!r})"
        )

    # ---- inference -------------------------------------------------------------------

    def predict(self, X: ArrayLike) -> Array:
        """The network output without dropout.

        X : array, shape (n_samples, n_features), or (n_features,) for one sample; or
            a scipy.sparse matrix or array (n_samples, n_features), which the first
            layer reads without densifying it (fastmlp.sparse).
        Returns an array of shape (n_samples, n_outputs) (or (n_outputs,)).
        """
        if _sparse.issparse(X):
            return self._engine.predict(self._sparse_X(X, "X", finite=False))
        X = as_float_array(X, "X", self.dtype, ndim=(1, 2), finite=False, contiguous=False)
        out = self._engine.predict(check_features(X, "X", self.n_features))
        return out[0] if X.ndim == 1 else out

    def evaluate(
        self,
        X: ArrayLike,
        y: ArrayLike,
        loss: str | _losses.Loss = "mse",
        sample_weight: ArrayLike | None = None,
    ) -> float:
        """The loss (with its reduction) of the network on (X, y), without dropout.

        sample_weight : array (n_samples,) of weights >= 0, optional; "mean" is then
            ``sum_i w_i l_i / sum_i w_i`` (see fastmlp.losses).
        """
        loss = _losses.get(loss)
        X, y, w = self._data(X, y, loss, "X", "y", sample_weight)
        total = self._engine.evaluate(X, y, loss.name, w)
        return total / loss.denominator(_weight(X, w), self.n_outputs)

    # ---- gradients and single steps --------------------------------------------------

    def loss_and_grads(
        self,
        X: ArrayLike,
        y: ArrayLike,
        loss: str | _losses.Loss = "mse",
        sample_weight: ArrayLike | None = None,
    ) -> tuple[float, Gradients]:
        """The loss on one batch and its gradients, without dropout or update.

        sample_weight : array (n_samples,) of weights >= 0, optional (fastmlp.losses
            says how they enter the loss).

        Returns ``(loss, [(grad_weight, grad_bias), ...])``, one pair per layer with
        the shapes of its weight and bias (grad_bias None without bias).
        """
        loss = _losses.get(loss)
        self._require_trainable()
        X, y, w = self._data(X, y, loss, "X", "y", sample_weight)
        value, grads = self._engine.loss_and_grads(X, y, loss.name, loss.reduction, w)
        return value, self._per_layer(grads)

    def train_step(
        self,
        X: ArrayLike,
        y: ArrayLike,
        loss: str | _losses.Loss = "mse",
        optimizer: str | _optim.Optimizer = "adam",
        sample_weight: ArrayLike | None = None,
    ) -> float:
        """One optimizer step on the batch (X, y) (forward with dropout, loss, backward,
        update), with optional per-sample weights (n_samples,). An optimizer given by
        name is created once and kept by the model for later train_step calls.
        Returns the batch loss as a float."""
        loss = _losses.get(loss)
        if isinstance(optimizer, str):  # created on first use only, then kept
            if optimizer not in self._step_optimizers:
                self._step_optimizers[optimizer] = _optim.get(optimizer)
            optimizer = self._step_optimizers[optimizer]
        optimizer = _optim.get(optimizer)
        self._require_trainable()
        X, y, w = self._data(X, y, loss, "X", "y", sample_weight)
        state = optimizer._bind(self.parameters())
        value, optimizer.steps = self._engine.train_step(
            X,
            y,
            loss.name,
            loss.reduction,
            optimizer._settings(),
            state,
            optimizer.steps,
            self.seed,
            _STEP_STREAM | self._steps_done,
            w,
        )
        self._steps_done += 1
        if not math.isfinite(value):
            raise FloatingPointError(f"train_step: the loss is {value}; the parameters were not updated")
        return value

    # ---- training --------------------------------------------------------------------

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        loss: str | _losses.Loss = "mse",
        optimizer: str | _optim.Optimizer = "adam",
        epochs: int = 10,
        batch_size: int = 32,
        shuffle: bool = True,
        validation_data: tuple[ArrayLike, ...] | None = None,
        early_stopping: int | EarlyStopping | None = None,
        verbose: bool = True,
        sample_weight: ArrayLike | None = None,
        comm: Any = None,
    ) -> dict[str, list[float]]:
        """Train on (X, y) in minibatches; each epoch runs in one C++ call.

        Parameters
        ----------
        X : array, shape (n_samples, n_features), or scipy.sparse (CSR read as it is,
            other formats converted to CSR once; see fastmlp.sparse)
        y : array, targets for ``loss``: shape (n_samples, n_outputs) or (n_samples,)
            for one output; integer labels (n_samples,) for cross_entropy.
        loss : str or fastmlp.losses.Loss
        optimizer : str or fastmlp.optim.Optimizer
            An instance keeps its state across fit calls; a name starts afresh.
        epochs : int
        batch_size : int (the last batch of an epoch may be smaller)
        shuffle : bool, reshuffle the rows every epoch (seeded by the model's seed).
        validation_data : (X_val, y_val) or (X_val, y_val, sample_weight_val),
            optional, evaluated after each epoch.
        early_stopping : int (patience) or fastmlp.EarlyStopping, optional.
        verbose : bool, show a progress bar with the running loss on sys.stderr
            (tqdm's if tqdm is installed; none if sys.stderr is None).
        sample_weight : array (n_samples,) of weights >= 0, optional
            Per-sample weights that travel with their rows through the shuffle. Each
            minibatch's loss is ``sum_i w_i l_i`` ("sum") or ``sum_i w_i l_i /
            sum_i w_i`` ("mean", as scikit-learn's MLP; see fastmlp.losses); integer
            weights train as repeated rows would in one batch. A minibatch whose
            weights are all zero holds no sample and is skipped (no update).
        comm : mpi4py.MPI.Comm, optional
            Data-parallel training: every rank of comm calls fit with the same model
            (same seed) and settings and its own shard of the rows (and of
            validation_data). Each step, the ranks' gradients are summed by one MPI
            all-reduce and every rank applies the same update, so the global batch is
            the ranks' minibatches together (batch_size rows each); an epoch runs as
            many steps as the largest shard has minibatches (a shard that ran out
            adds nothing). The history (training and validation loss over all ranks)
            and early stopping are the same on every rank; after every epoch the ranks
            check that their weights are equal. Bad or mismatched input on any rank,
            or an error or interrupt on one rank during an epoch, raises on every
            rank. Only rank 0 shows the progress bar. See fastmlp.distributed.

        Returns
        -------
        history : dict with lists ``loss`` (mean training loss of each epoch,
            weighted: sum_i w_i l_i over the epoch divided by the denominator of the
            epoch's total weight),
            ``val_loss`` (with validation_data) and ``seconds``, with comm also
            ``allreduce_seconds`` (this rank's time in the step all-reduces); also
            kept as ``history_``.

        Raises
        ------
        FloatingPointError
            If the loss stops being finite; the weights are those of the last epoch
            whose loss was finite.
        """
        parallel = None
        if comm is not None:
            from fastmlp.distributed._mpi import DataParallel

            parallel = DataParallel(comm)
        # Ctrl-C on one rank must stop every rank together (DataParallel.deferred_interrupts).
        with nullcontext() if parallel is None else parallel.deferred_interrupts():
            inputs = (X, y, sample_weight, validation_data)
            with (
                nullcontext([])
                if parallel is None
                else parallel.agreement(
                    "fit",
                    lambda: self._parallel_description(
                        inputs, loss, optimizer, epochs, batch_size, shuffle, stopper, X
                    ),
                ) as shard_rows
            ):
                loss = _losses.get(loss)
                optimizer = _optim.get(optimizer)
                epochs = check_int(epochs, "epochs", 0)
                batch_size = check_int(batch_size, "batch_size", 1, maximum=float("inf"))
                shuffle = check_bool(shuffle, "shuffle")
                stopper = EarlyStopping.from_arg(early_stopping)
                self._require_trainable()
                X, y, w = self._data(X, y, loss, "X", "y", sample_weight)
                validation = None
                if validation_data is not None:
                    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                        raise ValueError(
                            "validation_data must be a pair (X_val, y_val) or a triple "
                            "(X_val, y_val, sample_weight_val)"
                        )
                    Xv, yv, wv = (*validation_data, None)[:3]
                    validation = self._data(
                        Xv, yv, loss, "validation_data[0]", "validation_data[1]", wv, "validation_data[2]"
                    )
                    val_denominator = loss.denominator(_weight(validation[0], validation[2]), self.n_outputs)
            if parallel is not None:
                parallel.plan(shard_rows, batch_size)
                verbose = verbose and parallel.rank == 0

            params = self.parameters()
            state = optimizer._bind(params)
            # The last finite epoch's parameters and optimizer state, restored if the loss diverges.
            saved = [a.copy() for a in params + [s for slots in state for s in slots]]
            history = {"loss": [], "seconds": []}
            if validation is not None:
                history["val_loss"] = []
            if parallel is not None:
                history["allreduce_seconds"] = []
            if stopper is not None:
                stopper.start(params)
            bar = progress_bar(epochs) if verbose else None
            for epoch in range(1, epochs + 1):
                live = params + [s for slots in state for s in slots]
                for keep, a in zip(saved, live):
                    keep[...] = a
                saved_steps = optimizer.steps
                t0 = time.perf_counter()
                result = self._train_epoch(X, y, w, loss, optimizer, state, batch_size, shuffle, parallel)
                seconds = time.perf_counter() - t0
                if not result.finite:
                    for keep, a in zip(saved, live):
                        a[...] = keep
                    optimizer.steps = saved_steps
                    if bar is not None:
                        bar.close()
                    raise FloatingPointError(
                        f"fit: the loss became NaN or inf at epoch {epoch} (after {result.rows} of {len(X)} "
                        f"samples); the weights are those after epoch {epoch - 1}. Try a smaller "
                        f"learning rate or scaling the inputs."
                    )
                history["loss"].append(result.loss_sum / loss.denominator(result.weight, self.n_outputs))
                history["seconds"].append(seconds)
                shown = {"loss": history["loss"][-1]}
                if validation is not None:
                    Xv, yv, wv = validation
                    val_sum = self._engine.evaluate(Xv, yv, loss.name, wv)
                if parallel is not None:  # the validation loss of all shards; equal weights checked
                    history["allreduce_seconds"].append(result.allreduce_seconds)
                    global_val = parallel.after_epoch(
                        params, None if validation is None else (val_sum, _weight(Xv, wv))
                    )
                    if validation is not None:
                        val_sum, val_denominator = (
                            global_val[0],
                            loss.denominator(global_val[1], self.n_outputs),
                        )
                if validation is not None:
                    history["val_loss"].append(val_sum / val_denominator)
                    shown["val_loss"] = history["val_loss"][-1]
                if bar is not None:
                    bar.update(epoch, **shown, time=f"{seconds:.3g}s")
                monitored = history["val_loss" if validation is not None else "loss"][-1]
                if stopper is not None and stopper.should_stop(epoch, monitored, params):
                    break
            if stopper is not None:
                stopper.finish(params)
                history["best_epoch"] = stopper.best_epoch
            if bar is not None:
                bar.close()
            self.history_ = history
            return history

    def _train_epoch(self, X, y, sample_weight, loss, optimizer, state, batch_size, shuffle, parallel=None):
        """One epoch on data already checked by _data (fit's loop, and the scikit-learn
        estimators' own epoch loop): one C++ call, the optimizer's step count updated.
        With parallel (a fastmlp.distributed DataParallel), this rank's part of a
        data-parallel epoch.
        Returns a fastmlp._core.EpochResult (loss_sum, weight, rows, finite, batch_loss,
        batch_weight, batch_penalty).

        A Ctrl-C during the epoch stops it between two minibatches within milliseconds:
        the parameters and the optimizer are those after the last completed step, and
        the KeyboardInterrupt is raised here."""
        hooks = {}
        seed = self.seed
        if parallel is not None:
            hooks = {"allreduce": parallel.allreduce, "steps": parallel.steps}
            seed = parallel.seed(seed)
        result = self._engine.train_epoch(
            X,
            y,
            loss.name,
            loss.reduction,
            optimizer._settings(),
            state,
            optimizer.steps,
            min(batch_size, len(X)),
            shuffle,
            seed,
            self._epochs_done,
            sample_weight,
            **hooks,
        )
        optimizer.steps = result.step
        self._epochs_done += 1
        if result.interruption is not None:
            raise result.interruption
        if result.peer_stopped:
            raise RuntimeError(
                f"fit: another rank stopped epoch {self._epochs_done} (it raised an "
                f"error or was interrupted, and reports it); the weights are those "
                f"after the last completed step, the same on every rank"
            )
        return result

    # ---- persistence and interoperability ---------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write architecture and weights to a safetensors file (``fastmlp.load`` reads it).

        Atomic: a temporary file next to the file it replaces, renamed over it once
        written (readers never see a partial file). Through a symlink, its target is
        replaced. A new file gets the mode the umask allows, an existing one keeps its
        mode.
        """
        tensors = {name: getattr(self.layers[i], kind) for (i, kind), name in state_dict_names(self).items()}
        _safetensors.write(
            path, tensors, {"format": FILE_FORMAT, "fastmlp_config": json.dumps(self.get_config())}
        )

    def to_onnx(self, path: str | os.PathLike) -> None:
        """Write the network to `path` as an ONNX graph (opset 17), for onnxruntime and
        other runtimes; needs ``pip install 'fastmlp[onnx]'``.

        One Gemm per layer (weights and biases as initializers) and the activations,
        softmax included, in the model's dtype, as ``fastmlp.onnx`` describes.

        - input ``"input"``: (batch, n_features), the model's dtype; batch is dynamic.
        - output ``"output"``: (batch, n_outputs), what ``predict`` returns.

        Written atomically, as ``save``: a failure leaves no partial file.
        """
        from fastmlp.onnx import export_model

        export_model(self, path)

    def to_torch(self) -> Any:
        """An equivalent torch.nn.Sequential (Linear, activation, [Dropout], ...)."""
        from fastmlp._torch import to_torch

        return to_torch(self)

    @classmethod
    def from_torch(cls, module: Any, dtype: DTypeLike | None = None, seed: int | None = None) -> MLP:
        """An MLP with the architecture and weights of a torch.nn.Sequential of Linear
        and activation modules (Dropout modules set ``dropout``)."""
        from fastmlp._torch import from_torch

        return from_torch(cls, module, dtype=dtype, seed=seed)

    # ---- helpers -------------------------------------------------------------------

    def _data(self, X, y, loss, x_name, y_name, sample_weight=None, w_name="sample_weight"):
        if _sparse.issparse(X):
            X = self._sparse_X(X, x_name)
        else:
            X = as_float_array(X, x_name, self.dtype, ndim=(1, 2))
            X = check_features(X, x_name, self.n_features)
        if len(X) == 0:
            raise ValueError(f"{x_name} is empty (0 samples)")
        y = loss.prepare_target(y, len(X), self.n_outputs, self.dtype, y_name)
        return X, y, check_sample_weight(sample_weight, len(X), self.dtype, w_name)

    def _sparse_X(self, X, name, finite=True):
        """Sparse X as the engine reads it: a CsrMatrix of the model's dtype."""
        X = _sparse.as_csr(X, name, self.dtype, finite=finite)
        if X.shape[1] != self.n_features:
            raise ValueError(
                f"{name} has shape {X.shape} but the model takes {self.n_features} "
                f"features (expected (n_samples, {self.n_features}))"
            )
        return X

    def _parallel_description(self, inputs, loss, optimizer, epochs, batch_size, shuffle, stopper, X):
        """What must be the same on every rank of a data-parallel fit (compared by
        fastmlp.distributed), and this rank's number of rows."""
        from fastmlp.distributed._mpi import describe_array, params_crc

        X_raw, y_raw, w_raw, validation = inputs
        same = {
            "the model (get_config())": self.get_config(),
            "the initial weights (CRC-32; build the model with the same seed)": params_crc(self.parameters()),
            "X (dtype, row shape)": describe_array(X_raw),
            "y (dtype, row shape)": describe_array(y_raw),
            "sample_weight given": w_raw is not None,
            "validation_data given": validation is not None,
            "loss": repr(loss),
            "optimizer": repr(optimizer),
            "epochs": epochs,
            "batch_size": batch_size,
            "shuffle": shuffle,
            "early_stopping": None
            if stopper is None
            else (stopper.patience, stopper.min_delta, stopper.restore_best_weights),
        }
        return same, len(X)

    def _per_layer(self, grads):
        if self.bias:
            return [(grads[2 * i], grads[2 * i + 1]) for i in range(len(self.layers))]
        return [(g, None) for g in grads]

    def _require_trainable(self):
        if "step" in self._activations:
            raise ValueError(
                "activation 'step' has no gradient: a network with step layers "
                "can predict but not be trained by backpropagation"
            )


def _trainable(a):
    """a, or a copy of it that the engine can train in place (writeable, C-contiguous,
    on a cache line). An array that needs no copy is kept even off a cache line: an
    optimizer pickled with the model holds it, and must find it again."""
    if a.flags.aligned and a.flags.writeable and a.flags.c_contiguous:
        return a
    return aligned_copy(a)


def _weight(X, sample_weight):
    """The weight of the rows of X: their number, or the sum of their weights."""
    if sample_weight is None:
        return float(len(X))
    return math.fsum(sample_weight.tolist())


def _is_dtype(dtype):
    try:
        return np.dtype(dtype) in (np.float32, np.float64)
    except TypeError:
        return False


def _weight_initializer(init):
    if callable(init):
        return init
    if isinstance(init, str) and init in _init.INITIALIZERS:
        return _init.INITIALIZERS[init]
    raise ValueError(
        f"unknown init {init!r} (expected a callable f(weight, rng) or one of: "
        f"{', '.join(_init.INITIALIZERS)})"
    )

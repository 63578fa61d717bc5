"""Data-parallel training over MPI: what MLP.fit(..., comm=...) does on each rank.

Every rank holds a shard of the rows and the same model. Each step, the engine
computes the unreduced gradient of the rank's minibatch and hands one contiguous
buffer (the gradients, then the batch's loss sum, weight and a stop flag) to a single
``comm.Allreduce``; every rank then divides by the global batch's denominator and
applies the same update. Python is only called back for that all-reduce; without a
communicator the engine's step loop has no hook at all.
"""

import functools
import math
import signal
import threading
import zlib
from contextlib import contextmanager

import numpy as np

from fastmlp import _core

# Mixes the rank into the seed of its shuffles and dropout masks (rank 0 keeps the
# model's seed: a fit on one rank shuffles and drops as a fit without comm does).
_RANK_SEED_STRIDE = 0x9E3779B97F4A7C15


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:  # pragma: no cover - the extra is missing
        raise ImportError("fit(comm=...) needs mpi4py: pip install 'fastmlp[mpi]'") from e
    return MPI


class DataParallel:
    """The ranks of an MPI communicator fitting one model on their shards.

    Parameters
    ----------
    comm : mpi4py.MPI.Comm
        Every rank of it calls fit with the same model (same seed), settings and
        kinds of data, and its own rows.
    """

    def __init__(self, comm):
        MPI = _mpi()
        if not isinstance(comm, MPI.Comm):
            raise TypeError(f"comm must be an mpi4py.MPI.Comm, got {type(comm).__name__}")
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.steps = 0  # per epoch, set by plan(): the largest shard's minibatches
        # The engine's per-step hook: sums a buffer in place (op defaults to MPI.SUM). C
        # code only (no Python frame), so that no signal handler can raise in between.
        self.allreduce = functools.partial(comm.Allreduce, MPI.IN_PLACE)
        self.interrupted = False  # a Ctrl-C deferred to the next collective (deferred_interrupts)

    # ---- Ctrl-C ------------------------------------------------------------------------

    @contextmanager
    def deferred_interrupts(self):
        """Ctrl-C on one rank must stop every rank at the same point, not leave the
        others waiting in a collective that rank skipped. For the block (a fit), SIGINT
        raises only inside the engine's poll between two minibatches, which stops every
        rank at the same step through the step all-reduce; anywhere else it is deferred
        to the next collective of agreement or after_epoch, where every rank stops (this
        one with KeyboardInterrupt, the others with a RuntimeError); one that comes after
        the last collective is raised when the block ends. Only the main thread can
        install a handler; elsewhere the block runs as it is."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.getsignal(signal.SIGINT)

        def handler(signum, frame):
            if _core._in_signal_poll() and callable(previous):
                previous(signum, frame)  # Python's default raises KeyboardInterrupt
            else:
                self.interrupted = True

        signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
        if self.interrupted:
            self.interrupted = False
            raise KeyboardInterrupt

    def _raise_if_interrupted(self, flags, what):
        """After a collective that gathered every rank's interrupted flag."""
        if self.interrupted:
            self.interrupted = False
            raise KeyboardInterrupt
        if any(flags):
            r = flags.index(True)
            raise RuntimeError(f"{what}: rank {r} of {self.size} was interrupted (Ctrl-C); every rank stops")

    # ---- agreeing before collective steps ---------------------------------------------

    @contextmanager
    def agreement(self, what, describe=None):
        """Runs the block on every rank; then every rank learns whether any rank raised,
        and all of them raise (the failing rank its own error, the others a RuntimeError
        naming it), so that no rank is left waiting in a collective call.

        describe : callable () -> (dict, object), optional
            Called after the block: what must be the same on every rank (a mismatch
            raises a ValueError on every rank naming the field and the ranks' values),
            and what each rank tells the others (the ``as`` target, a list filled with
            every rank's, in rank order).
        """
        own = []
        error, mine = None, (None, None)
        try:
            yield own
            if describe is not None:
                mine = describe()
        except Exception as e:  # noqa: BLE001 - re-raised below, on this rank and the others
            error = e
        gathered = self.comm.allgather(
            (None if error is None else f"{type(error).__name__}: {error}", mine, self.interrupted)
        )
        if error is not None:
            raise error
        self._raise_if_interrupted([i for _, _, i in gathered], what)
        failed = [(r, msg) for r, (msg, _, _) in enumerate(gathered) if msg is not None]
        if failed:
            r, msg = failed[0]
            raise RuntimeError(f"{what}: rank {r} of {self.size} failed ({msg}); every rank stops")
        if describe is not None:
            _require_same(what, [same for _, (same, _), _ in gathered])
            own.extend(o for _, (_, o), _ in gathered)

    def plan(self, rows, batch_size):
        """Sets the epoch's step count from the ranks' row counts (gathered by agreement)."""
        self.steps = len(self.global_batch_rows(rows, batch_size))

    @staticmethod
    def global_batch_rows(rows, batch_size):
        """Rows of each step's global batch, for shards of ``rows`` rows (in rank order)
        that each take ``batch_size`` rows a step (all of a smaller shard's)."""
        per_step = np.array([min(batch_size, n) for n in rows])
        steps = max(math.ceil(n / b) for n, b in zip(rows, per_step))
        done = np.arange(steps)[:, None] * per_step
        return np.clip(np.array(rows) - done, 0, per_step).sum(axis=1)

    def same_as_rank_0(self, obj):
        """Rank 0's obj on every rank (a broadcast)."""
        return self.comm.bcast(obj, root=0)

    def concatenated(self, arrays):
        """Every rank's ``arrays`` (a tuple of arrays with the same rows; None stands for
        weights of 1) joined in rank order: the same list on every rank."""
        every = self.comm.allgather(arrays)
        rows = [len(a[0]) for a in every]
        joined = []
        for i in range(len(arrays)):
            parts = [a[i] for a in every]
            if all(p is None for p in parts):
                joined.append(None)
            else:
                joined.append(np.concatenate([np.ones(n) if p is None else p for p, n in zip(parts, rows)]))
        return joined

    # ---- the engine's hooks ----------------------------------------------------------

    def seed(self, seed):
        """The seed of this rank's shuffles and dropout masks."""
        return (seed + self.rank * _RANK_SEED_STRIDE) % 2**64

    # ---- after each epoch ------------------------------------------------------------

    def after_epoch(self, params, validation_sums=None):
        """Checks that every rank holds the same weights, and sums the ranks' validation
        (loss sum, weight), in rank order, so that every rank gets the same numbers.
        Returns the global (loss sum, weight), or None without validation."""
        every = self.comm.allgather((params_crc(params), validation_sums, self.interrupted))
        self._raise_if_interrupted([i for _, _, i in every], "fit")
        crcs = [c for c, _, _ in every]
        if len(set(crcs)) != 1:
            raise RuntimeError(
                f"fit: the ranks' weights differ after an epoch (CRC-32 per rank: "
                f"{crcs}); the MPI all-reduce did not give every rank the same sum"
            )
        if validation_sums is None:
            return None
        return (math.fsum(v[0] for _, v, _ in every), math.fsum(v[1] for _, v, _ in every))


def _require_same(what, descriptions):
    for key in descriptions[0]:
        values = [d[key] for d in descriptions]
        if any(v != values[0] for v in values[1:]):
            shown = ", ".join(f"rank {r}: {v!r}" for r, v in enumerate(values))
            raise ValueError(f"{what}: {key} must be the same on every rank ({shown})")


def describe_array(a):
    """What an input must share across ranks: its dtype and the shape of a row."""
    if a is None:
        return None
    a = a if hasattr(a, "dtype") and hasattr(a, "shape") else np.asarray(a)
    return (str(a.dtype), tuple(a.shape[1:]))


def params_crc(params):
    """A checksum of the parameter arrays' bytes (equal on ranks that hold equal weights)."""
    crc = 0
    for a in params:
        crc = zlib.crc32(np.ascontiguousarray(a).view(np.uint8), crc)
    return crc

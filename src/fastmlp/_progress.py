"""fit's progress bar: tqdm's when tqdm is installed, else a one-line bar of our own;
none when there is no stream to write to (sys.stderr is None under pythonw and some
services)."""

import sys
import time


def progress_bar(total, file=None):
    """A bar over `total` epochs with ``update(done, **values)`` and ``close()``, or
    None if there is nowhere to show it."""
    file = file if file is not None else sys.stderr
    if file is None:
        return None
    try:
        import tqdm
    except ImportError:
        return ProgressBar(total, file)
    return TqdmBar(tqdm.tqdm(total=total, desc="Epoch", unit="epoch", file=file, leave=True))


class TqdmBar:
    """tqdm's bar behind ProgressBar's interface."""

    def __init__(self, bar):
        self._bar = bar

    def update(self, done, **values):
        self._bar.set_postfix(values, refresh=False)
        self._bar.update(done - self._bar.n)

    def close(self):
        self._bar.close()


class ProgressBar:
    """``Epoch 3/10 [=====>      ] loss 0.1234 val_loss 0.1300 0.05s/epoch``.

    Redraws in place on a terminal (at most every 0.1 s, and always at the end); in a
    log file it writes one line per redraw at most every 2 s, so logs stay short.
    """

    def __init__(self, total, file, width=24):
        self.total = total
        self.file = file
        self.width = width
        isatty = getattr(file, "isatty", None)
        self.tty = bool(isatty and isatty())
        self._interval = 0.1 if self.tty else 2.0
        self._last = float("-inf")

    def update(self, done, **values):
        now = time.perf_counter()
        if done < self.total and now - self._last < self._interval:
            return
        self._last = now
        filled = self.width * done // max(self.total, 1)
        bar = "=" * filled + (">" if filled < self.width else "") + " " * (self.width - filled - 1)
        text = " ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in values.items())
        line = f"Epoch {done}/{self.total} [{bar}] {text}"
        self._write(("\r" + line + "\x1b[K") if self.tty else line + "\n")

    def close(self):
        if self.tty:
            self._write("\n")

    def _write(self, text):
        self.file.write(text)
        flush = getattr(self.file, "flush", None)
        if flush is not None:
            flush()

"""A one-line progress bar for fit (no tqdm dependency)."""
import sys
import time


class ProgressBar:
    """``Epoch 3/10 [=====>      ] loss 0.1234 val_loss 0.1300 0.05s/epoch``.

    Redraws in place on a terminal (at most every 0.1 s, and always at the end); in a
    log file it writes one line per redraw at most every 2 s, so logs stay short.
    """

    def __init__(self, total, file=None, width=24):
        self.total = total
        self.file = file if file is not None else sys.stderr
        self.width = width
        self.tty = hasattr(self.file, "isatty") and self.file.isatty()
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
        self.file.write(("\r" + line + "\x1b[K") if self.tty else line + "\n")
        self.file.flush()

    def close(self):
        if self.tty:
            self.file.write("\n")
            self.file.flush()

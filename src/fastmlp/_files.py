"""Writing a file atomically, for every format fastmlp writes (safetensors, ONNX)."""

import os
import stat
import tempfile

__all__ = ["atomic_write"]


def atomic_write(path, chunks):
    """Write the bytes-like `chunks`, in order, to `path` atomically.

    The data go to a temporary file in the directory of the file they replace, which is
    flushed to disk and then renamed over it, so readers never see a partial file and a
    failure (raised by the OS or while producing a chunk) leaves the old file, or none.
    Through a symlink, the link's target is replaced and the link kept. A new file gets
    the mode the umask allows (0o666 & ~umask), an existing one keeps its mode.
    """
    target = os.path.realpath(os.fspath(path))
    directory = os.path.dirname(target)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=".fastmlp-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            for chunk in chunks:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise


def _umask():
    """The process's umask, read without changing it where Linux says it (setting and
    restoring it would race with files other threads create meanwhile)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask

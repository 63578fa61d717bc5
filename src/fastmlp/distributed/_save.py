"""Saving a model trained by every rank of a data-parallel fit, once."""

from fastmlp.distributed._mpi import DataParallel


def save(model, path, comm, root=0):
    """Write ``model`` to ``path`` (as ``model.save``) from rank ``root`` only.

    Collective: every rank of comm calls it, and returns once the file is written;
    if writing fails on root, every rank raises (root its own error).
    """
    group = DataParallel(comm)
    with group.agreement(f"save({path!r})"):
        if group.rank == root:
            model.save(path)

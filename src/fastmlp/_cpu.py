"""What fastmlp runs on: the CPU, its caches, the kernels and blocking picked for it."""

import platform
from typing import Any

from fastmlp import _core


def _cpu_name(desc):
    """'AMD EPYC 7B13 (family 25 model 1)': brand names like 'AMD EPYC' hide the generation."""
    brand = desc["brand"] or platform.processor() or platform.machine()
    if desc["vendor"]:
        return f"{brand} (family {desc['family']} model {desc['model']})"
    return brand


def cpu_info() -> dict[str, Any]:
    """Describe the machine and the kernels in use.

    Returns
    -------
    dict with keys
        ``cpu``: the CPU's brand string with its family and model, e.g.
        ``"AMD EPYC (family 25 model 17)"``;
        ``vendor``, ``family``, ``model``, ``stepping``: from CPUID (empty and 0 off x86);
        ``isa``: the micro-kernel set in use (``generic``, ``avx2`` or ``avx512``;
        the best one the CPU supports unless ``FASTMLP_ISA`` forces another);
        ``available_isas``: every set this CPU can run;
        ``num_threads``: the threads kernels may use (see ``set_num_threads``);
        ``caches``: ``{"l1d", "l2", "l3"}``, each ``{"size", "ways", "line", "shared_by"}``
        in bytes (size 0: absent), the caches the GEMM's blocking is derived from;
        ``cache_source``: where they were read (``cpuid``, ``sysfs``, ``sysconf`` or
        ``default``, with ``+FASTMLP_CACHES`` when that variable overrides some);
        ``blocking``: ``{"float32", "float64"}``, each the packed path's register tile
        ``mr`` x ``nr`` and cache blocks ``mc``, ``kc``, ``nc`` in use, ``small_kn``
        (row-major products whose B has at most this many elements are computed without
        packing) and that path's tile ``small_mr`` x ``small_nr`` (its last columns take a
        tile as many vectors of ``lanes`` elements wide as they need), with their
        ``source`` (``model``, or ``FASTMLP_BLOCKING``).
    """
    desc = dict(_core._cpu_description())
    desc["cpu"] = _cpu_name(desc)
    return desc


def format_caches(info):
    """'L1d 32 KiB/8-way, L2 1 MiB/8-way, L3 32 MiB/16-way (cpuid)' from cpu_info()."""
    parts = []
    for name, key in (("L1d", "l1d"), ("L2", "l2"), ("L3", "l3")):
        level = info["caches"][key]
        if not level["size"]:
            parts.append(f"no {name}")
            continue
        size = _format_bytes(level["size"])
        ways = f"/{level['ways']}-way" if level["ways"] else ""
        shared = f" shared by {level['shared_by']}" if level["shared_by"] > 1 else ""
        parts.append(f"{name} {size}{ways}{shared}")
    return ", ".join(parts) + f" ({info['cache_source']})"


def format_blocking(info):
    """'float32 12x32 mc 2040 kc 160 nc 800 unpacked 12x32 kn<=131072, float64 ...' from
    cpu_info() (or a results file's copy of it, which before the small path had a tile
    of its own gave only small_kn, and before that neither)."""
    parts = []
    for dtype, b in info["blocking"].items():
        unpacked = ""
        if "small_kn" in b:
            tile = f" {b['small_mr']}x{b['small_nr']}" if "small_mr" in b else ""
            unpacked = f" unpacked{tile} kn<={b['small_kn']}"
        parts.append(f"{dtype} {b['mr']}x{b['nr']} mc {b['mc']} kc {b['kc']} nc {b['nc']}{unpacked}")
    source = next(iter(info["blocking"].values()))["source"]
    return ", ".join(parts) + f" ({'cache model' if source == 'model' else source})"


def _format_bytes(n):
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} B"

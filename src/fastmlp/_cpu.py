"""What fastmlp runs on: the CPU, the micro-kernel set picked for it, the threads."""
import platform

from fastmlp import _core


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_info():
    """Describe the machine and the kernels in use.

    Returns
    -------
    dict with keys
        ``cpu``: the CPU model name;
        ``isa``: the micro-kernel set in use (``generic``, ``avx2`` or ``avx512``;
        the best one the CPU supports unless ``FASTMLP_ISA`` forces another);
        ``available_isas``: every set this CPU can run;
        ``num_threads``: the threads kernels may use (see ``set_num_threads``).
    """
    info = dict(_core._isa_info())
    info["cpu"] = _cpu_model()
    return info

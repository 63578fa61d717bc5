"""fastmlp's benchmark suite: every kernel and workload against NumPy and PyTorch.

``python -m fastmlp.bench`` (or ``fastmlp-bench``) runs it; it needs the ``bench`` extra
(``pip install "fastmlp[bench]"``). The cases are defined once, in ``cases``; the
repository's ``bench/run.py`` and its pytest-benchmark files use the same modules.
"""

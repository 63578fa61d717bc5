"""``python -m fastmlp.bench``: the benchmark runner (``fastmlp-bench --help``)."""

import sys

from fastmlp.bench.run import main

sys.exit(main())

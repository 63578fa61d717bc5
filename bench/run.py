"""The benchmark runner, from a source checkout: the packaged ``fastmlp.bench`` runner
(``python -m fastmlp.bench``, ``fastmlp-bench``) writing its results to bench/results/.

    python bench/run.py --help
"""

import os
import sys

from fastmlp.bench.run import main

if __name__ == "__main__":
    sys.exit(main(results_dir=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")))

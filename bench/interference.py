"""The interference measurement (fastmlp.bench.interference), from a source checkout,
writing bench/results/interference.json.

    python bench/interference.py --help
"""

import os
import sys

from fastmlp.bench.interference import main

if __name__ == "__main__":
    sys.exit(main(results_dir=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")))

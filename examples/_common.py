"""What every example shares: the --out/--quick command line and a headless plot."""

import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed: examples save their plots to files


def parse_args(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--out",
        default=str(Path(__file__).parent / "output"),
        help="directory for the plot (default: examples/output/)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a few epochs only (the test suite runs every example this way)"
    )
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    return args


def save(fig, args, name):
    path = Path(args.out) / name
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    print(f"plot saved to {path}")
    return path

"""The README's Python examples run as written (on small generated data)."""

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def data():
    """What the README's snippets assume the reader has: features and labels."""
    rng = np.random.default_rng(0)
    X, y = rng.random((300, 784), dtype=np.float32), rng.integers(0, 10, 300)
    return dict(
        X_train=X,
        y_train=y,
        X=X,
        y=y,
        X_test=X[:5],
        X_val=rng.random((60, 784), dtype=np.float32),
        y_val=rng.integers(0, 10, 60),
    )


def test_readme_has_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the model example saves a file
    code = BLOCKS[index].replace("epochs=20", "epochs=2").replace("max_iter=200", "max_iter=5")
    exec(compile(code, f"README.md example {index}", "exec"), data())

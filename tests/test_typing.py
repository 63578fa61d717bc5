"""The public API is typed (py.typed and hints, fastmlp/_core.pyi for the kernels): mypy
--strict accepts a user's script and reports the type errors of a wrong one."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import fastmlp

GOOD = """
    import numpy as np
    import numpy.typing as npt
    import fastmlp
    from fastmlp import init, losses, optim

    X = np.random.rand(64, 8).astype(np.float32)
    y = np.random.rand(64, 1).astype(np.float32)
    model = fastmlp.MLP([8, 16, 1], activation="tanh", seed=0)
    history = model.fit(X, y, loss=losses.MSELoss(), optimizer=optim.Adam(lr=1e-2), epochs=2,
                        early_stopping=fastmlp.EarlyStopping(patience=2), verbose=False)
    curve: list[float] = history["loss"]
    pred: npt.NDArray[np.float32] = model.predict(X)
    layer: fastmlp.Dense = model.layers[0]
    z = fastmlp.linear(X, layer.weight, layer.bias, activation="relu")
    gx, gw, gb = fastmlp.linear_backward(np.ones_like(z), X, layer.weight, z, activation="relu")
    p = fastmlp.activation("softmax", fastmlp.matmul(X, X.T))
    init.xavier_uniform(layer.weight, rng=0)
    n: int = model.n_features + fastmlp.get_num_threads()
    isa: str = fastmlp.cpu_info()["isa"]
    loss, grads = fastmlp.load("model.safetensors").loss_and_grads(X, y)
    total: float = loss + model.train_step(X, y, optimizer=optim.SGD(lr=0.1, momentum=0.9))
"""

BAD = """
    import fastmlp
    model = fastmlp.MLP([8, 16, 1])
    width: str = model.n_features
    model.predict([[1.0] * 8]).no_such_attribute
    fastmlp.set_num_threads("two")
"""


def mypy(tmp_path, name, code):
    path = tmp_path / name
    path.write_text(textwrap.dedent(code))
    env = dict(os.environ)
    root = Path(fastmlp.__file__).parent.parent
    if root.name != "site-packages":  # an editable install: mypy cannot follow its import hook
        env["MYPYPATH"] = str(root)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(path),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )


def test_package_ships_its_type_information():
    package = Path(fastmlp.__file__).parent
    assert (package / "py.typed").is_file() and (package / "_core.pyi").is_file()


def test_mypy_strict_accepts_a_script_using_the_public_api(tmp_path):
    done = mypy(tmp_path, "good.py", GOOD)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_reports_the_type_errors_of_a_wrong_script(tmp_path):
    out = mypy(tmp_path, "bad.py", BAD).stdout
    assert (
        'incompatible types in assignment (expression has type "int", variable has type "str")' in out.lower()
    )
    assert 'has no attribute "no_such_attribute"' in out
    assert 'argument 1 to "set_num_threads" has incompatible type "str"; expected "int"' in out.lower()
    assert "Found 3 errors" in out, out

"""Data-parallel fits under a real mpiexec (the mpich wheel's), 2 and 3 ranks: each
scenario of _mpi_scenarios.py runs on every rank, which prints ok when its checks pass.
A timeout turns a hang (a rank left waiting in a collective call) into a failure."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mpi4py")  # fastmlp[mpi]; in the test extra, so CI always runs these

SCENARIOS = Path(__file__).with_name("_mpi_scenarios.py")
ESTIMATOR_SCENARIOS = Path(__file__).with_name("_mpi_estimator_scenarios.py")
MPIEXEC = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")


def run(ranks, *args, timeout=120, module=False):
    command = (
        [MPIEXEC, "-n", str(ranks), sys.executable]
        + (["-m", "mpi4py"] if module else [])
        + [str(a) for a in args]
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


def scenario(ranks, name, *args, script=SCENARIOS):
    proc = run(ranks, script, name, *args)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for r in range(ranks):
        assert f"rank {r} of {ranks}: ok" in proc.stdout, proc.stdout
    return proc.stdout


@pytest.mark.parametrize("ranks", [2, 3])
@pytest.mark.parametrize(
    "name",
    [
        "follows_one_process",
        "reproducible",
        "bad_input",
        "diverging_rank",
        "interrupted_rank",
        "interrupted_between_epochs",
    ],
)
def test_scenario(ranks, name):
    scenario(ranks, name)


@pytest.mark.parametrize("ranks", [2, 3])
@pytest.mark.parametrize(
    "name",
    [
        "estimator_follows_one_process",
        "estimator_lbfgs",
        "estimator_early_stopping",
        "estimator_bad_input",
        "estimator_interrupted",
        "estimator_lbfgs_interrupted",
    ],
)
def test_estimator_scenario(ranks, name):
    scenario(ranks, name, script=ESTIMATOR_SCENARIOS)


def test_one_rank_follows_fit_without_comm():
    scenario(1, "one_rank")


def test_follows_fit_of_the_global_batch():
    scenario(2, "follows_fit")


@pytest.mark.parametrize("ranks", [2, 3])
def test_validation_early_stopping_and_save(ranks, tmp_path):
    scenario(ranks, "validation_and_early_stopping", tmp_path)
    assert (tmp_path / "model.safetensors").exists()


def test_bad_input_messages_name_the_rank():
    out = scenario(2, "bad_input")
    assert "rank 1 of 2 failed (ValueError" in out  # what rank 0 said of rank 1's 5 features
    assert "float64" in out and "float32" in out  # both ranks' dtypes, on every rank


def test_a_rank_raising_outside_fit_ends_every_rank(tmp_path):
    """Under python -m mpi4py (as the README launches), an uncaught exception on one rank
    aborts the job, instead of leaving the others waiting in fit's first collective."""
    script = tmp_path / "raises.py"
    script.write_text(
        "from mpi4py import MPI\nimport numpy as np, fastmlp\n"
        "comm = MPI.COMM_WORLD\n"
        "if comm.rank == 1:\n    raise OSError('rank 1 cannot read its shard')\n"
        "X = np.zeros((10, 2), np.float32)\n"
        "fastmlp.MLP([2, 1], seed=0).fit(X, X[:, :1], comm=comm, verbose=False)\n"
    )
    proc = run(2, script, module=True, timeout=60)
    assert proc.returncode != 0
    assert "rank 1 cannot read its shard" in proc.stderr

"""MLP.save treats the file system as other tools do: new files follow the umask, an
existing file keeps its mode, a symlink keeps pointing at its (replaced) target; and
fit's progress bar copes with a missing sys.stderr."""

import io
import os
import stat
import sys

import numpy as np
import pytest

import fastmlp
from fastmlp._progress import ProgressBar, progress_bar


@pytest.fixture
def model():
    return fastmlp.MLP([3, 4, 2], seed=0)


@pytest.fixture
def umask():
    """Set the umask for the test; restore it after."""
    saved = os.umask(0o022)
    os.umask(saved)
    yield os.umask
    os.umask(saved)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize(
    "mask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)], ids=["umask022", "umask077", "umask002"]
)
def test_new_file_follows_the_umask(tmp_path, model, umask, mask, mode):
    umask(mask)
    model.save(tmp_path / "m.safetensors")
    assert _mode(tmp_path / "m.safetensors") == mode


def test_existing_file_keeps_its_mode(tmp_path, model, umask):
    umask(0o077)
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    model.save(path)
    assert _mode(path) == 0o640
    assert fastmlp.load(path).get_config() == model.get_config()


def test_save_through_a_symlink_replaces_its_target(tmp_path, model):
    (tmp_path / "store").mkdir()
    (tmp_path / "links").mkdir()
    target = tmp_path / "store" / "m.safetensors"
    link = tmp_path / "links" / "current.safetensors"
    fastmlp.MLP([3, 4, 2], seed=1).save(target)
    link.symlink_to(target)
    model.save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    np.testing.assert_array_equal(fastmlp.load(target).layers[0].weight, model.layers[0].weight)
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["m.safetensors"]
    assert sorted(p.name for p in (tmp_path / "links").iterdir()) == ["current.safetensors"]


def test_save_through_a_dangling_symlink_creates_its_target(tmp_path, model):
    target = tmp_path / "m.safetensors"
    link = tmp_path / "link.safetensors"
    link.symlink_to(target)
    model.save(link)
    assert link.is_symlink() and target.is_file()


@pytest.mark.parametrize("tqdm", [True, False], ids=["tqdm", "own_bar"])
def test_fit_verbose_without_stderr(monkeypatch, tqdm):
    if not tqdm:
        monkeypatch.setitem(sys.modules, "tqdm", None)  # as if it were not installed
    monkeypatch.setattr(sys, "stderr", None)
    X = np.random.default_rng(0).standard_normal((50, 3))
    history = fastmlp.MLP([3, 2], dtype="float64", seed=0).fit(X, X[:, :2], epochs=2, verbose=True)
    assert len(history["loss"]) == 2


def test_own_bar_on_a_stream_without_isatty_or_flush():
    class Sink:
        def __init__(self):
            self.text = ""

        def write(self, s):
            self.text += s

    sink = Sink()
    bar = ProgressBar(3, sink)
    bar.update(3, loss=0.5)
    bar.close()
    assert "Epoch 3/3" in sink.text and "loss 0.5" in sink.text


def test_tqdm_bar_is_used_when_installed():
    pytest.importorskip("tqdm")
    stream = io.StringIO()
    bar = progress_bar(2, stream)
    bar.update(2, loss=0.25)
    bar.close()
    assert "2/2" in stream.getvalue() and "loss=0.25" in stream.getvalue()

"""Atomic writes keep the user's umask (mkstemp alone would leave every result owner-only)."""

import os
import stat
import numpy as np
import pytest

from sensing import run_sweep, save_dataset
from sensing._files import atomic_write
from sensing.plotting import ieee_figure, save_figure, write_csv


def _task(point, rngs):
    return {"v": float(rngs.noise.standard_normal())}


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield 0o644
    os.umask(old)


def _mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


def test_written_files_follow_umask(tmp_path, umask_022):
    write_csv(tmp_path / "t.csv", {"a": np.arange(3.0)})
    fig, ax = ieee_figure()
    ax.plot([0, 1])
    save_figure(fig, tmp_path / "f")
    run_sweep(_task, [{"p": 1}], n_trials=1, seed=0, results_path=tmp_path / "r.jsonl", executor="serial",
              progress=False)
    atomic_write(tmp_path / "raw.bin", lambda t: open(t, "wb").write(b"x"))
    for name in ("t.csv", "f.pdf", "f.png", "r.jsonl", "raw.bin"):
        assert _mode(tmp_path / name) == umask_022, name
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_dataset_file_follows_umask(tmp_path, umask_022):
    from channels import Paths

    p = Paths.from_arrays(np.array([1.0 + 0j]), np.array([1e-7]))
    save_dataset(tmp_path / "paths.h5", p)
    assert _mode(tmp_path / "paths.h5") == umask_022


def test_failed_write_leaves_nothing(tmp_path):
    def boom(tmp):
        open(tmp, "w").write("partial")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "out.txt", boom)
    assert list(tmp_path.iterdir()) == []

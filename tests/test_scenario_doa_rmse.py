"""The doa-rmse scenario: one command gives figures, CSV and HDF5; resume; bad input."""

import csv
import json

import h5py
import numpy as np
import pytest

from scenarios._cli import main
from scenarios.doa_rmse import DoaConfig, trial
from sensing import trial_rngs

ARGS = ["--quick", "--trials", "2", "--snr-db", "10,30", "--snapshots", "20", "--separations-deg", "8",
        "--no-progress"]


def test_trial_is_deterministic_and_accurate_at_high_snr():
    cfg = DoaConfig(grid_points=181)
    point = {"sweep": "snr", "snr_db": 40.0, "n_snapshots": 50, "separation_deg": 0.0}
    a = trial(point, trial_rngs(3, 0, 0), config=cfg)
    b = trial(point, trial_rngs(3, 0, 0), config=cfg)
    assert a.keys() == b.keys()
    np.testing.assert_array_equal([a[k] for k in sorted(a)], [b[k] for k in sorted(b)])   # NaN-aware
    for name in cfg.estimators:
        assert np.sqrt(a[f"{name}_se"]) < np.radians(0.05), name
    assert 0 < a["crb_det"] < np.radians(0.05) ** 2
    res = trial({"sweep": "resolution", "snr_db": 30.0, "n_snapshots": 50, "separation_deg": 10.0},
                trial_rngs(3, 0, 1), config=cfg)
    assert all(res[f"{n}_resolved"] is True for n in cfg.estimators)
    assert np.isnan(res["crb_det"])


def test_command_writes_figures_csv_hdf5_and_resumes(tmp_path, capsys):
    out = tmp_path / "doa"
    assert main(["run", "doa-rmse", "--out", str(out), *ARGS]) == 0
    for stem in ("rmse_vs_snr", "rmse_vs_snapshots", "resolution"):
        assert (out / f"{stem}.pdf").stat().st_size > 0 and (out / f"{stem}.png").stat().st_size > 0
        assert (out / f"{stem}.csv").exists()
    with open(out / "rmse_vs_snr.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [float(r["snr_db"]) for r in rows] == [10.0, 30.0]
    assert {"rmse_deg_music", "rmse_deg_root_music", "rmse_deg_esprit", "rmse_deg_unitary_esprit",
            "rmse_deg_omp", "rmse_deg_capon", "crb_sto_deg", "crb_det_deg"} <= set(rows[0])
    hi = rows[1]
    assert float(hi["rmse_deg_root_music"]) < 5 * float(hi["crb_sto_deg"])
    with h5py.File(out / "results.h5") as f:
        assert "snr_db" in f and "example_snapshots" in f
    lines = (out / "results.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["n_trials"] == 2 and len(lines) == 1 + 4 * 2
    # a second run refuses to overwrite, --resume computes nothing new
    assert main(["run", "doa-rmse", "--out", str(out), *ARGS]) == 2
    assert "resume" in capsys.readouterr().err
    assert main(["run", "doa-rmse", "--out", str(out), "--resume", *ARGS]) == 0
    assert (out / "results.jsonl").read_text().splitlines() == lines


@pytest.mark.parametrize("extra, match", [
    (["--estimators", "music,bogus"], "estimators"),
    (["--snapshots", "1"], "snapshots"),
    (["--separations-deg", "0"], "separations"),
    (["--separations-deg", "nan"], "separations"),
    (["--snr-db", "1e6"], "snr-db"),
])
def test_bad_arguments_exit_2(tmp_path, capsys, extra, match):
    assert main(["run", "doa-rmse", "--out", str(tmp_path / "x"), *ARGS, *extra]) == 2
    assert match in capsys.readouterr().err


def test_out_below_a_file_exits_2(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert main(["run", "doa-rmse", "--out", str(tmp_path / "afile" / "sub"), *ARGS]) == 2
    err = capsys.readouterr().err
    assert "afile" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1

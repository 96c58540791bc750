"""The site-csi scenario end to end (--quick), resume, outputs and bad options."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from channels import Paths
from scenarios._cli import main
from scenarios.site_csi import LosoRecord, SiteCsiConfig, SiteDataset, generate_site, quick_config
from sensing import load_dataset


def _read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return rows


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("site_csi")
    assert main(["run", "site-csi", "--quick", "--out", str(out), "--no-progress", "--seed", "3"]) == 0
    return out


def test_quick_run_outputs(quick_run, capsys):
    out = quick_run
    cfg = quick_config()
    for stem in ("capture_vs_budget", "capture_per_site", "capture_cdf", "se_vs_snr"):
        assert (out / f"{stem}.pdf").stat().st_size > 0 and (out / f"{stem}.png").exists()
        assert (out / f"{stem}.csv").exists()
    rows = _read_csv(out / "capture_vs_budget.csv")
    assert [int(r["budget"]) for r in rows] == list(cfg.budgets)
    for r in rows:
        assert float(r["ideal"]) == pytest.approx(1.0)
        for k in ("sifo", "per-site", "type2", "type1"):
            assert 0.0 < float(r[k]) <= 1.0 + 1e-9
    over = {r["scheme"]: r for r in _read_csv(out / "overhead.csv")}
    assert int(over["sifo"]["csi_rs_ports"]) == 8 and int(over["type2"]["csi_rs_ports"]) == 32
    # site datasets carry the ground truth and load back
    ds = load_dataset(out / "datasets" / "plaza.h5", SiteDataset, classes=(SiteCsiConfig, Paths))
    assert ds.csi.shape == (cfg.n_users, 32, cfg.n_subbands)
    assert ds.fingerprints.shape == (cfg.n_users, 8) and ds.paths.gains.shape[0] == cfg.n_users
    np.testing.assert_array_equal(ds.fingerprints.max(axis=1), 0.0)
    rec = load_dataset(out / "loso" / "plaza.h5", LosoRecord)
    assert rec.target == "plaza" and np.intersect1d(rec.test_users, rec.calibration_pool).size == 0
    assert rec.capture["sifo"].shape == (len(cfg.budgets), cfg.n_test)


def test_dataset_generation_is_deterministic():
    cfg = quick_config()
    a = generate_site(cfg, "suburb", rng=1)
    b = generate_site(cfg, "suburb", rng=1)
    np.testing.assert_array_equal(a.csi, b.csi)
    np.testing.assert_array_equal(a.fingerprints, b.fingerprints)


def test_resume_reproduces(quick_run, tmp_path):
    before = _read_csv(quick_run / "capture_vs_budget.csv")
    assert main(["run", "site-csi", "--quick", "--out", str(quick_run), "--no-progress", "--seed", "3",
                 "--resume"]) == 0
    assert _read_csv(quick_run / "capture_vs_budget.csv") == before


def test_rerun_without_resume_refuses_and_keeps_results(quick_run, capsys):
    before = (quick_run / "results.jsonl").read_bytes()
    assert main(["run", "site-csi", "--quick", "--out", str(quick_run), "--no-progress", "--seed", "3"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert (quick_run / "results.jsonl").read_bytes() == before


@pytest.mark.parametrize("opt,msg", [(["--beams", "0"], "n_beams"), (["--budgets", "abc"], "--budgets")])
def test_bad_options_rejected_before_any_work(tmp_path, capsys, opt, msg):
    assert main(["run", "site-csi", "--quick", "--out", str(tmp_path), "--no-progress"] + opt) == 2
    assert msg in capsys.readouterr().err
    assert not (tmp_path / "datasets").exists() or not any((tmp_path / "datasets").iterdir())


def test_bad_options(tmp_path, capsys):
    assert main(["run", "site-csi", "--quick", "--out", str(tmp_path), "--sites", "plaza,atlantis"]) == 2
    assert "atlantis" in capsys.readouterr().err
    assert main(["run", "site-csi", "--quick", "--out", str(tmp_path), "--budgets", "10,500"]) == 2
    assert "budgets" in capsys.readouterr().err
    assert main(["run", "site-csi", "--quick", "--out", str(tmp_path), "--sites", "plaza"]) == 2
    with pytest.raises(ValueError, match="se_budget"):
        SiteCsiConfig(budgets=(10, 20), se_budget=30)

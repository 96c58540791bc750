"""The `plain` scenario (scenarios/plain_figure.py) through the `subsense` command."""

from __future__ import annotations

import csv

import numpy as np

from scenarios._cli import main


def read_csv(path):
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {k: [r[k] for r in rows] for k in rows[0]}


def test_plain_is_registered(capsys):
    assert main(["list"]) == 0
    assert any(line.startswith("plain\t") for line in capsys.readouterr().out.splitlines())


def test_plain_quick_run_writes_figure_tables_and_dataset(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["run", "plain", "--quick", "--trials", "1", "--snr-db", "0,10", "--comparison-snr-db", "10",
               "--out", str(out), "--no-progress"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "run time per call" in text and "compression comparison" in text
    for name in ("results.jsonl", "rmse.csv", "rmse.pdf", "rmse.png", "runtime.csv", "compression.csv",
                 "dataset.h5"):
        assert (out / name).exists(), name
    rm = read_csv(out / "rmse.csv")
    assert [float(s) for s in rm["snr_db"]] == [0.0, 10.0]
    for n in ("plain", "sequential", "joint"):
        assert float(rm[f"{n}_success_rate"][1]) == 1.0
        assert float(rm[f"{n}_wrong_count_rate"][1]) == 0.0
    # PLAIN at 10 dB: within a small factor of the joint CRB in every dimension (as in arXiv:2503.21242's figures)
    for k in ("az", "dist", "vel"):
        ratio = float(rm[f"plain_rmse_{k}"][1]) / float(rm[f"crb_joint_{k}"][1])
        assert 0.2 < ratio < 5.0, (k, ratio)
        # the sorted-by-angle (reference) metric equals the assignment here (well-separated angles)
        np.testing.assert_allclose(float(rm[f"plain_sorted_rmse_{k}"][1]), float(rm[f"plain_rmse_{k}"][1]),
                                   rtol=1e-9)
    rt = read_csv(out / "runtime.csv")
    assert rt["method"][0].startswith("PLAIN") and float(rt["speedup_of_plain"][2]) > 1.0
    comp = read_csv(out / "compression.csv")
    assert comp["compression"] == ["decimation", "averaging"]
    # decimation discards 55/56 of the energy: worse than averaging at the same SNR
    assert float(comp["rmse_dist_m"][0]) > float(comp["rmse_dist_m"][1])


def test_plain_bad_options(tmp_path, capsys):
    rc = main(["run", "plain", "--quick", "--methods", "plain,music", "--out", str(tmp_path), "--no-progress"])
    assert rc == 2
    assert "`--methods` must name some of plain, sequential, joint" in capsys.readouterr().err
    rc = main(["run", "plain", "--quick", "--compressions", "wavelets", "--out", str(tmp_path), "--no-progress"])
    assert rc == 2

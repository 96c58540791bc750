"""The `subsense` command-line contract: every failure is one line on stderr and exit
status 2 (never a traceback), a broken stdout pipe exits quietly, `--config FILE.toml` maps onto
each scenario's frozen configuration and is written back as `config.toml`, `--version`."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import pytest

import scenarios
import sensing
from scenarios import _kit
from scenarios._cli import EXIT_BROKEN_PIPE, main

ROOT = Path(scenarios.__file__).parent.parent
SCENARIOS = ["isac-ofdm", "plain", "doa-rmse", "uplink-isac", "site-csi"]
# the smallest doa-rmse sweep: 3 points x 1 trial, one fast estimator (about a second)
DOA_TINY = ["--quick", "--trials", "1", "--snr-db", "10", "--snapshots", "20", "--separations-deg", "8",
            "--estimators", "esprit", "--no-progress"]


def _fails(argv, capsys, *needles, rc=2):
    """Run ``subsense argv`` in-process: exit status ``rc``, one line on stderr containing every
    needle, no traceback. Returns the line."""
    assert main(argv) == rc
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


# --------------------------------------------------------------------------------------------
# --scheduler
# --------------------------------------------------------------------------------------------

def test_unreachable_scheduler_fails_fast(tmp_path):
    """Through the installed entry point: one line naming the address, well before dask's 30 s."""
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "scenarios", "run", "doa-rmse", *DOA_TINY, "--scheduler",
                        "tcp://127.0.0.1:1", "--out", str(tmp_path / "x")], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    elapsed = time.perf_counter() - t0
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert "`--scheduler` tcp://127.0.0.1:1" in lines[0] and "5 s" in lines[0]
    assert elapsed < _kit.CONNECT_TIMEOUT_S + 15
    assert not (tmp_path / "x").exists()


def test_silent_server_is_not_a_scheduler(tmp_path, capsys, monkeypatch):
    """A port that accepts connections but never speaks dask's protocol (a dask client alone
    would wait there for ever) fails within the connect timeout."""
    monkeypatch.setattr(_kit, "CONNECT_TIMEOUT_S", 0.5)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    accepted = []
    stop = threading.Event()

    def serve():
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(srv.accept()[0])
            except OSError:
                pass

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    try:
        t0 = time.perf_counter()
        line = _fails(["run", "doa-rmse", *DOA_TINY, "--scheduler", f"tcp://127.0.0.1:{port}",
                       "--out", str(tmp_path / "x")], capsys, f"tcp://127.0.0.1:{port}", "no dask scheduler")
        assert time.perf_counter() - t0 < 10, line
    finally:
        stop.set()
        th.join()
        for c in accepted:
            c.close()
        srv.close()
    assert not (tmp_path / "x").exists()


def test_scheduler_local_without_distributed(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)      # `import distributed` now fails
    _fails(["run", "doa-rmse", *DOA_TINY, "--scheduler", "local", "--out", str(tmp_path / "x")], capsys,
           "`--scheduler local`", 'pip install "subspace-sensing[distributed]"')
    assert not (tmp_path / "x").exists()


# --------------------------------------------------------------------------------------------
# stdout closed by its reader
# --------------------------------------------------------------------------------------------

def test_list_into_a_closed_pipe_is_quiet():
    """`subsense list | head -1`: the reader has gone; no traceback, nothing on stderr."""
    r, w = os.pipe()
    os.close(r)                                                  # every write now hits EPIPE
    try:
        p = subprocess.run([sys.executable, "-m", "scenarios", "list"], cwd=ROOT, stdout=w,
                           stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(w)
    assert p.returncode == EXIT_BROKEN_PIPE == 141
    assert p.stderr == ""


def test_list_into_head():
    p = subprocess.run(f"{sys.executable} -m scenarios list | head -1", shell=True, cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert p.stdout.count("\n") == 1 and p.stdout.split("\t")[0] in SCENARIOS
    assert p.stderr == ""


# --------------------------------------------------------------------------------------------
# --out, validated once for every scenario
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", SCENARIOS)
def test_out_is_an_existing_file(name, tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("keep")
    _fails(["run", name, "--quick", "--out", str(f)], capsys, "`--out`", str(f), "existing file")
    assert f.read_text() == "keep"


@pytest.mark.parametrize("name", ["isac-ofdm", "site-csi"])
def test_out_below_a_file(name, tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("keep")
    line = _fails(["run", name, "--quick", "--out", str(f / "sub")], capsys, "`--out`", "is a file")
    assert "Errno" not in line


# --------------------------------------------------------------------------------------------
# lists: an empty item is an error
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", SCENARIOS)
def test_snr_list_with_an_empty_item(name, tmp_path, capsys):
    _fails(["run", name, "--quick", "--snr-db", "0,,10", "--out", str(tmp_path / "x")], capsys,
           "`--snr-db`", "'0,,10'", "empty item", "start:stop:step")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("name, flag, value", [
    ("doa-rmse", "--snapshots", "10,,100"),
    ("doa-rmse", "--separations-deg", "2,"),
    ("uplink-isac", "--pilots", "1,,2"),
    ("site-csi", "--budgets", "10,,40"),
    ("isac-ofdm", "--estimators", "fft,,plain"),
    ("plain", "--compressions", "averaging,,none"),
    ("plain", "--comparison-snr-db", ",10"),
])
def test_other_lists_with_an_empty_item(name, flag, value, tmp_path, capsys):
    _fails(["run", name, "--quick", flag, value, "--out", str(tmp_path / "x")], capsys,
           f"`{flag}`", repr(value), "empty item")


# --------------------------------------------------------------------------------------------
# messages name the flag the user typed
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, argv, flag", [
    ("uplink-isac", ["--n-users", "0"], "`--n-users` (n_users)"),
    ("site-csi", ["--users", "10"], "`--users` (n_users)"),
    ("site-csi", ["--beams", "0"], "`--beams` (n_beams)"),
    ("doa-rmse", ["--n-elements", "2"], "`--n-elements` (n_elements)"),
    ("uplink-isac", ["--max-outer", "0"], "`--max-outer` (max_outer)"),
])
def test_config_errors_name_the_flag(name, argv, flag, tmp_path, capsys):
    _fails(["run", name, "--quick", *argv, "--out", str(tmp_path / "x")], capsys, flag)


# --------------------------------------------------------------------------------------------
# --config FILE.toml
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, needles", [
    ("n_elements = 6\nmagic = 1\nalso = 2\n", ["unknown keys magic, also for DoaConfig",
                                                "valid keys: n_elements, azimuths_deg"]),
    ("n_elements = 6.5\n", ["`n_elements` must be an integer", "got 6.5 (a float)"]),
    ('n_elements = "six"\n', ["`n_elements` must be an integer", 'got "six" (a string)']),
    ("snapshot_snr_db = true\n", ["`snapshot_snr_db` must be a number", "got true (a boolean)"]),
    ("estimators = \"music\"\n", ["`estimators` must be an array", "(a string)"]),
    ("n_elements = [\n", ["is not valid TOML"]),
    ("n_elements = 2\n", ["`n_elements` (from c.toml) must be an integer >= 3"]),
])
def test_bad_config_file(text, needles, tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    _fails(["run", "doa-rmse", *DOA_TINY, "--config", str(cfg), "--out", str(tmp_path / "x")], capsys, *needles)
    assert not (tmp_path / "x").exists()


def test_missing_config_file(tmp_path, capsys):
    _fails(["run", "isac-ofdm", "--quick", "--config", str(tmp_path / "none.toml"), "--out", str(tmp_path / "x")],
           capsys, "`--config`", "none.toml", "does not exist")


def test_config_round_trip_doa(tmp_path, capsys):
    """File values reach the run, an explicit flag beats the file, and config.toml reads back as
    the effective configuration."""
    from scenarios.doa_rmse import DoaConfig

    cfg = tmp_path / "doa.toml"
    cfg.write_text("n_elements = 6\nazimuths_deg = [-20, 25.5]\nn_snapshots = 40\nresolution_snr_db = 20\n")
    out = tmp_path / "run"
    assert main(["run", "doa-rmse", *DOA_TINY, "--config", str(cfg), "--n-elements", "7", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "ULA M=7, sources at (-20, 25.5) deg" in text and "(N = 40)" in text
    want = DoaConfig(n_elements=7, azimuths_deg=(-20, 25.5), n_snapshots=40, resolution_snr_db=20.0,
                     grid_points=601, estimators=("esprit",))
    written = tomllib.loads((out / "config.toml").read_text())
    assert written["n_elements"] == 7 and written["estimators"] == ["esprit"]
    assert dataclasses.replace(DoaConfig(), **_kit.read_config_file(out / "config.toml", DoaConfig)) == want


def test_config_round_trip_isac_reproduces_the_run(tmp_path, capsys):
    """Other antennas and targets without Python; rerunning with the written config.toml gives the
    same records."""
    import json

    from scenarios.isac_ofdm import IsacConfig, default_config

    cfg = tmp_path / "isac.toml"
    cfg.write_text("n_antennas = 8\nn_targets = 2\ndistance_range_m = [30, 120]\nmodulation = \"16qam\"\n")
    base = ["--quick", "--trials", "1", "--snr-db", "20", "--estimators", "fft", "--no-progress"]
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["run", "isac-ofdm", *base, "--config", str(cfg), "--out", str(a)]) == 0
    assert "8 antennas" in capsys.readouterr().out
    want = dataclasses.replace(default_config(), n_antennas=8, n_targets=2, distance_range_m=(30.0, 120.0),
                               modulation="16qam")
    got = dataclasses.replace(IsacConfig(), **_kit.read_config_file(a / "config.toml", IsacConfig))
    assert got == want
    assert main(["run", "isac-ofdm", *base, "--config", str(a / "config.toml"), "--out", str(b)]) == 0
    capsys.readouterr()

    def records(d):
        return [{k: v for k, v in json.loads(s).items() if not k.endswith("time_s")}
                for s in (d / "results.jsonl").read_text().splitlines()[1:]]

    assert records(a) == records(b)
    assert json.loads((a / "results.jsonl").read_text().splitlines()[0])["fingerprint"] == \
        json.loads((b / "results.jsonl").read_text().splitlines()[0])["fingerprint"]


# --------------------------------------------------------------------------------------------
# --resume with other settings
# --------------------------------------------------------------------------------------------

def test_refused_resume_names_what_differs(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "doa-rmse", *DOA_TINY, "--out", str(out)]) == 0
    capsys.readouterr()
    before = {p.name: p.read_bytes() for p in (out / "results.jsonl", out / "config.toml")}
    line = _fails(["run", "doa-rmse", *DOA_TINY, "--out", str(out), "--resume", "--n-elements", "8", "--seed", "4"],
                  capsys, "`--resume`", "`--n-elements` (n_elements) 10 → 8", "`--seed` 0 → 4")
    assert "fingerprint" not in line and "{" not in line
    line = _fails(["run", "doa-rmse", *DOA_TINY, "--out", str(out), "--resume", "--snr-db", "10,20"], capsys,
                  "`--snr-db` (snr_db) values [10.0, 0.0] → [10.0, 20.0, 0.0]")
    assert {p.name: p.read_bytes() for p in (out / "results.jsonl", out / "config.toml")} == before
    assert main(["run", "doa-rmse", *DOA_TINY, "--out", str(out), "--resume"]) == 0     # same settings: fine


# --------------------------------------------------------------------------------------------
# other failures, --version
# --------------------------------------------------------------------------------------------

def test_unexpected_error_is_one_line_exit_1(tmp_path, capsys, monkeypatch):
    from scenarios import doa_rmse

    def broken(args):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(doa_rmse, "run", broken)
    _fails(["run", "doa-rmse", "--quick", "--out", str(tmp_path / "x")], capsys,
           "internal error: RuntimeError: boom second line", "SUBSENSE_TRACEBACK=1", rc=1)


def test_version(capsys):
    with pytest.raises(SystemExit) as ex:
        main(["--version"])
    assert ex.value.code == 0
    assert capsys.readouterr().out == f"subsense {sensing.__version__}\n"
    p = subprocess.run([sys.executable, "-m", "scenarios", "--version"], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0 and p.stdout == f"subsense {sensing.__version__}\n" and p.stderr == ""

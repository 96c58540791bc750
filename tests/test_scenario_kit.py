"""The scenario kit (scenarios._kit) and the structure of the scenario programs."""

from __future__ import annotations

import argparse
import ast
import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import scenarios
from scenarios import _kit
from scenarios._cli import main
from sensing import SPEED_OF_LIGHT

PKG = Path(scenarios.__file__).parent
ROOT = PKG.parent


# --------------------------------------------------------------------------------------------
# list parsers
# --------------------------------------------------------------------------------------------

def test_parse_numbers_good_input():
    assert _kit.parse_numbers("1, 2,4", "--n", cast=int, low=1) == [1, 2, 4]
    with pytest.raises(ValueError, match=r"`--x` has an empty item in '0.5,,3'"):   # a typo, not fewer points
        _kit.parse_numbers("0.5,,3", "--x")
    assert _kit.parse_numbers("2", "--x", low=0.0, high=170.0, low_inclusive=False, high_inclusive=False) == [2.0]
    assert all(isinstance(v, int) for v in _kit.parse_numbers("10,300", "--n", cast=int))


@pytest.mark.parametrize("text, kw, received", [
    ("1", dict(cast=int, low=2), "1"),
    ("3,9", dict(cast=int, low=1, high=7), "9"),
    ("0", dict(low=0.0, high=170.0, low_inclusive=False, high_inclusive=False), "0.0"),
    ("nan", dict(low=0.0, high=170.0, low_inclusive=False, high_inclusive=False), "nan"),
    ("inf", dict(), "inf"),
    ("2,abc", dict(cast=int, low=1), "'abc'"),
    ("1.5", dict(cast=int), "'1.5'"),
    (",", dict(cast=int, low=1), "','"),
    ("", dict(), "''"),
])
def test_parse_numbers_errors_name_flag_range_and_value(text, kw, received):
    with pytest.raises(ValueError) as err:
        _kit.parse_numbers(text, "--my-flag", **kw)
    msg = str(err.value)
    assert "`--my-flag`" in msg and received in msg
    lo, hi = kw.get("low"), kw.get("high")
    left = "[" if lo is not None and kw.get("low_inclusive", True) else "("
    right = "]" if hi is not None and kw.get("high_inclusive", True) else ")"
    interval = f"{left}{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}{right}"
    assert interval in msg, msg
    assert "\n" not in msg


def test_parse_numbers_reason_is_stated():
    with pytest.raises(ValueError, match=r"`--pilots` values must be integers in \[1, 5\] \(some data symbols "
                                         r"must remain\); got 6"):
        _kit.parse_numbers("1,6", "--pilots", cast=int, low=1, high=5, why="some data symbols must remain")


def test_parse_names():
    allowed = ("fft", "esprit3d", "plain")
    assert _kit.parse_names(None, "--estimators", allowed) == allowed
    assert _kit.parse_names(None, "--methods", allowed, default=("plain",)) == ("plain",)
    assert _kit.parse_names(" plain , fft", "--estimators", allowed) == ("plain", "fft")
    assert _kit.parse_names("", "--compressions", allowed, allow_empty=True) == ()
    with pytest.raises(ValueError) as err:
        _kit.parse_names("plain,magic", "--estimators", allowed)
    msg = str(err.value)
    assert msg.startswith("`--estimators` must name some of fft, esprit3d, plain; got 'plain,magic'")
    assert "unknown: magic" in msg
    with pytest.raises(ValueError, match="`--estimators` must name some of"):
        _kit.parse_names(" , ", "--estimators", allowed)


# --------------------------------------------------------------------------------------------
# the one --snr-db range
# --------------------------------------------------------------------------------------------

def test_snr_range_check():
    lo, hi = _kit.SNR_DB_RANGE
    assert _kit.check_snr_db([lo, 0, hi]) == [lo, 0.0, hi]
    for bad in (hi + 1, lo - 1, math.nan, math.inf):
        with pytest.raises(ValueError) as err:
            _kit.check_snr_db([0.0, bad])
        msg = str(err.value)
        assert "`--snr-db`" in msg and f"[{lo:g}, {hi:g}]" in msg and f"{bad:g}" in msg
    with pytest.raises(ValueError, match="--comparison-snr-db"):
        _kit.check_snr_db([500.0], "--comparison-snr-db")


def test_snr_list_applies_the_range():
    assert _kit.parse_snr_list("-100:100:100") == [-100.0, 0.0, 100.0]
    for bad in ("101", "-20:150:10", "0:1e9:1", "0:100:1e-6"):
        with pytest.raises(ValueError, match="snr-db"):
            _kit.parse_snr_list(bad)
    with pytest.raises(ValueError, match="`--comparison-snr-db`"):
        _kit.parse_snr_list("a", "--comparison-snr-db")


@pytest.mark.parametrize("name", ["isac-ofdm", "plain", "doa-rmse", "uplink-isac", "site-csi"])
def test_every_scenario_shares_the_snr_range(name, tmp_path, capsys):
    assert main(["run", name, "--quick", "--snr-db", "0,150", "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "`--snr-db`" in err and "[-100, 100]" in err and "150" in err
    assert not (tmp_path / "x").exists()


# --------------------------------------------------------------------------------------------
# sweep glue
# --------------------------------------------------------------------------------------------

def _args(**kw):
    base = dict(out=None, seed=0, trials=None, snr_db=None, quick=True, resume=False, backend="numpy", workers=1,
                scheduler=None, no_progress=True)
    base.update(kw)
    return argparse.Namespace(**base)


def test_executor_options():
    assert _kit.executor_options(_args()) == {"executor": "serial", "workers": 1, "scheduler": None}
    assert _kit.executor_options(_args(workers=3))["executor"] == "processes"
    assert _kit.executor_options(_args(scheduler="local")) == {"executor": "dask", "workers": 1, "scheduler": None}
    assert _kit.executor_options(_args(scheduler="tcp://h:1"))["scheduler"] == "tcp://h:1"


def test_output_dir_and_fingerprint(tmp_path, monkeypatch):
    assert _kit.output_dir(_args(out=tmp_path / "a" / "b"), "x") == tmp_path / "a" / "b"
    assert (tmp_path / "a" / "b").is_dir()
    monkeypatch.chdir(tmp_path)
    assert _kit.output_dir(_args(), "doa-rmse") == Path("runs") / "doa-rmse"
    # the format resumable results files were written with
    cfg = {"b": 1, "a": (1, 2)}
    assert _kit.fingerprint(scenario="s", config=cfg, methods=("m",)) == json.dumps(
        {"scenario": "s", "config": cfg, "methods": ("m",)}, sort_keys=True, default=str)


def test_resolution_cells_one_definition():
    from scenarios import plain_figure
    from scenarios.isac_ofdm import default_config, plain_preset, resolution_cells

    assert plain_figure.resolution_cells is resolution_cells
    cfg = plain_preset()                      # one-way: path length
    num = cfg.numerology()
    expected = [1.0 / (cfg.n_antennas * cfg.spacing_wavelengths), SPEED_OF_LIGHT / num.bandwidth_hz,
                SPEED_OF_LIGHT / (cfg.carrier_hz * num.observation_time_s)]
    np.testing.assert_array_equal(resolution_cells(cfg), expected)
    mono = default_config()                   # monostatic: range, half the path length
    num = mono.numerology()
    np.testing.assert_allclose(resolution_cells(mono)[1:], [SPEED_OF_LIGHT / (2 * num.bandwidth_hz),
                                                            SPEED_OF_LIGHT / (2 * mono.carrier_hz
                                                                              * num.observation_time_s)])


# --------------------------------------------------------------------------------------------
# module structure: no import loop, no registration by import, public names only
# --------------------------------------------------------------------------------------------

ISAC_MODULES = ("scenarios.isac_ofdm", "scenarios._isac_sweep", "scenarios._isac_adapters")


@pytest.mark.parametrize("order", list(itertools.permutations(ISAC_MODULES)))
def test_isac_modules_import_in_any_order(order):
    code = ("import importlib, sys\n"
            f"for m in {list(order)!r}:\n"
            "    importlib.import_module(m)\n"
            "from scenarios import _isac_adapters, _isac_sweep\n"
            "assert _isac_sweep.ADAPTERS is _isac_adapters.ADAPTERS\n"
            "assert list(_isac_adapters.ADAPTERS) == ['fft', 'esprit3d', 'plain', 'plain_refined'], list(_isac_adapters.ADAPTERS)\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)


def test_scenario_module_imports_no_program():
    code = ("import sys, scenarios.isac_ofdm, scenarios.uplink_isac\n"
            "loaded = sorted(m for m in sys.modules if m.startswith('scenarios.'))\n"
            "print(loaded)\n"
            "assert not any(m.endswith(('_sweep', '_isac_adapters', '_cli')) for m in loaded), loaded\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)


def test_adapter_table_is_complete_without_the_sweep():
    code = ("import sys\nfrom scenarios._isac_adapters import ADAPTERS\n"
            "assert list(ADAPTERS) == ['fft', 'esprit3d', 'plain', 'plain_refined']\n"
            "assert 'scenarios._isac_sweep' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)


def _imports(path: Path):
    """Every import in a module (top level and inside functions) as absolute module names."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = "scenarios" + (f".{node.module}" if node.module else "")
                if node.module:
                    yield base
                else:
                    for a in node.names:
                        yield f"scenarios.{a.name}"
            else:
                yield node.module
                for a in node.names:
                    yield f"{node.module}.{a.name}"


def test_scenario_import_graph_is_acyclic_even_inside_functions():
    modules = {f"scenarios.{p.stem}": p for p in PKG.glob("*.py") if p.stem not in ("__init__", "__main__")}
    graph = {m: {i for i in _imports(p) if i in modules and i != m} for m, p in modules.items()}
    state: dict[str, int] = {}

    def visit(m, stack):
        state[m] = 1
        for n in graph[m]:
            assert state.get(n) != 1, f"import cycle: {' -> '.join(stack + [m, n])}"
            if n not in state:
                visit(n, stack + [m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])
    assert not graph["scenarios.isac_ofdm"] - {"scenarios._kit"}
    assert "scenarios._isac_sweep" not in graph["scenarios._isac_adapters"]


def test_scenarios_use_public_names_only_and_guard_no_imports():
    for p in PKG.glob("*.py"):
        for name in _imports(p):
            top, _, rest = (name or "").partition(".")
            if top in ("sensing", "channels", "estimators"):
                assert not any(part.startswith("_") for part in rest.split(".") if part), (p.name, name)
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                names = {n.id for n in ast.walk(node.type) if isinstance(n, ast.Name)}
                assert not names & {"ImportError", "ModuleNotFoundError"}, (p.name, node.lineno)


# --------------------------------------------------------------------------------------------
# a missing estimator is an error, not a dropped row
# --------------------------------------------------------------------------------------------

def test_require_estimators():
    _kit.require_estimators("x", {"fft": ("ofdm_radar",)})
    with pytest.raises(_kit.MissingEstimatorError) as err:
        _kit.require_estimators("isac-ofdm", {"fft": ("ofdm_radar",), "magic": ("no_such_estimator",)})
    assert isinstance(err.value, ImportError)
    assert "'magic'" in str(err.value) and "estimators.no_such_estimator" in str(err.value)
    assert "'fft'" not in str(err.value)


@pytest.mark.parametrize("scenario, missing, row", [
    ("isac-ofdm", "joint_esprit_estimator", "esprit3d"),
    ("isac-ofdm", "crb_harmonic", "CRB"),
    ("doa-rmse", "capon", "capon"),
    ("plain", "sequential_estimator", "sequential"),
    ("uplink-isac", "location_omp", "omp"),
])
def test_missing_estimator_stops_the_run(scenario, missing, row, monkeypatch, tmp_path, capsys):
    import estimators

    monkeypatch.delattr(estimators, missing)
    out = tmp_path / "run"
    assert main(["run", scenario, "--quick", "--out", str(out), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"estimators.{missing}" in err and repr(row) in err
    assert not (out / "results.jsonl").exists()


# --------------------------------------------------------------------------------------------
# --config TOML: writer and reader agree on every scenario configuration
# --------------------------------------------------------------------------------------------

def _configs():
    from scenarios.doa_rmse import DoaConfig
    from scenarios.isac_ofdm import IsacConfig, default_config, plain_preset
    from scenarios.site_csi import SiteCsiConfig, quick_config
    from scenarios.uplink_isac import UplinkConfig

    return [(IsacConfig, default_config()), (IsacConfig, plain_preset()), (DoaConfig, DoaConfig()),
            (SiteCsiConfig, SiteCsiConfig()), (SiteCsiConfig, quick_config()), (UplinkConfig, UplinkConfig())]


@pytest.mark.parametrize("cls, cfg", _configs(), ids=lambda c: getattr(c, "__name__", ""))
def test_config_toml_round_trip(cls, cfg, tmp_path):
    import dataclasses
    import tomllib

    path = _kit.write_config(tmp_path / "config.toml", cfg, header=["a header line"])
    text = path.read_text()
    assert text.startswith("# a header line\n")
    tomllib.loads(text)                                   # valid TOML
    back = dataclasses.replace(cls(), **_kit.read_config_file(path, cls))
    assert back == cfg
    assert list(tmp_path.iterdir()) == [path]             # no temporary file left behind


def test_toml_values():
    import tomllib

    for v in (0, -3, 1.5, 1e-9, 2.8e10, -0.0, float("inf"), True, "", 'a "q" \\ \t\n\x7f é', (), ((1, 2.0), ("x",))):
        got = tomllib.loads(f"k = {_kit._toml_value(v)}")["k"]
        assert _kit._freeze(got) == v and type(_kit._freeze(got)) is type(v), (v, got)
    assert math.isnan(tomllib.loads(f"k = {_kit._toml_value(float('nan'))}")["k"])


def test_config_file_types(tmp_path):
    from scenarios.isac_ofdm import IsacConfig

    p = tmp_path / "c.toml"
    p.write_text("n_antennas = 8\ncarrier_hz = 28000000000\nfft_size = 128\nazimuth_range_rad = [-1, 1]\n"
                 "distances_m = [10, 20.5]\n")
    got = _kit.read_config_file(p, IsacConfig)
    assert got == {"n_antennas": 8, "carrier_hz": 28e9, "fft_size": 128, "azimuth_range_rad": (-1.0, 1.0),
                   "distances_m": (10.0, 20.5)}
    assert isinstance(got["carrier_hz"], float) and all(isinstance(v, float) for v in got["distances_m"])
    for text, msg in [("azimuth_range_rad = [1]\n", "`azimuth_range_rad` must be an array of 2 numbers; got [1]"),
                      ("fft_size = 1.5\n", "`fft_size` must be an integer; got 1.5 (a float)"),
                      ("distances_m = [1, \"a\"]\n", "`distances_m` must be an array of numbers"),
                      ("[table]\nx = 1\n", "unknown key table for IsacConfig; valid keys: propagation, carrier_hz")]:
        p.write_text(text)
        with pytest.raises(ValueError) as err:
            _kit.read_config_file(p, IsacConfig)
        assert msg in str(err.value) and "\n" not in str(err.value), str(err.value)


def test_build_config_precedence_and_messages(tmp_path):
    from scenarios.isac_ofdm import IsacConfig

    p = tmp_path / "c.toml"
    p.write_text("n_antennas = 8\nn_targets = 2\n")
    args = _args(config=p)
    cfg = _kit.build_config(args, IsacConfig(), {"n_targets": "--targets"}, {"n_targets": 3})
    assert (cfg.n_antennas, cfg.n_targets) == (8, 3) and args.effective_config is cfg
    assert args.config_sources == {"n_antennas": "file", "n_targets": "flag"}
    with pytest.raises(ValueError, match=r"^`--targets` \(n_targets\) must be an integer in \[1, 7\]"):
        _kit.build_config(_args(config=p), IsacConfig(), {"n_targets": "--targets"}, {"n_targets": 9})
    p.write_text("n_antennas = 1\n")
    with pytest.raises(ValueError, match=r"^`n_antennas` \(from c.toml\) must be an integer >= 2"):
        _kit.build_config(_args(config=p), IsacConfig(), {})


def test_resume_conflicts():
    fp = _kit.fingerprint(scenario="s", config={"n_users": 3, "x": (1, 2)}, methods=("a",))
    header = {"fingerprint": fp, "seed": 0, "points": [{"snr_db": 0.0}, {"snr_db": 10.0}]}
    pts = [{"snr_db": 0.0}, {"snr_db": 10.0}]
    assert _kit.resume_conflicts(header, fp, 0, pts) == []
    new = _kit.fingerprint(scenario="s", config={"n_users": 4, "x": (1, 2)}, methods=("a", "b"))
    assert _kit.resume_conflicts(header, new, 1, pts, {"n_users": "--users", "methods": "--methods"}) == [
        '`--methods` (methods) ["a"] → ["a", "b"]', "`--users` (n_users) 3 → 4", "`--seed` 0 → 1"]
    assert _kit.resume_conflicts(header, fp, 0, [{"snr_db": 0.0}]) == ["`--snr-db` (snr_db) values [0.0, 10.0] → [0.0]"]
    assert _kit.resume_conflicts({**header, "fingerprint": "mod:task"}, fp, 0, pts)[0].startswith("the task")


def test_check_out_creates_nothing(tmp_path):
    assert _kit.check_out(_args(out=tmp_path / "a" / "b"), "x") == tmp_path / "a" / "b"
    assert not (tmp_path / "a").exists()
    (tmp_path / "f").write_text("")
    for out, msg in ((tmp_path / "f", "is an existing file"), (tmp_path / "f" / "g" / "h", "is a file, not a folder")):
        with pytest.raises(ValueError, match=msg):
            _kit.check_out(_args(out=out), "x")


def test_list_parsers_reject_empty_items():
    for fn in (lambda t: _kit.parse_snr_list(t), lambda t: _kit.parse_numbers(t, "--snr-db"),
               lambda t: _kit.parse_names(t, "--snr-db", ("1", "2"))):
        for text in ("1,,2", "1,2,", ",1", " , "):
            with pytest.raises(ValueError, match="`--snr-db`.*empty item"):
                fn(text)

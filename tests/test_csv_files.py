"""Every CSV the package writes reads the same with pgfplots (``col sep=comma``), a plain split
on commas, Python's :mod:`csv` and pandas: no quoting, no comma/quote/newline inside a cell, one
field count per file, numeric cells that parse as floats (``nan``/``inf`` included).

pgfplots' table reader has no quoting: ``"PLAIN (averaging, OMP)"`` is two cells to it, which is
how ``plain/runtime.csv`` used to break. :func:`sensing.plotting.write_csv` now refuses such
cells, and this module checks both that rule and each scenario's ``--quick`` output files.
"""

from __future__ import annotations

import csv
import importlib
import math
import re
from pathlib import Path

import numpy as np
import pytest

from scenarios._cli import main
from scenarios._registry import SCENARIOS
from sensing.plotting import CSV_FORBIDDEN_CHARS, write_csv

_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?|[-+]?(nan|inf)")


def check_pgfplots_csv(path: Path) -> dict[str, list[str]]:
    """Parse ``path`` as pgfplots does with ``col sep=comma``; assert the rules; return the columns.

    Rules: UTF-8, ``\\n`` line ends, a final newline, no blank lines; no character of
    :data:`sensing.plotting.CSV_FORBIDDEN_CHARS` other than the separating commas; a header of
    unique, non-empty names with no surrounding blanks; every row with as many fields as the header;
    a column is numeric (every cell a float literal, ``nan``, ``inf`` or ``-inf``) or text.
    """
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    assert "\r" not in text, f"{path.name}: CR line ends"
    assert text.endswith("\n"), f"{path.name}: no final newline"
    lines = text[:-1].split("\n")
    assert lines and all(lines), f"{path.name}: blank line"
    for ch in CSV_FORBIDDEN_CHARS:
        if ch not in (",", "\n"):                                  # the separators themselves
            assert ch not in text, f"{path.name}: holds {ch!r}"
    rows = [line.split(",") for line in lines]
    header = rows[0]
    assert all(h and h == h.strip() for h in header), f"{path.name}: header {header}"
    assert len(set(header)) == len(header), f"{path.name}: duplicate column names {header}"
    for i, row in enumerate(rows[1:], start=2):
        assert len(row) == len(header), f"{path.name} line {i}: {len(row)} fields, header has {len(header)}"
    columns = {h: [r[j] for r in rows[1:]] for j, h in enumerate(header)}
    for name, cells in columns.items():
        if cells and _NUMBER.fullmatch(cells[0]):                   # a numeric column: all numbers
            assert all(_NUMBER.fullmatch(c) for c in cells), f"{path.name}: column {name!r} mixes numbers and text"
    # Python's csv module and the plain split agree cell for cell (nothing was quoted)
    with open(path, newline="", encoding="utf-8") as fh:
        assert list(csv.reader(fh)) == rows, f"{path.name}: csv.reader disagrees with a plain split"
    return columns


def _floats(cells: list[str]) -> np.ndarray:
    return np.array([float(c) for c in cells])


# ------------------------------------------------------------------ write_csv's rule
@pytest.mark.parametrize("bad", ["PLAIN (averaging, OMP)", 'say "x"', "two\nlines", "cr\r", "50%", "#1",
                                 r"\alpha"])
def test_write_csv_refuses_unsafe_cells(tmp_path, bad):
    with pytest.raises(ValueError, match=r"`columns\['method'\]` row 1 is .* CSV cells and column names must not"):
        write_csv(tmp_path / "x.csv", {"method": ["ok", bad], "t_s": [1.0, 2.0]})
    with pytest.raises(ValueError, match="a `columns` key is"):
        write_csv(tmp_path / "x.csv", {bad: [1.0]})
    assert list(tmp_path.iterdir()) == []                      # nothing written


def test_write_csv_refuses_the_delimiter_too(tmp_path):
    with pytest.raises(ValueError, match="or the delimiter"):
        write_csv(tmp_path / "x.csv", {"a": ["x;y"]}, delimiter=";")
    write_csv(tmp_path / "ok.csv", {"a b": ["x y", "(z)"], "n": [1, 2]}, delimiter=";")
    assert (tmp_path / "ok.csv").read_text() == "a b;n\nx y;1\n(z);2\n"


def test_write_csv_output_passes_the_plain_parser(tmp_path):
    p = write_csv(tmp_path / "t.csv", {"snr_db": [-10.0, 0.0, 10.0], "rmse_deg": [np.nan, np.inf, 1 / 3],
                                       "count": np.array([1, 2, 3]), "ok": np.array([True, False, True]),
                                       "method": ["PLAIN (averaging + Tensor-OMP)", "MUSIC", "root-MUSIC"]})
    cols = check_pgfplots_csv(p)
    assert cols["ok"] == ["1", "0", "1"] and cols["count"] == ["1", "2", "3"]
    got = _floats(cols["rmse_deg"])
    assert math.isnan(got[0]) and got[1] == math.inf and got[2] == 1 / 3   # full precision
    assert cols["method"][0] == "PLAIN (averaging + Tensor-OMP)"


# ------------------------------------------------------------------ labels that reach CSV cells
def test_scenarios_write_csv_only_through_write_csv():
    """So the rule above covers every CSV file a scenario writes."""
    for path in sorted(Path(importlib.import_module("scenarios").__file__).parent.glob("*.py")):
        src = path.read_text(encoding="utf-8")
        for pattern in (r"\bcsv\.(writer|DictWriter)\b", r"\.to_csv\(", r"np\.savetxt\("):
            assert not re.search(pattern, src), f"{path.name} writes CSV without write_csv ({pattern})"


def test_display_labels_are_csv_safe():
    """Every scenario's method/scheme label table: a label may become a CSV cell (plain's runtime.csv)."""
    from channels import city_site_names

    checked = 0
    for mod_name in set(SCENARIOS.values()) | {"scenarios.isac_ofdm", "scenarios.uplink_isac"}:
        mod = importlib.import_module(mod_name)
        for attr in ("METHODS", "ESTIMATOR_LABELS", "LABELS", "COMPARISON"):
            table = getattr(mod, attr, None)
            if not isinstance(table, dict):
                continue
            for key, label in table.items():
                for text in (key, label) if isinstance(label, str) else (key,):
                    bad = [c for c in CSV_FORBIDDEN_CHARS if c in text]
                    assert not bad, f"{mod_name}.{attr}[{key!r}] = {text!r} holds {bad}"
                    checked += 1
    assert checked > 20
    for site in city_site_names():
        assert not any(c in site for c in CSV_FORBIDDEN_CHARS), site


# ------------------------------------------------------------------ every scenario's CSV files
# the smallest --quick runs that still write every CSV (about 25 s for all five)
_RUNS = {
    "doa-rmse": (["--trials", "1", "--snr-db", "10", "--snapshots", "20", "--separations-deg", "8"],
                 {"rmse_vs_snr.csv", "rmse_vs_snapshots.csv", "resolution.csv"}),
    "isac-ofdm": (["--trials", "1", "--snr-db", "20"], {"rmse.csv"}),
    "plain": (["--trials", "1", "--snr-db", "10", "--comparison-snr-db", "10", "--compressions", "averaging"],
              {"rmse.csv", "runtime.csv", "compression.csv"}),
    "uplink-isac": (["--trials", "1", "--snr-db", "10", "--pilots", "1", "--max-outer", "2",
                     "--methods", "proposed,pilot_lmmse,perfect_csi"],
                    {"vs_snr.csv", "nmse_vs_pilots.csv", "localisation.csv", "convergence.csv"}),
    "site-csi": (["--users", "60", "--budgets", "10,20"],
                 {"capture_vs_budget.csv", "capture_per_site.csv", "capture_cdf.csv", "se_vs_snr.csv",
                  "overhead.csv"}),
}


def test_every_scenario_is_covered():
    assert set(_RUNS) == set(SCENARIOS)


@pytest.fixture(scope="module")
def quick_outputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("csv_quick")
    outs = {}
    for name, (extra, _) in _RUNS.items():
        out = root / name
        assert main(["run", name, "--quick", "--out", str(out), "--no-progress", *extra]) == 0, name
        outs[name] = out
    return outs


@pytest.mark.parametrize("scenario", sorted(_RUNS))
def test_scenario_csv_files_parse_like_pgfplots(quick_outputs, scenario):
    out = quick_outputs[scenario]
    files = sorted(out.glob("*.csv"))
    assert _RUNS[scenario][1] <= {f.name for f in files}, [f.name for f in files]
    for f in files:
        cols = check_pgfplots_csv(f)
        numeric = {k: _floats(v) for k, v in cols.items() if v and _NUMBER.fullmatch(v[0])}
        assert numeric, f"{f.name}: no numeric column"
        try:
            import pandas as pd
        except ImportError:
            continue
        frame = pd.read_csv(f)
        assert list(frame.columns) == list(cols) and len(frame) == len(next(iter(cols.values())))
        for k, v in numeric.items():
            np.testing.assert_array_equal(frame[k].to_numpy(dtype=float), v, err_msg=f"{f.name}:{k}")


def test_plain_runtime_csv_labels(quick_outputs):
    """The file that broke pgfplots: one method label per row, no quoting."""
    cols = check_pgfplots_csv(quick_outputs["plain"] / "runtime.csv")
    from scenarios.plain_figure import METHODS

    assert cols["method"] == list(METHODS.values())
    assert _floats(cols["speedup_of_plain"])[0] == 1.0

"""Figures a referee accepts: one style per method across scenarios, legends outside the data,
P_D beside a detection-conditioned RMSE, the BER floor instead of a 1e-6 placeholder, integer
ticks on counting axes, captions beside the figures, snake_case HDF5 keys.

One small --quick run per scenario (about 25 s together); the figures are caught on their way
to ``save_figure``.
"""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np
import pytest

import sensing.plotting as plotting
from scenarios._cli import main
from scenarios._registry import SCENARIOS
from sensing.plotting import METHOD_STYLES

_RUNS = {
    "doa-rmse": ["--trials", "1", "--snr-db", "10", "--snapshots", "20,50", "--separations-deg", "8"],
    "isac-ofdm": ["--trials", "1", "--snr-db", "20"],
    "plain": ["--trials", "1", "--snr-db", "10", "--comparison-snr-db", "10", "--compressions", "averaging"],
    "uplink-isac": ["--trials", "1", "--snr-db", "10", "--pilots", "1,2", "--max-outer", "2",
                    "--methods", "proposed,pilot_lmmse,perfect_csi"],
    "site-csi": ["--users", "60", "--budgets", "10,20"],
}
_EXTRA_LABELS = ("ground truth", "floor 1/", "open marker")
_KEY = re.compile(r"[a-z0-9_]+")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """scenario -> (output folder, {figure stem: Figure})."""
    root = tmp_path_factory.mktemp("figures")
    original = plotting.save_figure
    caught: dict[str, dict] = {}
    current: dict = {}

    def catching(fig, stem, **kw):
        current[Path(stem).name] = fig
        return original(fig, stem, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plotting, "save_figure", catching)
        for name, extra in _RUNS.items():
            current = {}
            out = root / name
            assert main(["run", name, "--quick", "--out", str(out), "--no-progress", *extra]) == 0, name
            caught[name] = (out, current)
    return caught


def _data_axes(fig):
    """The plotting Axes of a figure (not colour bars)."""
    return [ax for ax in fig.axes if not hasattr(ax, "_colorbar") and ax.get_label() != "<colorbar>"]


def _base(label: str) -> str:
    return label.split(" (= ")[0].split(" (\u2248 ")[0]


def _lines_by_label(fig) -> dict:
    out = {}
    for ax in _data_axes(fig):
        for line in ax.get_lines():
            if not line.get_label().startswith("_"):
                out.setdefault(_base(line.get_label()), []).append(line)
    return out


def test_every_scenario_is_covered():
    assert set(_RUNS) == set(SCENARIOS)


def test_every_figure_draws_methods_in_their_shared_style(runs):
    from matplotlib.colors import to_rgba

    by_label = {s.label: s for s in METHOD_STYLES.values()}
    checked = 0
    for name, (_, figs) in runs.items():
        assert figs, name
        for stem, fig in figs.items():
            for label, lines in _lines_by_label(fig).items():
                if label.startswith(_EXTRA_LABELS):
                    continue
                assert label in by_label, f"{name}/{stem}: {label!r} is not a METHOD_STYLES paper name"
                st = by_label[label]
                for line in lines:
                    assert to_rgba(line.get_color()) == to_rgba(st.color), (name, stem, label)
                    if line.get_linestyle() == "None":       # points only (e.g. zero BER on the floor)
                        assert line.get_markerfacecolor() == "none", (name, stem, label)
                    elif st.bound:
                        assert line.get_linestyle() in ("--", ":", "-.") and line.get_marker() in ("None", None)
                    else:
                        assert line.get_marker() == st.marker, (name, stem, label)
                    checked += 1
    assert checked > 40


def test_same_method_looks_the_same_in_two_scenarios(runs):
    from matplotlib.colors import to_rgba

    def style(name, stem, label):
        (line, *_) = _lines_by_label(runs[name][1][stem])[label]
        return to_rgba(line.get_color()), line.get_marker(), line.get_linestyle()

    assert style("isac-ofdm", "rmse", "PLAIN") == style("plain", "rmse", "PLAIN")
    crb_isac = style("isac-ofdm", "rmse", "CRB")
    crb_doa = style("doa-rmse", "rmse_vs_snr", "stochastic CRB")
    assert crb_isac == crb_doa and crb_isac[2] == "--"


def test_legends_sit_outside_the_data(runs):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    for name, (_, figs) in runs.items():
        for stem, fig in figs.items():
            axes = _data_axes(fig)
            assert all(ax.get_legend() is None for ax in axes), f"{name}/{stem}: legend inside an Axes"
            assert len(fig.legends) == 1, f"{name}/{stem}: no figure legend"
            FigureCanvasAgg(fig).draw()
            r = fig.canvas.get_renderer()
            leg = fig.legends[0].get_window_extent(r)
            for ax in axes:
                assert not leg.overlaps(ax.get_window_extent(r)), f"{name}/{stem}: legend over the data"


def test_isac_and_plain_show_detection_beside_the_rmse(runs):
    for name in ("isac-ofdm", "plain"):
        fig = runs[name][1]["rmse"]
        ylabels = [ax.get_ylabel() for ax in _data_axes(fig)]
        assert sum("RMSE" in y for y in ylabels) == 3 and any("P_D" in y for y in ylabels), (name, ylabels)
        ax_pd = next(ax for ax in _data_axes(fig) if "P_D" in ax.get_ylabel())
        for line in ax_pd.get_lines():
            y = np.asarray(line.get_ydata(), float)
            assert np.all((y >= 0) & (y <= 1)), name
    fig = runs["uplink-isac"][1]["localisation_vs_snr"]
    assert any("P_D" in ax.get_ylabel() for ax in _data_axes(fig))


def test_ber_floor_instead_of_a_placeholder(runs, tmp_path):
    from dataclasses import replace

    from scenarios import _uplink_sweep
    from scenarios.uplink_isac import UplinkConfig

    # the quick run, and a synthetic one with zero-BER points
    figs = [runs["uplink-isac"][1]["ber_vs_snr"]]
    cfg = replace(UplinkConfig(), n_subcarriers=16, n_symbols=4)
    caught = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plotting, "save_figure", lambda fig, stem, **kw: caught.__setitem__(Path(stem).name, fig))
        curve = np.array([-5.0, -10.0])
        trace = {"proposed": np.linspace(0, -20, _uplink_sweep.TRACE_ITERATIONS)}
        _uplink_sweep._figures(tmp_path, 0, cfg, 2, [0.0, 10.0], [1, 2], {"proposed": curve}, {"proposed": curve},
                               {"proposed": np.array([1e-2, 0.0]), "perfect_csi": np.array([0.0, 0.0])},
                               {}, {}, trace, {"proposed": np.linspace(0.1, 1, len(trace["proposed"]))},
                               conv_trials=2)
    figs.append(caught["ber_vs_snr"])
    n_bits = 2 * cfg.n_users * 16 * 3 * cfg.bits_per_symbol
    for k, fig in enumerate(figs):
        (ax,) = _data_axes(fig)
        ys = np.concatenate([np.asarray(line.get_ydata(), float) for line in ax.get_lines()])
        assert not np.any(np.isclose(ys, 1e-6, rtol=1e-9, atol=0)), "BER drawn at the 1e-6 placeholder"
        floors = [line for line in ax.get_lines() if line.get_label().startswith("floor 1/")]
        assert len(floors) == 1
    floor = 1.0 / n_bits
    np.testing.assert_allclose(floors[0].get_ydata(), floor)
    open_pts = [line for line in ax.get_lines() if line.get_markerfacecolor() == "none"
                and line.get_linestyle() == "None"]
    assert sum(len(line.get_ydata()) for line in open_pts) == 3            # 1 + 2 zero points, on the floor
    assert all(np.allclose(line.get_ydata(), floor) for line in open_pts)
    text = (tmp_path / "ber_vs_snr_caption.txt").read_text()
    assert f"bits_per_point: {n_bits}" in text and "0 errors" in text


def _integer_ticks(axis) -> bool:
    lo, hi = sorted(axis.get_view_interval())
    locs = [t for t in axis.get_major_locator()() if lo - 1e-9 <= t <= hi + 1e-9]
    return len(locs) >= 2 and all(abs(t - round(t)) < 1e-9 for t in locs)


@pytest.mark.parametrize("scenario, stem, panel", [
    ("doa-rmse", "rmse_vs_snapshots", 0),
    ("uplink-isac", "nmse_vs_pilots", 0),
    ("uplink-isac", "convergence", 0),
    ("site-csi", "capture_vs_budget", 0),
])
def test_counting_axes_have_integer_ticks(runs, scenario, stem, panel):
    ax = _data_axes(runs[scenario][1][stem])[panel]
    assert _integer_ticks(ax.xaxis), (scenario, stem, list(ax.xaxis.get_major_locator()()))


def test_range_doppler_zooms_to_the_targets_and_marks_the_truth(runs):
    out, figs = runs["isac-ofdm"]
    fig = figs["range_doppler"]
    (ax,) = _data_axes(fig)
    (truth,) = [line for line in ax.get_lines() if line.get_label() == "ground truth"]
    y0, y1 = ax.get_ylim()
    r = np.asarray(truth.get_ydata(), float)
    assert y0 < r.min() and r.max() < y1
    from scenarios.isac_ofdm import default_config

    num = default_config().numerology()
    full_range = 299792458.0 * num.max_delay_s / 2
    assert (y1 - y0) < 0.5 * full_range                                  # zoomed in, not the whole map
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["ground truth"]


def test_every_figure_states_trials_and_snr(runs):
    for name, (out, figs) in runs.items():
        for stem, fig in figs.items():
            assert fig._suptitle is not None and fig._suptitle.get_text(), f"{name}/{stem}: no note on the figure"
            text = (out / f"{stem}_caption.txt").read_text(encoding="utf-8")
            keys = {line.split(":", 1)[0] for line in text.splitlines()}
            assert {"figure", "seed", "snr_db"} <= keys, (name, stem, keys)
            assert "trials" in keys or name == "site-csi", (name, stem, keys)
            if name != "site-csi":
                assert "trial" in fig._suptitle.get_text() or "realisation" in fig._suptitle.get_text()


def test_hdf5_group_and_dataset_names_are_snake_case_keys(runs):
    checked = 0
    for name, (out, _) in runs.items():
        files = sorted(out.rglob("*.h5"))
        assert files, name
        for path in files:
            bad = []
            with h5py.File(path, "r") as f:
                f.visit(lambda n: bad.extend(p for p in n.split("/") if not _KEY.fullmatch(p)))
            assert not bad, f"{name}: {path.relative_to(out)} has names {sorted(set(bad))}"
            checked += 1
    assert checked >= 8


def test_results_are_keyed_by_method_ids(runs):
    with h5py.File(runs["doa-rmse"][0] / "results.h5", "r") as f:
        assert {"music", "esprit"} <= set(f["rmse_vs_snr_deg"]) and set(f["crb_vs_snr_deg"]) == {"crb_sto", "crb_det"}
    with h5py.File(runs["uplink-isac"][0] / "results.h5", "r") as f:
        assert set(f["nmse_vs_snr_db"]) == {"proposed", "pilot_lmmse"}
        assert set(f["ber_vs_snr"]) == {"proposed", "pilot_lmmse", "perfect_csi"}
    with h5py.File(runs["site-csi"][0] / "loso" / "plaza.h5", "r") as f:
        assert {"per_site", "sifo_knn", "sifo_zero_shot"} <= set(f["capture"])
    with h5py.File(runs["isac-ofdm"][0] / "dataset.h5", "r") as f:
        assert list(f["received"].attrs["dimension_labels"]) == ["antenna", "subcarrier", "symbol"]
        assert list(f["truth/distances_m"].attrs["dimension_labels"]) == ["target"]

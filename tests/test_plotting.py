"""Plot helpers draw on the Axes they are given; figure and CSV output for scripts."""

from __future__ import annotations

import csv
import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import QuadMesh  # noqa: E402

from sensing.plotting import (  # noqa: E402
    IEEE_COLUMN_WIDTH_IN,
    IEEE_TEXT_WIDTH_IN,
    ieee_figure,
    plot_angular_spectrum,
    plot_range_doppler,
    plot_rmse,
    save_figure,
    write_csv,
)


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_importing_sensing_does_not_import_matplotlib():
    import subprocess
    import sys

    code = "import sys, sensing, sensing.plotting; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_plot_rmse_draws_on_given_axes(ax):
    snr = np.array([-10.0, 0.0, 10.0, 20.0])
    curves = {"MUSIC": [1.0, 0.3, 0.1, np.nan], "FFT": np.array([2.0, 1.0, 0.8, 0.7])}
    bounds = {"CRB": [0.5, 0.15, 0.05, 0.015]}
    out = plot_rmse(snr, curves, bounds=bounds, ax=ax, ylabel="RMSE [deg]")
    assert out is ax and len(ax.get_lines()) == 3
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["MUSIC", "FFT", "CRB"]
    crb = ax.get_lines()[2]
    assert crb.get_linestyle() == "--" and crb.get_marker() in ("None", None, "")
    assert ax.get_lines()[0].get_marker() != ax.get_lines()[1].get_marker()  # print-friendly
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), curves["FFT"])
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "SNR [dB]" and ax.get_ylabel() == "RMSE [deg]"
    assert ax.get_legend() is not None


def test_plot_rmse_new_figure_and_linear_axis():
    a = plot_rmse([0, 1], {"x": [0.0, 1.0]}, logy=False)
    assert a.get_yscale() == "linear" and len(a.get_lines()) == 1
    plt.close(a.figure)


def test_plot_range_doppler(ax):
    ranges = np.linspace(0, 100, 20)
    vel = np.linspace(-30, 30, 16)
    power = np.ones((20, 16))
    power[5, 8] = 1e4
    power[0, 0] = 0.0  # a zero shows at the floor, not as -inf
    out = plot_range_doppler(power, ranges, vel, ax=ax, truth=([ranges[5]], [vel[8]]))
    assert out is ax
    meshes = [c for c in ax.collections if isinstance(c, QuadMesh)]
    assert len(meshes) == 1
    z = np.asarray(meshes[0].get_array()).reshape(20, 16)
    assert z.max() == 0.0 and z.min() == -60.0 and z[5, 8] == 0.0
    (marker,) = ax.get_lines()
    assert marker.get_xdata()[0] == vel[8] and marker.get_ydata()[0] == ranges[5]
    assert ax.get_xlabel() == "velocity [m/s]" and ax.get_ylabel() == "range [m]"
    assert len(ax.figure.axes) == 2  # the colour bar


def test_plot_angular_spectrum(ax):
    grid = np.linspace(-np.pi / 2, np.pi / 2, 181)
    spec = 1.0 / (1e-3 + (grid - 0.3) ** 2)
    out = plot_angular_spectrum(grid, spec, ax=ax, truth_rad=0.3, label="MUSIC")
    assert out is ax
    line, truth_line = ax.get_lines()
    np.testing.assert_allclose(line.get_xdata(), np.degrees(grid))
    assert np.max(line.get_ydata()) == 0.0 and line.get_label() == "MUSIC"
    np.testing.assert_allclose(truth_line.get_xdata(), [np.degrees(0.3)] * 2)
    lin = plot_angular_spectrum(grid, spec, ax=ax, db=False)
    assert lin is ax and np.max(ax.get_lines()[-1].get_ydata()) == 1.0


def test_ieee_figure_sizes_and_fonts():
    fig, ax = ieee_figure()
    assert tuple(fig.get_size_inches()) == pytest.approx((IEEE_COLUMN_WIDTH_IN, 0.75 * IEEE_COLUMN_WIDTH_IN))
    plot_rmse([0, 1], {"a": [1.0, 0.5]}, ax=ax)
    assert ax.xaxis.label.get_fontsize() == 8.0 and ax.get_legend().get_texts()[0].get_fontsize() == 7.0
    fig2, axes = ieee_figure(2, 1, columns=2, height_ratio=0.6)
    assert axes.shape == (2,)
    assert tuple(fig2.get_size_inches()) == pytest.approx((IEEE_TEXT_WIDTH_IN, IEEE_TEXT_WIDTH_IN / 2 * 0.6))
    assert fig.canvas.manager is None  # not registered with pyplot: nothing to close


def test_save_figure_writes_pdf_and_png_atomically(tmp_path):
    fig, ax = ieee_figure()
    plot_range_doppler(np.random.default_rng(0).random((8, 8)), np.arange(8.0), np.arange(8.0), ax=ax)
    paths = save_figure(fig, tmp_path / "rd")
    assert [p.name for p in paths] == ["rd.pdf", "rd.png"]
    assert paths[0].read_bytes()[:5] == b"%PDF-" and paths[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"/Subtype /Type3" not in paths[0].read_bytes()  # IEEE: no Type 3 fonts
    assert sorted(os.listdir(tmp_path)) == ["rd.pdf", "rd.png"]  # no temp files left
    from PIL import Image

    with Image.open(paths[1]) as im:
        assert im.size[0] == pytest.approx(IEEE_COLUMN_WIDTH_IN * 300, abs=2)
    assert save_figure(fig, tmp_path / "again.pdf")[0].name == "again.pdf"  # suffix dropped
    # no creation date: the same figure built twice gives byte-identical PDFs
    fig2, ax2 = ieee_figure()
    plot_range_doppler(np.random.default_rng(0).random((8, 8)), np.arange(8.0), np.arange(8.0), ax=ax2)
    fig3, ax3 = ieee_figure()
    plot_range_doppler(np.random.default_rng(0).random((8, 8)), np.arange(8.0), np.arange(8.0), ax=ax3)
    a, b = save_figure(fig2, tmp_path / "a", formats=("pdf",)), save_figure(fig3, tmp_path / "b", formats=("pdf",))
    assert a[0].read_bytes() == b[0].read_bytes()


def test_write_csv_round_trips(tmp_path):
    x = np.array([-10.0, 0.0, 10.0])
    y = np.array([0.1, 1 / 3, np.nan])
    out = write_csv(tmp_path / "rmse.csv", {"snr_db": x, "music_deg": y, "n": np.array([1, 2, 3]),
                                            "label": ["a", "b c", "d"]})
    rows = list(csv.reader(out.read_text().splitlines()))
    assert rows[0] == ["snr_db", "music_deg", "n", "label"]
    assert rows[2] == ["0.0", repr(1 / 3), "2", "b c"]
    assert rows[3][1] == "nan"
    assert float(rows[2][1]) == 1 / 3  # full precision
    assert sorted(os.listdir(tmp_path)) == ["rmse.csv"]


@pytest.mark.parametrize("call, exc, match", [
    (lambda ax: plot_rmse([0, 1], {"a": [1.0]}, ax=ax), ValueError, r"`curves\['a'\]` must have length 2"),
    (lambda ax: plot_rmse([0, 1], {"a": [1.0, 0.0]}, ax=ax), ValueError, "values <= 0.*logy=False"),
    (lambda ax: plot_rmse([0, np.nan], {"a": [1.0, 1.0]}, ax=ax), ValueError, "`x` must not contain NaN"),
    (lambda ax: plot_rmse([0, 1], {}, ax=ax), ValueError, "`curves` must hold at least one curve"),
    (lambda ax: plot_rmse([0, 1], {"a": [1, 2]}, ax="ax"), TypeError, "`ax` must be a matplotlib Axes"),
    (lambda ax: plot_rmse([0, 1], {"a": [1, np.inf]}, ax=ax), ValueError, "must not contain inf"),
    (lambda ax: plot_range_doppler(np.ones(3), [1, 2, 3], [1], ax=ax), ValueError, "`power` must have shape"),
    (lambda ax: plot_range_doppler(np.ones((2, 3)), [1, 2], [1, 2], ax=ax), ValueError,
     "`velocities_mps` must have length 3"),
    (lambda ax: plot_range_doppler(-np.ones((2, 2)), [1, 2], [1, 2], ax=ax), ValueError, "`power` must be >= 0"),
    (lambda ax: plot_range_doppler(np.ones((2, 2)) * 1j, [1, 2], [1, 2], ax=ax), TypeError, "`power` must be real"),
    (lambda ax: plot_range_doppler(np.zeros((2, 2)), [1, 2], [1, 2], ax=ax), ValueError, "positive maximum"),
    (lambda ax: plot_angular_spectrum([0, 1], [1.0, np.nan], ax=ax), ValueError, "`spectrum` must not contain NaN"),
    (lambda ax: plot_angular_spectrum([0, 1], [1.0, 2.0], ax=ax, db="yes"), TypeError, "`db` must be True or False"),
])
def test_plots_reject_bad_input(ax, call, exc, match):
    with pytest.raises(exc, match=match):
        call(ax)


def test_output_helpers_reject_bad_input(tmp_path):
    fig, _ = ieee_figure()
    with pytest.raises(ValueError, match="`columns` must be 1"):
        ieee_figure(columns=3)
    with pytest.raises(ValueError, match="`height_ratio`"):
        ieee_figure(height_ratio=0)
    with pytest.raises(TypeError, match="`ncols` must be an integer"):
        ieee_figure(1.5)
    with pytest.raises(TypeError, match="`fig` must be a matplotlib Figure"):
        save_figure("fig", tmp_path / "x")
    with pytest.raises(ValueError, match="`stem` folder .* does not exist"):
        save_figure(fig, tmp_path / "missing" / "x")
    with pytest.raises(ValueError, match="`formats` entries must be one of"):
        save_figure(fig, tmp_path / "x", formats=("jpg",))
    with pytest.raises(ValueError, match=r"`columns\['b'\]` has length 1"):
        write_csv(tmp_path / "x.csv", {"a": [1, 2], "b": [1]})
    with pytest.raises(TypeError, match=r"`columns\['a'\]` must hold real numbers"):
        write_csv(tmp_path / "x.csv", {"a": np.array([1j])})
    with pytest.raises(ValueError, match=r"`columns\['a'\]` must be 1-D"):
        write_csv(tmp_path / "x.csv", {"a": np.ones((2, 2))})
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------ shared styles and figure helpers
def test_method_ids_take_their_shared_style_and_twins_say_so():
    from matplotlib.colors import to_rgba

    from sensing.plotting import METHOD_STYLES, method_style

    fig, ax = ieee_figure()
    plot_rmse([0.0, 10.0], {"music": [1.0, 0.1], "esprit": [1.0, 0.1], "capon": [1.01, 0.1005]},
              bounds={"crb": [0.5, 0.05]}, ax=ax, legend=False)
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == ["MUSIC", "ESPRIT (LS) (= MUSIC)", "Capon (\u2248 MUSIC)", "CRB"]
    assert to_rgba(lines[0].get_color()) == to_rgba(METHOD_STYLES["music"].color)
    assert lines[1].get_markerfacecolor() == "none" and lines[0].get_markerfacecolor() != "none"
    assert lines[3].get_linestyle() == "--" and lines[3].get_marker() == "None"
    assert ax.get_legend() is None
    with pytest.raises(ValueError, match="method_id"):
        method_style("nope")


def test_figure_legend_outside_and_integer_ticks_on_a_log_axis():
    from sensing.plotting import figure_legend, integer_ticks

    fig, axes = ieee_figure(2)
    assert tuple(fig.get_size_inches())[0] == pytest.approx(IEEE_TEXT_WIDTH_IN)   # side by side: 7.16 in
    for a in axes:
        plot_rmse([10.0, 100.0, 1000.0], {"music": [1.0, 0.3, 0.1]}, ax=a, xlabel="snapshots", legend=False)
        a.set_xscale("log")
    integer_ticks(axes[0], "x", [10, 100, 1000])
    leg = figure_legend(fig)
    assert leg in fig.legends and [t.get_text() for t in leg.get_texts()] == ["MUSIC"]
    assert list(axes[0].xaxis.get_major_locator()()) == [10.0, 100.0, 1000.0]
    with pytest.raises(ValueError, match="values"):
        integer_ticks(axes[1], "x")


def test_range_doppler_zoom_needs_truth_and_zooms(ax):
    ranges, vel = np.linspace(0, 1000, 200), np.linspace(-100, 100, 64)
    power = np.ones((200, 64))
    out = plot_range_doppler(power, ranges, vel, ax=ax, truth=([100.0, 150.0], [0.0, 10.0]), zoom=True)
    y0, y1 = out.get_ylim()
    assert y0 < 100.0 and y1 > 150.0 and y1 - y0 < 200.0
    assert out.get_lines()[0].get_label() == "ground truth"
    with pytest.raises(ValueError, match="truth"):
        plot_range_doppler(power, ranges, vel, ax=ax, zoom=True)


def test_write_caption(tmp_path):
    from sensing.plotting import write_caption

    fig, ax = ieee_figure()
    plot_rmse([0.0, 1.0], {"music": [1.0, 0.5], "omp": [1.0, 0.5]}, ax=ax, legend=False, ylabel="RMSE")
    p = write_caption(tmp_path / "f.png", fig, trials=3, snr_db=[0.0, 5.0], seed=7, notes="one note")
    text = p.read_text()
    assert p.name == "f_caption.txt" and "trials: 3\nsnr_db: 0, 5\nseed: 7\n" in text
    assert "note: one note" in text and "'OMP (= MUSIC)' in panel 'RMSE'" in text

"""Plot helpers for papers, and figure/CSV output for scripts.

The ``plot_*`` helpers draw on the Axes they are given (or on a new figure when ``ax`` is None)
and return it; they never call ``show`` or ``savefig`` and set no global style. Scripts own the
figure: :func:`ieee_figure` makes one sized for an IEEE column, :func:`save_figure` writes it as
PDF and PNG, and :func:`write_csv` writes the plotted numbers for pgfplots. matplotlib is imported
only inside the functions.

Every scenario draws its methods through one table, :data:`METHOD_STYLES` (method id -> paper
name, colour, marker, line style), so a method looks the same in every figure; bounds and
references (CRBs, perfect CSI, the ideal subspace) are dashed or dotted in black/grey without
markers. Figure-level helpers keep legends outside the data (:func:`figure_legend`), give integer
axes integer ticks (:func:`integer_ticks`), state the trials and SNR on the figure
(:func:`figure_note`) and write the same facts next to it (:func:`write_caption`).

Style: a hand-written set of sizes (8 pt labels, 7 pt ticks, 6.5 pt legends, 1 pt lines, 3.5 pt
markers, DejaVu Sans as shipped with matplotlib, no LaTeX) applied per figure, never through
global ``rcParams``. SciencePlots' ``ieee`` style (PyPI ``scienceplots``) was considered and not
used: it is applied globally with ``plt.style.use``, its ``science`` base turns on
``text.usetex`` (a LaTeX installation) unless ``no-latex`` is added, and its serif fonts are
missing on a bare machine; it would add a dependency for the same sizes.

All inputs are in SI units and radians; degrees and dB appear only on the axes.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._backend import to_numpy

__all__ = [
    "MethodStyle",
    "METHOD_STYLES",
    "method_style",
    "plot_rmse",
    "figure_legend",
    "figure_note",
    "integer_ticks",
    "write_caption",
    "plot_range_doppler",
    "plot_angular_spectrum",
    "ieee_figure",
    "save_figure",
    "write_csv",
    "IEEE_COLUMN_WIDTH_IN",
    "IEEE_TEXT_WIDTH_IN",
]

#: IEEE two-column layout: single-column and full text widths [in].
IEEE_COLUMN_WIDTH_IN = 3.5
IEEE_TEXT_WIDTH_IN = 7.16

_MARKERS = ("o", "s", "^", "v", "D", "x", "+", "*", "<", ">", "p", "h")
_IEEE_FONT = {"label": 8.0, "tick": 7.0, "title": 8.0, "legend": 6.5, "note": 6.5}
_LINE_WIDTH = 1.0
_MARKER_SIZE = 3.5


@dataclass(frozen=True)
class MethodStyle:
    """How one method is drawn in every figure.

    Attributes
    ----------
    label : str
        Paper name (legend entry).
    color : str
        Matplotlib colour.
    marker : str or None
        Marker (None for bounds and references: lines only).
    linestyle : str
        ``"-"`` for estimators, ``"--"``/``":"``/``"-."`` for bounds and references.
    bound : bool
        A bound or reference (CRB, perfect CSI, ideal subspace) rather than an estimator.

    Examples
    --------
    >>> from sensing.plotting import METHOD_STYLES
    >>> kw = METHOD_STYLES["music"].line_kwargs()
    >>> kw["label"], kw["marker"], kw["linestyle"]
    ('MUSIC', 'o', '-')
    """

    label: str
    color: str
    marker: str | None
    linestyle: str = "-"
    bound: bool = False

    def line_kwargs(self) -> dict:
        """Keyword arguments for :meth:`matplotlib.axes.Axes.plot`."""
        kw = {"color": self.color, "linestyle": self.linestyle, "linewidth": _LINE_WIDTH, "label": self.label}
        if self.marker:
            kw.update(marker=self.marker, markersize=_MARKER_SIZE)
        else:
            kw["marker"] = "None"
        return kw


_B = "#1a1a1a"   # bounds: black-ish
_G = "#6e6e6e"   # second bound: grey

#: Method id (the key used in ``--methods``/``--estimators``, CSV columns and HDF5 groups) ->
#: its style. One table for every scenario: an id looks the same in every figure.
METHOD_STYLES: dict[str, MethodStyle] = {
    # DOA toolbox (doa-rmse)
    "music": MethodStyle("MUSIC", "#1f77b4", "o"),
    "root_music": MethodStyle("root-MUSIC", "#ff7f0e", "s"),
    "esprit": MethodStyle("ESPRIT (LS)", "#2ca02c", "^"),
    "unitary_esprit": MethodStyle("Unitary ESPRIT", "#d62728", "v"),
    "omp": MethodStyle("OMP", "#9467bd", "D"),
    "capon": MethodStyle("Capon", "#8c564b", "x"),
    # OFDM ISAC (isac-ofdm, plain)
    "fft": MethodStyle("FFT radar", "#e377c2", "P"),
    "esprit3d": MethodStyle("3-D Unitary ESPRIT", "#17becf", "<"),
    "plain": MethodStyle("PLAIN", "#000080", "o"),
    "plain_refined": MethodStyle("PLAIN + refinement", "#ff7f0e", "s"),
    "sequential": MethodStyle("sequential (angle/delay/Doppler)", "#bcbd22", "s"),
    "joint": MethodStyle("joint 3-D Unitary ESPRIT", "#17becf", "^"),
    # uplink ISAC (uplink-isac)
    "proposed": MethodStyle("EM-Turbo-BiSVBI", "#000080", "o"),
    "full": MethodStyle("EM-Turbo-VBI (full inverse)", "#ff7f0e", "s"),
    "iid": MethodStyle("per-user sparsity", "#2ca02c", "^"),
    "no_mstep": MethodStyle("no M-step", "#d62728", "v"),
    "random_init": MethodStyle("random init", "#8c564b", "<"),
    "pilot_vbi": MethodStyle("pilot-only SC-VBI", "#e377c2", "P"),
    "pilot_lmmse": MethodStyle("pilot-only LMMSE", "#bcbd22", "h"),
    "orth_lmmse": MethodStyle("orthogonal-pilot LMMSE", "#17becf", ">"),
    # site-specific CSI feedback (site-csi)
    "sifo": MethodStyle("SiFo (model + memory)", "#000080", "o"),
    "sifo_knn": MethodStyle("SiFo kNN only", "#1f77b4", "s"),
    "sifo_zero_shot": MethodStyle("SiFo zero-shot", "#17becf", "^"),
    "per_site": MethodStyle("per-site MLP", "#ff7f0e", "D"),
    "type2": MethodStyle("Type-II", "#2ca02c", "v"),
    "etype2": MethodStyle("enhanced Type-II", "#9467bd", "<"),
    "type1": MethodStyle("Type-I", "#d62728", "x"),
    # bounds and references
    "crb": MethodStyle("CRB", _B, None, "--", True),
    "crb_sto": MethodStyle("stochastic CRB", _B, None, "--", True),
    "crb_det": MethodStyle("deterministic CRB", _G, None, ":", True),
    "crb_joint": MethodStyle("CRB joint", _B, None, "--", True),
    "crb_dim": MethodStyle("CRB per-dimension", _G, None, ":", True),
    "perfect_csi": MethodStyle("perfect CSI", _B, None, "--", True),
    "ideal": MethodStyle("ideal eigen-subspace", _B, None, "--", True),
}


def method_style(method_id: str) -> MethodStyle:
    """The style of ``method_id`` from :data:`METHOD_STYLES`.

    Examples
    --------
    >>> from sensing.plotting import method_style
    >>> s = method_style("crb")
    >>> s.label, s.linestyle, s.marker, s.bound
    ('CRB', '--', None, True)
    """
    try:
        return METHOD_STYLES[method_id]
    except (KeyError, TypeError):
        raise ValueError(f"`method_id` must be one of {', '.join(METHOD_STYLES)}; got {method_id!r}.") from None


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------
def _host_1d(x: Any, name: str, *, allow_nan: bool = False, n: int | None = None) -> np.ndarray:
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"`{name}` must be a 1-D numeric array; got {type(x).__name__}.")
    try:
        arr = np.asarray(to_numpy(x) if hasattr(x, "shape") else x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`{name}` must be a 1-D numeric array; got a ragged {type(x).__name__}.") from exc
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must be real numeric; got dtype {arr.dtype}.")
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be 1-D; got shape {arr.shape}.")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"`{name}` must have length {n} (one value per x); got length {arr.shape[0]}.")
    arr = arr.astype(np.float64)
    bad = np.isinf(arr) if allow_nan else ~np.isfinite(arr)
    if np.any(bad):
        what = "inf" if allow_nan else "NaN/inf"
        raise ValueError(f"`{name}` must not contain {what}; got {int(np.sum(bad))} such entr"
                         f"{'y' if np.sum(bad) == 1 else 'ies'}.")
    return arr


def _check_ax(ax: Any):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
        return ax
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"`ax` must be a matplotlib Axes or None; got {type(ax).__name__}.")
    return ax


def _check_bool(v: Any, name: str) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be True or False; got {v!r}.")
    return bool(v)


def _label_size(ax) -> float:
    """Font size of the Axes' labels (small on :func:`ieee_figure` axes), for legends/colorbars."""
    return ax.yaxis.label.get_fontsize()


def _tick_size(ax) -> float:
    ticks = ax.xaxis.get_major_ticks()
    if ticks:
        return ticks[0].label1.get_fontsize()
    from matplotlib import rcParams

    return rcParams["xtick.labelsize"]


def _to_db(power: np.ndarray, floor_db: float, name: str) -> np.ndarray:
    peak = float(np.max(power))
    if not peak > 0:
        raise ValueError(f"`{name}` must have a positive maximum to be shown in dB; got max {peak:g}.")
    rel = power / peak
    floor = 10.0 ** (-floor_db / 10.0)
    # values below the floor (including exact zeros) are shown at the floor: display only
    return 10.0 * np.log10(np.maximum(rel, floor))


# --------------------------------------------------------------------------------------------
# plots
# --------------------------------------------------------------------------------------------
def _coincides(a: np.ndarray, b: np.ndarray, rtol: float) -> bool:
    """Same NaN pattern and every finite value within ``rtol`` (relative) of the other."""
    fa, fb = np.isfinite(a), np.isfinite(b)
    if not np.array_equal(fa, fb) or not np.any(fa):
        return False
    x, y = a[fa], b[fa]
    return bool(np.all(np.abs(x - y) <= rtol * np.maximum(np.abs(x), np.abs(y)) + 1e-300))


#: Legend-label suffixes of a curve drawn on top of an earlier one: equal (to 1e-9 relative) or
#: within ``coincide_rtol`` of it at every point (visually the same line).
_EQUAL, _NEAR = " (= ", " (\u2248 "


def _twin_base(label: str) -> tuple[str, bool]:
    """``(label without a twin suffix, whether it had one)``."""
    for tag in (_EQUAL, _NEAR):
        if tag in label:
            return label.split(tag)[0], True
    return label, False


def plot_rmse(x: Any, curves: Mapping[str, Any], *, bounds: Mapping[str, Any] | None = None, ax=None,
              xlabel: str = "SNR [dB]", ylabel: str = "RMSE", logy: bool = True, legend: bool = True,
              coincide_rtol: float = 0.02):
    """RMSE (or any metric) curves against a swept parameter, with bound curves dashed.

    Parameters
    ----------
    x : array, shape (n_points,)
        Swept values (e.g. SNR [dB]), finite.
    curves : dict of str to array of shape (n_points,)
        One line with markers per estimator. A key that is a method id of
        :data:`METHOD_STYLES` (``"music"``, ``"plain"``, ``"type2"``, ...) is drawn in that
        method's style and labelled with its paper name; any other key is the label itself
        (markers from a fixed cycle). NaN (e.g. no matched pair at that point) leaves a gap.
    bounds : dict of str to array of shape (n_points,), optional
        Bounds drawn without markers: a method id such as ``"crb"`` in its style, else dashed.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.
    xlabel, ylabel : str
        Axis labels (put the unit in ``ylabel``, e.g. ``"RMSE [deg]"``).
    logy : bool, default=True
        Logarithmic y axis; then every non-NaN value must be > 0.
    legend : bool, default=True
        Add a legend on the Axes (scripts pass False and call :func:`figure_legend`, which
        puts one legend outside the data).
    coincide_rtol : float, default=0.02
        A curve within this relative distance of an earlier one at every point (visually the
        same line at figure size) is drawn with open, larger markers and its label says so:
        ``"<label> (= <earlier>)"`` when equal, ``"<label> (≈ <earlier>)"`` when only close.
        No curve is hidden under another without saying so.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np
    >>> from sensing.plotting import ieee_figure, plot_rmse
    >>> fig, ax = ieee_figure()                            # a figure outside pyplot; ax=None makes a pyplot one
    >>> snr = np.array([0.0, 10.0, 20.0])
    >>> ax = plot_rmse(snr, {"MUSIC": [0.3, 0.1, np.nan], "ESPRIT": [0.35, 0.12, 0.04]},
    ...                bounds={"CRB": [0.2, 0.06, 0.02]}, ax=ax, ylabel="RMSE [deg]")
    >>> [line.get_label() for line in ax.get_lines()], ax.get_yscale()
    (['MUSIC', 'ESPRIT', 'CRB'], 'log')

    Method ids take their style from :data:`METHOD_STYLES`; an equal curve says so:

    >>> fig, ax = ieee_figure()
    >>> ax = plot_rmse(snr, {"music": [0.3, 0.1, 0.03], "root_music": [0.3, 0.1, 0.03]},
    ...                bounds={"crb": [0.2, 0.06, 0.02]}, ax=ax, legend=False)
    >>> [line.get_label() for line in ax.get_lines()]
    ['MUSIC', 'root-MUSIC (= MUSIC)', 'CRB']
    """
    xv = _host_1d(x, "x")
    if not isinstance(curves, Mapping):
        raise TypeError(f"`curves` must be a dict of label -> array; got {type(curves).__name__}.")
    if not curves:
        raise ValueError("`curves` must hold at least one curve; got an empty dict.")
    if bounds is not None and not isinstance(bounds, Mapping):
        raise TypeError(f"`bounds` must be a dict of label -> array or None; got {type(bounds).__name__}.")
    logy = _check_bool(logy, "logy")
    legend = _check_bool(legend, "legend")
    lines = []
    for group, style in ((curves, "curve"), (bounds or {}, "bound")):
        for label, y in group.items():
            if not isinstance(label, str):
                raise TypeError(f"`{style}s` keys must be str labels; got {label!r}.")
            yv = _host_1d(y, f"{style}s[{label!r}]", allow_nan=True, n=xv.shape[0])
            if logy and np.any(yv[~np.isnan(yv)] <= 0):
                raise ValueError(f"`{style}s[{label!r}]` has values <= 0, which a log axis cannot show; "
                                 "pass logy=False.")
            lines.append((style, label, yv))
    ax = _check_ax(ax)
    i_curve = 0
    drawn: list[tuple[str, str, np.ndarray]] = []
    for style, key, yv in lines:
        if key in METHOD_STYLES:
            kw = METHOD_STYLES[key].line_kwargs()
        elif style == "curve":
            kw = {"marker": _MARKERS[i_curve % len(_MARKERS)], "markersize": _MARKER_SIZE, "label": key,
                  "linewidth": _LINE_WIDTH}
        else:
            kw = {"linestyle": "--", "color": "0.3" if len(bounds) == 1 else None, "label": key,
                  "linewidth": _LINE_WIDTH, "marker": "None"}
        if style == "curve":
            i_curve += 1
        twins = [(lab, prev) for kind, lab, prev in drawn if kind == style and _coincides(prev, yv, coincide_rtol)]
        label = kw["label"]
        if twins:
            tag = _EQUAL if _coincides(twins[0][1], yv, 1e-9) else _NEAR
            kw["label"] = f"{label}{tag}{twins[0][0]})"
            if kw.get("marker") not in (None, "None", ""):   # each further twin a larger open ring
                kw.update(markerfacecolor="none", markersize=_MARKER_SIZE * (1.0 + 0.8 * len(twins)))
            else:                                            # a bound: a wider line under the earlier one
                kw["linewidth"] = _LINE_WIDTH * 2.2
                kw["zorder"] = 1.5
        ax.plot(xv, yv, **kw)
        drawn.append((style, label, yv))
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    if legend:
        ax.legend(fontsize=_label_size(ax) - 1)
    return ax


def plot_range_doppler(power: Any, ranges_m: Any, velocities_mps: Any, *, ax=None, truth=None,
                       db: bool = True, dynamic_range_db: float = 60.0, colorbar: bool = True,
                       cmap: str = "viridis", zoom: bool = False, zoom_cells: float = 6.0):
    """Range-Doppler map (velocity on x, range on y).

    Parameters
    ----------
    power : array, shape (n_range, n_velocity), real, >= 0
        Periodogram power (linear), e.g. :math:`|\\mathrm{FFT}_2|^2`.
    ranges_m : array, shape (n_range,)
        Range of each row [m].
    velocities_mps : array, shape (n_velocity,)
        Radial velocity of each column [m/s].
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.
    truth : tuple (ranges_m, velocities_mps), optional
        True targets, drawn as red crosses labelled ``"ground truth"`` (for a legend).
    db : bool, default=True
        Show :math:`10\\log_{10}(P / \\max P)` [dB], floored at ``-dynamic_range_db``.
    dynamic_range_db : float, default=60
        Colour range below the peak [dB] (values under it, zeros included, show at the floor).
    colorbar : bool, default=True
        Add a colour bar next to ``ax``.
    cmap : str, default="viridis"
    zoom : bool, default=False
        Limit the axes to the targets' region of ``truth``, widened by ``zoom_cells`` bins of
        each axis (and by 15 % of the targets' spread) on every side, within the map.
    zoom_cells : float, default=6
        Margin of ``zoom`` in bins of the range and velocity axes.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np
    >>> from sensing.plotting import ieee_figure, plot_range_doppler
    >>> fig, ax = ieee_figure()
    >>> ranges, velocities = np.linspace(0.0, 100.0, 32), np.linspace(-20.0, 20.0, 16)
    >>> power = np.full((32, 16), 1e-3)
    >>> power[10, 12] = 1.0                                # one target
    >>> ax = plot_range_doppler(power, ranges, velocities, ax=ax, truth=([ranges[10]], [velocities[12]]))
    >>> ax.get_xlabel(), ax.get_ylabel(), len(fig.axes)    # plus a colour bar
    ('velocity [m/s]', 'range [m]', 2)
    """
    p = np.asarray(to_numpy(power) if hasattr(power, "shape") else power)
    if p.dtype.kind not in "biuf":
        raise TypeError(f"`power` must be real (pass |X|**2 for complex data); got dtype {p.dtype}.")
    if p.ndim != 2:
        raise ValueError(f"`power` must have shape (n_range, n_velocity); got shape {p.shape}.")
    p = p.astype(np.float64)
    if not np.all(np.isfinite(p)):
        raise ValueError("`power` must be finite; got NaN/inf entries.")
    if np.any(p < 0):
        raise ValueError(f"`power` must be >= 0 (a power); got minimum {p.min():g}.")
    r = _host_1d(ranges_m, "ranges_m", n=p.shape[0])
    v = _host_1d(velocities_mps, "velocities_mps", n=p.shape[1])
    db = _check_bool(db, "db")
    colorbar = _check_bool(colorbar, "colorbar")
    if isinstance(dynamic_range_db, bool) or not isinstance(dynamic_range_db, numbers.Real) \
            or not (math.isfinite(dynamic_range_db) and dynamic_range_db > 0):
        raise ValueError(f"`dynamic_range_db` must be a finite number > 0; got {dynamic_range_db!r}.")
    tr = tv = None
    if truth is not None:
        if not isinstance(truth, (tuple, list)) or len(truth) != 2:
            raise TypeError("`truth` must be a pair (ranges_m, velocities_mps); got "
                            f"{type(truth).__name__}.")
        tr = _host_1d(np.atleast_1d(to_numpy(truth[0]) if hasattr(truth[0], "shape") else truth[0]), "truth[0]")
        tv = _host_1d(np.atleast_1d(to_numpy(truth[1]) if hasattr(truth[1], "shape") else truth[1]), "truth[1]",
                      n=tr.shape[0])
    zoom = _check_bool(zoom, "zoom")
    if zoom and tr is None:
        raise ValueError("`zoom` needs `truth` (the targets' region); got truth=None.")
    if isinstance(zoom_cells, bool) or not isinstance(zoom_cells, numbers.Real) or not zoom_cells >= 0:
        raise ValueError(f"`zoom_cells` must be a number >= 0; got {zoom_cells!r}.")
    z = _to_db(p, float(dynamic_range_db), "power") if db else p
    ax = _check_ax(ax)
    kw = {"vmin": -float(dynamic_range_db), "vmax": 0.0} if db else {}
    mesh = ax.pcolormesh(v, r, z, shading="nearest", cmap=cmap, rasterized=True, **kw)
    if tr is not None:
        ax.plot(tv, tr, linestyle="none", marker="x", color="red", markersize=6, markeredgewidth=1.2,
                label="ground truth")
    if zoom:
        for vals, axis, setter in ((tv, v, ax.set_xlim), (tr, r, ax.set_ylim)):
            step = float(np.median(np.abs(np.diff(axis)))) if axis.size > 1 else 1.0
            lo, hi = float(np.min(vals)), float(np.max(vals))
            pad = float(zoom_cells) * step + 0.15 * (hi - lo)
            edge = (float(np.min(axis)) - step / 2, float(np.max(axis)) + step / 2)
            setter(max(lo - pad, edge[0]), min(hi + pad, edge[1]))
    ax.set_xlabel("velocity [m/s]")
    ax.set_ylabel("range [m]")
    if colorbar:
        cb = ax.figure.colorbar(mesh, ax=ax)
        cb.set_label("power [dB]" if db else "power", fontsize=_label_size(ax))
        cb.ax.tick_params(labelsize=_tick_size(ax))
    return ax


def plot_angular_spectrum(grid_rad: Any, spectrum: Any, *, ax=None, truth_rad: Any = None, db: bool = True,
                          dynamic_range_db: float = 60.0, **line_kw):
    """Angular (pseudo-)spectrum against angle in degrees, normalised to its peak.

    Parameters
    ----------
    grid_rad : array, shape (n_grid,)
        Angle grid [rad] (package convention: broadside = 0).
    spectrum : array, shape (n_grid,), real, >= 0
        Spectrum on the grid (linear), e.g. MUSIC pseudo-spectrum or beamscan power.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.
    truth_rad : float or array, optional
        True angles [rad], drawn as dotted vertical lines.
    db : bool, default=True
        Show :math:`10\\log_{10}(S/\\max S)` [dB] floored at ``-dynamic_range_db``; else
        :math:`S/\\max S`.
    dynamic_range_db : float, default=60
    **line_kw
        Passed to :meth:`matplotlib.axes.Axes.plot` (e.g. ``label="MUSIC"``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np
    >>> from sensing.plotting import ieee_figure, plot_angular_spectrum
    >>> fig, ax = ieee_figure()
    >>> grid = np.linspace(-np.pi / 2, np.pi / 2, 181)
    >>> spectrum = 1.0 / (1e-3 + (grid - 0.3) ** 2)
    >>> ax = plot_angular_spectrum(grid, spectrum, ax=ax, truth_rad=[0.3], label="MUSIC")
    >>> line = ax.get_lines()[0]
    >>> line.get_label(), float(line.get_ydata().max()), ax.get_ylabel()   # peak at 0 dB
    ('MUSIC', 0.0, 'normalized spectrum [dB]')
    """
    g = _host_1d(grid_rad, "grid_rad")
    s = _host_1d(spectrum, "spectrum", n=g.shape[0])
    if np.any(s < 0):
        raise ValueError(f"`spectrum` must be >= 0; got minimum {s.min():g}.")
    db = _check_bool(db, "db")
    if isinstance(dynamic_range_db, bool) or not isinstance(dynamic_range_db, numbers.Real) \
            or not (math.isfinite(dynamic_range_db) and dynamic_range_db > 0):
        raise ValueError(f"`dynamic_range_db` must be a finite number > 0; got {dynamic_range_db!r}.")
    truth = None
    if truth_rad is not None:
        t = to_numpy(truth_rad) if hasattr(truth_rad, "shape") else truth_rad
        truth = _host_1d(np.atleast_1d(np.asarray(t)), "truth_rad")
    if db:
        y = _to_db(s, float(dynamic_range_db), "spectrum")
    else:
        peak = float(np.max(s))
        if not peak > 0:
            raise ValueError(f"`spectrum` must have a positive maximum; got max {peak:g}.")
        y = s / peak
    ax = _check_ax(ax)
    ax.plot(np.degrees(g), y, **line_kw)
    for a in () if truth is None else truth:
        ax.axvline(np.degrees(a), color="0.5", linestyle=":", linewidth=1.0)
    ax.set_xlabel("angle [deg]")
    ax.set_ylabel("normalized spectrum [dB]" if db else "normalized spectrum")
    return ax


# --------------------------------------------------------------------------------------------
# figure and data output (for scripts)
# --------------------------------------------------------------------------------------------
def ieee_figure(ncols: int = 1, nrows: int = 1, *, columns: int | None = None, height_ratio: float = 0.75):
    """A figure sized for an IEEE paper, with small fonts, not registered with pyplot.

    Parameters
    ----------
    ncols, nrows : int, default=1
        Subplot grid.
    columns : {1, 2}, optional
        Width: one column (3.5 in) or the full two-column text width (7.16 in). Default: one
        column for a single panel per row, the full text width for two or more panels side by
        side.
    height_ratio : float, default=0.75
        Height of one subplot row over the width of one subplot column, in (0, 4].

    Returns
    -------
    fig : matplotlib.figure.Figure
        Constrained layout; 8 pt labels and 7 pt tick labels (the sizes of the module notes). It
        is not managed by pyplot (no
        window, nothing to close); save it with :func:`save_figure`.
    axes : Axes or numpy.ndarray of Axes
        A single Axes for a 1 x 1 grid, else an array of shape (nrows, ncols) squeezed as
        :func:`matplotlib.pyplot.subplots` does.

    Examples
    --------
    >>> from sensing.plotting import ieee_figure
    >>> fig, axes = ieee_figure(2, 1, columns=2)           # two panels side by side, full text width
    >>> axes.shape, [round(float(v), 2) for v in fig.get_size_inches()]
    ((2,), [7.16, 2.69])
    """
    from matplotlib.figure import Figure

    for name, v in (("ncols", ncols), ("nrows", nrows)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"`{name}` must be an integer in [1, 8]; got {v!r}.")
        if not 1 <= v <= 8:
            raise ValueError(f"`{name}` must be an integer in [1, 8]; got {v}.")
    if columns is None:
        columns = 1 if ncols == 1 else 2
    if columns not in (1, 2) or isinstance(columns, bool):
        raise ValueError(f"`columns` must be 1 (single column, 3.5 in) or 2 (7.16 in); got {columns!r}.")
    if isinstance(height_ratio, bool) or not isinstance(height_ratio, numbers.Real) \
            or not (0 < height_ratio <= 4):
        raise ValueError(f"`height_ratio` must be a number in (0, 4]; got {height_ratio!r}.")
    width = IEEE_COLUMN_WIDTH_IN if columns == 1 else IEEE_TEXT_WIDTH_IN
    height = nrows * (width / ncols) * float(height_ratio)
    fig = Figure(figsize=(width, height), layout="constrained", dpi=100)
    axes = fig.subplots(nrows, ncols, squeeze=True)
    for ax in np.atleast_1d(axes).ravel():
        ax.xaxis.label.set_fontsize(_IEEE_FONT["label"])
        ax.yaxis.label.set_fontsize(_IEEE_FONT["label"])
        ax.title.set_fontsize(_IEEE_FONT["title"])
        ax.tick_params(which="both", labelsize=_IEEE_FONT["tick"])
    return fig, axes


def _figure_of(obj):
    from matplotlib.figure import Figure

    if isinstance(obj, Figure):
        return obj
    from matplotlib.axes import Axes

    if isinstance(obj, Axes):
        return obj.figure
    raise TypeError(f"`fig` must be a matplotlib Figure or Axes; got {type(obj).__name__}.")


def figure_legend(fig, *, ncol: int | None = None, loc: str = "outside lower center", title: str | None = None):
    """One legend for the whole figure, outside the data (below the panels by default).

    Collects the labelled lines, markers and bars of every Axes of ``fig`` (once per label, in
    drawing order) and removes any Axes legend, so a multi-panel figure has one shared legend.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        A constrained-layout figure (:func:`ieee_figure`), which makes room for the legend.
    ncol : int, optional
        Legend columns; default as many as fit the figure width (about 1.7 in per column).
    loc : str, default="outside lower center"
        Any of matplotlib's ``"outside ..."`` locations (e.g. ``"outside right upper"``).
    title : str, optional

    Returns
    -------
    matplotlib.legend.Legend or None
        None when nothing is labelled.

    Examples
    --------
    >>> from sensing.plotting import figure_legend, ieee_figure, plot_rmse
    >>> fig, axes = ieee_figure(2)
    >>> for ax in axes:
    ...     _ = plot_rmse([0, 10], {"music": [1.0, 0.1]}, bounds={"crb": [0.5, 0.05]}, ax=ax, legend=False)
    >>> leg = figure_legend(fig)
    >>> [t.get_text() for t in leg.get_texts()], leg in fig.legends, axes[0].get_legend() is None
    (['MUSIC', 'CRB'], True, True)
    """
    fig = _figure_of(fig)
    entries: dict[str, Any] = {}          # base label -> (handle, label)
    twins = False
    for ax in fig.axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            base, twin = _twin_base(lab)
            if base not in entries or (_twin_base(entries[base][1])[1] and not twin):
                if base in entries:
                    twins = True          # a panel drew it as a twin: say so once, below
                entries[base] = (h, lab)
            elif twin:
                twins = True
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    if not entries:
        return None
    handles = [h for h, _ in entries.values()]
    labels = [lab for _, lab in entries.values()]
    if twins:
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], linestyle="none", marker="o", markersize=_MARKER_SIZE * 1.8,
                              markerfacecolor="none", color="0.3"))
        labels.append("open marker: on an equal curve")
    if ncol is None:
        width = float(fig.get_size_inches()[0])
        longest = max(len(lab) for lab in labels)
        per_col = max(1.0, 0.055 * longest + 0.35)          # ~6.5 pt text plus the handle [in]
        ncol = max(1, min(len(labels), int(width // per_col)))
    return fig.legend(handles, labels, loc=loc, ncol=int(ncol), fontsize=_IEEE_FONT["legend"], frameon=False,
                      title=title, title_fontsize=_IEEE_FONT["legend"], handlelength=2.4, columnspacing=1.2)


def figure_note(fig, text: str):
    """State the run's size on the figure: a small title line (e.g. ``"20 trials/point, N = 100"``).

    Examples
    --------
    >>> from sensing.plotting import figure_note, ieee_figure
    >>> fig, ax = ieee_figure()
    >>> figure_note(fig, "20 trials per point").get_text()
    '20 trials per point'
    """
    fig = _figure_of(fig)
    if not isinstance(text, str) or not text:
        raise TypeError(f"`text` must be a non-empty str; got {text!r}.")
    return fig.suptitle(text, fontsize=_IEEE_FONT["note"], color="0.25")


def integer_ticks(ax, axis: str = "x", values: Any = None):
    """Integer ticks on an axis that counts (snapshots, users, trials, ports, iterations).

    A linear axis gets :class:`matplotlib.ticker.MaxNLocator` with ``integer=True``; a
    logarithmic one gets fixed ticks at ``values`` (the swept counts) with plain integer labels
    and no minor labels.

    Examples
    --------
    >>> from sensing.plotting import ieee_figure, integer_ticks
    >>> fig, ax = ieee_figure()
    >>> _ = ax.plot([1, 2, 3], [0.1, 0.2, 0.3])
    >>> integer_ticks(ax)
    >>> type(ax.xaxis.get_major_locator()).__name__
    'MaxNLocator'
    """
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullFormatter

    if axis not in ("x", "y"):
        raise ValueError(f"`axis` must be 'x' or 'y'; got {axis!r}.")
    a = ax.xaxis if axis == "x" else ax.yaxis
    if a.get_scale() == "log":
        if values is None:
            raise ValueError("`values` (the swept counts) are needed for integer ticks on a log axis.")
        v = _host_1d(np.atleast_1d(np.asarray(values, dtype=float)), "values")
        a.set_major_locator(FixedLocator(np.unique(np.round(v))))
        a.set_major_formatter(FuncFormatter(lambda t, _pos: f"{int(round(t))}"))
        a.set_minor_formatter(NullFormatter())
    else:
        a.set_major_locator(MaxNLocator(integer=True))


def write_caption(stem: str | os.PathLike, fig=None, *, coincide_rtol: float = 0.02, **fields: Any) -> Path:
    """Write ``<stem>_caption.txt`` beside a figure: one ``key: value`` line per field.

    Give the facts a referee needs to read the figure: ``trials`` (per point), ``snr_db`` (the
    SNR points, or the fixed SNR of a curve not against SNR), ``seed`` and free-text ``notes``.
    With ``fig``, the labels of curves drawn on an equal or near-equal earlier curve (see
    :func:`plot_rmse`; ``coincide_rtol`` as passed there) are added as notes. Lists are written comma-separated; the file is plain UTF-8 text (not a
    CSV), written atomically.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from sensing.plotting import write_caption
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_caption(pathlib.Path(tmp) / "rmse", trials=20, snr_db=[0.0, 10.0], seed=1)
    ...     print(p.name); print(p.read_text(), end="")
    rmse_caption.txt
    figure: rmse
    trials: 20
    snr_db: 0, 10
    seed: 1
    """
    base = _check_out_path(stem, "stem")
    if base.suffix.lower() in (".pdf", ".png", ".svg", ".eps"):
        base = base.with_suffix("")
    notes = fields.pop("notes", None) or []
    notes = [notes] if isinstance(notes, str) else list(notes)
    if fig is not None:
        for ax in _figure_of(fig).axes:
            for line in ax.get_lines():
                label = line.get_label()
                if _twin_base(label)[1]:
                    where = f" in panel '{ax.get_ylabel()}'" if ax.get_ylabel() else ""
                    how = "equal to" if _EQUAL in label else f"within {100 * coincide_rtol:g} % of"
                    drawn_as = ("open markers on top of it" if line.get_marker() not in (None, "None", "")
                                else "a wider line under it")
                    notes.append(f"'{label}'{where}: {how} the earlier curve at every point, drawn with "
                                 f"{drawn_as}")

    def fmt(v: Any) -> str:
        if isinstance(v, (list, tuple, np.ndarray)):
            return ", ".join(fmt(x) for x in np.asarray(v).tolist()) if len(v) else "none"
        if isinstance(v, float):
            return f"{v:g}"
        return str(v)

    lines = [f"figure: {base.name}"] + [f"{k}: {fmt(v)}" for k, v in fields.items()]
    lines += [f"note: {n}" for n in dict.fromkeys(notes)]
    text = "\n".join(lines) + "\n"
    target = base.parent / f"{base.name}_caption.txt"

    def write(tmp):
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)

    _atomic_write(target, write)
    return target


def _atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` then fsync and move the file to ``path``."""
    from ._files import atomic_write

    atomic_write(path, write)


def _check_out_path(path: Any, name: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`{name}` must be a str or os.PathLike; got {type(path).__name__}.")
    if str(path) == "":
        raise ValueError(f"`{name}` must be a non-empty path; got {path!r}.")
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"`{name}` folder {str(folder)!r} does not exist; create it first.")
    return p


def save_figure(fig, stem: str | os.PathLike, *, formats: Sequence[str] = ("pdf", "png"),
                dpi: int = 300) -> list[Path]:
    """Write ``fig`` as ``stem.pdf`` and ``stem.png`` (300 dpi), each atomically.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    stem : str or os.PathLike
        Output path without extension (a trailing ``.pdf``/``.png`` is dropped). Its folder
        must exist.
    formats : sequence of {"pdf", "png", "svg", "eps"}, default=("pdf", "png")
    dpi : int, default=300
        Raster resolution (PNG, and rasterised artists inside the PDF).

    Returns
    -------
    list of pathlib.Path
        The files written, in ``formats`` order.

    Notes
    -----
    PDFs embed TrueType (Type 42) fonts, as IEEE PDF eXpress requires (no Type 3 fonts), and
    carry no creation date, so identical figures give identical PDFs.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from sensing.plotting import ieee_figure, save_figure
    >>> fig, ax = ieee_figure()
    >>> _ = ax.plot([0, 1], [1, 0])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = save_figure(fig, pathlib.Path(tmp) / "rmse", formats=("pdf", "png"), dpi=100)
    ...     names = [p.name for p in paths]
    ...     sizes_ok = all(p.stat().st_size > 0 for p in paths)
    >>> names, sizes_ok
    (['rmse.pdf', 'rmse.png'], True)
    """
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(f"`fig` must be a matplotlib Figure; got {type(fig).__name__}.")
    base = _check_out_path(stem, "stem")
    if base.suffix.lower() in (".pdf", ".png", ".svg", ".eps"):
        base = base.with_suffix("")
    if isinstance(formats, str) or not isinstance(formats, Sequence) or not formats:
        raise TypeError(f"`formats` must be a non-empty sequence such as ('pdf', 'png'); got {formats!r}.")
    for f in formats:
        if f not in ("pdf", "png", "svg", "eps"):
            raise ValueError(f"`formats` entries must be one of 'pdf', 'png', 'svg', 'eps'; got {f!r}.")
    if isinstance(dpi, bool) or not isinstance(dpi, numbers.Integral) or not 50 <= dpi <= 2400:
        raise ValueError(f"`dpi` must be an integer in [50, 2400]; got {dpi!r}.")
    out = []
    with rc_context({"pdf.fonttype": 42, "ps.fonttype": 42, "svg.hashsalt": "subspace-sensing"}):
        for fmt in formats:
            target = base.parent / f"{base.name}.{fmt}"
            meta = {"CreationDate": None} if fmt == "pdf" else {"Date": None} if fmt == "svg" else None
            _atomic_write(target, lambda tmp, fmt=fmt, meta=meta: fig.savefig(
                tmp, format=fmt, dpi=int(dpi), metadata=meta))
            out.append(target)
    return out


def _csv_cell(v: Any) -> Any:
    if isinstance(v, (bool, np.bool_)):
        return str(int(v))
    if isinstance(v, (numbers.Integral,)):
        return str(int(v))
    if isinstance(v, numbers.Real):
        return repr(float(v))  # shortest repr that round-trips; 'nan'/'inf' read by pgfplots
    return str(v)


#: Characters no CSV cell or column name may hold: pgfplots' table reader knows no quoting (a
#: quoted ``"a,b"`` is two cells to ``col sep=comma``), ``%`` ends the line for TeX, ``#`` is
#: TeX's parameter character and a backslash starts a control sequence.
CSV_FORBIDDEN_CHARS = (",", '"', "\n", "\r", "%", "#", "\\")


def _csv_safe(text: str, delimiter: str, what: str) -> None:
    bad = [c for c in (*CSV_FORBIDDEN_CHARS, delimiter) if c in text]
    if bad:
        raise ValueError(
            f"{what} is {text!r}, which holds {bad[0]!r}: CSV cells and column names must not contain "
            f"{' '.join(repr(c) for c in CSV_FORBIDDEN_CHARS)} or the delimiter, so that pgfplots "
            "(`col sep=comma`, no quoting) and pandas read the same cells; use a key such as "
            "'plain' or a label without them."
        )


def write_csv(path: str | os.PathLike, columns: Mapping[str, Any], *, delimiter: str = ",") -> Path:
    """Write equal-length columns to a CSV file (header row, full precision), atomically.

    Every file reads the same with pgfplots (``col sep=comma``), pandas and a plain split on the
    delimiter: nothing is ever quoted, so column names and string cells holding a comma, quote,
    newline, ``%``, ``#``, backslash or the delimiter are refused (see
    :data:`CSV_FORBIDDEN_CHARS`).

    Parameters
    ----------
    path : str or os.PathLike
        Output file; its folder must exist.
    columns : dict of str to array of shape (n_rows,)
        Column name -> values (real numbers, bools or strings). Floats are written with
        ``repr`` precision (they read back bit-exactly); NaN is written as ``nan``, which
        pgfplots treats as a gap (``unbounded coords=jump``), infinities as ``inf``/``-inf``;
        bools as 0/1.
    delimiter : str, default=","
        One character (pgfplots: ``col sep=comma``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        Columns of different lengths or not 1-D, or a column name or string cell holding one
        of the characters above (the message names the column and row).
    TypeError
        Column values that are not real numbers, bools or strings.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> p = write_csv(folder / "rmse.csv", {"snr_db": [0.0, 10.0], "rmse_deg_music": [0.5, float("nan")]})
    >>> print(p.read_text(), end="")
    snr_db,rmse_deg_music
    0.0,0.5
    10.0,nan
    """
    p = _check_out_path(path, "path")
    if not isinstance(columns, Mapping):
        raise TypeError(f"`columns` must be a dict of name -> 1-D array; got {type(columns).__name__}.")
    if not columns:
        raise ValueError("`columns` must hold at least one column; got an empty dict.")
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\"\r\n":
        raise ValueError(f"`delimiter` must be one character other than a quote or newline; got {delimiter!r}.")
    data = []
    n = None
    for name, values in columns.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"`columns` keys must be non-empty str; got {name!r}.")
        arr = np.asarray(to_numpy(values) if hasattr(values, "shape") else values)
        if arr.ndim != 1:
            raise ValueError(f"`columns[{name!r}]` must be 1-D; got shape {arr.shape}.")
        if arr.dtype.kind not in "biufU":
            raise TypeError(f"`columns[{name!r}]` must hold real numbers, bools or strings; got dtype {arr.dtype}.")
        _csv_safe(name, delimiter, "a `columns` key")
        if arr.dtype.kind == "U":
            for i, cell in enumerate(arr.tolist()):
                _csv_safe(cell, delimiter, f"`columns[{name!r}]` row {i}")
        if n is None:
            n = arr.shape[0]
        elif arr.shape[0] != n:
            raise ValueError(f"`columns[{name!r}]` has length {arr.shape[0]}; every column must have "
                             f"length {n} (that of the first column).")
        data.append(arr)
    lines = [delimiter.join(columns)]
    lines += [delimiter.join(_csv_cell(v) for v in row) for row in zip(*(a.tolist() for a in data))]
    text = "\n".join(lines) + "\n"

    def write(tmp):
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)

    _atomic_write(p, write)
    return p

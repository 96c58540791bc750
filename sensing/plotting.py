"""Plot helpers for papers, and figure/CSV output for scripts.

The ``plot_*`` helpers draw on the Axes they are given (or on a new figure when ``ax`` is None)
and return it; they never call ``show`` or ``savefig`` and set no global style. Scripts own the
figure: :func:`ieee_figure` makes one sized for an IEEE column, :func:`save_figure` writes it as
PDF and PNG, and :func:`write_csv` writes the plotted numbers for pgfplots. matplotlib is imported
only inside the functions.

All inputs are in SI units and radians; degrees and dB appear only on the axes.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._backend import to_numpy

__all__ = [
    "plot_rmse",
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
_IEEE_FONT = {"label": 8.0, "tick": 7.0, "title": 8.0}


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
def plot_rmse(x: Any, curves: Mapping[str, Any], *, bounds: Mapping[str, Any] | None = None, ax=None,
              xlabel: str = "SNR [dB]", ylabel: str = "RMSE", logy: bool = True, legend: bool = True):
    """RMSE curves against a swept parameter, with bound curves (e.g. CRB) dashed.

    Parameters
    ----------
    x : array, shape (n_points,)
        Swept values (e.g. SNR [dB]), finite.
    curves : dict of str to array of shape (n_points,)
        One line with markers per estimator, labelled by its key. NaN (e.g. no matched pair at
        that point) leaves a gap.
    bounds : dict of str to array of shape (n_points,), optional
        Bounds drawn as dashed lines without markers.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.
    xlabel, ylabel : str
        Axis labels (put the unit in ``ylabel``, e.g. ``"RMSE [deg]"``).
    logy : bool, default=True
        Logarithmic y axis; then every non-NaN value must be > 0.
    legend : bool, default=True
        Add a legend.

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
    """
    xv = _host_1d(x, "x")
    if not isinstance(curves, Mapping):
        raise TypeError(f"`curves` must be a dict of label -> array; got {type(curves).__name__}.")
    if not curves:
        raise ValueError("`curves` must hold at least one curve; got an empty dict.")
    if bounds is not None and not isinstance(bounds, Mapping):
        raise TypeError(f"`bounds` must be a dict of label -> array or None; got {type(bounds).__name__}.")
    logy = _check_bool(logy, "logy")
    _check_bool(legend, "legend")
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
    for style, label, yv in lines:
        if style == "curve":
            ax.plot(xv, yv, marker=_MARKERS[i_curve % len(_MARKERS)], markersize=4, label=label)
            i_curve += 1
        else:
            ax.plot(xv, yv, linestyle="--", color="0.3" if len(bounds) == 1 else None, label=label)
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
                       cmap: str = "viridis"):
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
        True targets, drawn as red crosses.
    db : bool, default=True
        Show :math:`10\\log_{10}(P / \\max P)` [dB], floored at ``-dynamic_range_db``.
    dynamic_range_db : float, default=60
        Colour range below the peak [dB] (values under it, zeros included, show at the floor).
    colorbar : bool, default=True
        Add a colour bar next to ``ax``.
    cmap : str, default="viridis"

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
    z = _to_db(p, float(dynamic_range_db), "power") if db else p
    ax = _check_ax(ax)
    kw = {"vmin": -float(dynamic_range_db), "vmax": 0.0} if db else {}
    mesh = ax.pcolormesh(v, r, z, shading="nearest", cmap=cmap, rasterized=True, **kw)
    if tr is not None:
        ax.plot(tv, tr, linestyle="none", marker="x", color="red", markersize=6, label="truth")
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
def ieee_figure(ncols: int = 1, nrows: int = 1, *, columns: int = 1, height_ratio: float = 0.75):
    """A figure sized for an IEEE paper, with small fonts, not registered with pyplot.

    Parameters
    ----------
    ncols, nrows : int, default=1
        Subplot grid.
    columns : {1, 2}, default=1
        Width: one column (3.5 in) or the full two-column text width (7.16 in).
    height_ratio : float, default=0.75
        Height of one subplot row over the width of one subplot column, in (0, 4].

    Returns
    -------
    fig : matplotlib.figure.Figure
        Constrained layout; 8 pt labels and 7 pt tick labels. It is not managed by pyplot (no
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

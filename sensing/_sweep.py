r"""Monte Carlo sweeps: a parameter grid x independent trials, appended to disk as they finish.

:func:`run_sweep` calls a task once per (grid point, trial), in local processes, in-process, or
on a ``dask.distributed`` cluster, and appends each result to a JSON Lines file as soon as it
arrives (flushed and fsync'ed), so an interrupted sweep loses nothing that had finished and
``resume=True`` continues it without redoing any (point, trial).

Random streams (SPEC 7: spawned, never ``seed + index``). With ``root = SeedSequence(seed)``,
trial :math:`t` owns the child ``root.spawn(...)[t]`` (spawn key ``(t,)``); its first child
``(t, 0)`` drives :attr:`TrialRngs.realisation`, identical for every grid point of that trial
(so one channel realisation serves a whole SNR sweep), and ``(t, 1, p)`` drives
:attr:`TrialRngs.noise` for point :math:`p`. The streams depend only on ``(seed, t, p)``: not on
the executor, the number of workers, the completion order, or ``n_trials``.

The results file:

.. code-block:: text

    {"format": "subspace-sensing-sweep", "format_version": 1, "fingerprint": ..., "seed": 0,
     "n_trials": 100, "points": [{"snr_db": -10.0}, ...], "created_utc": "..."}
    {"point_index": 0, "trial": 0, "snr_db": -10.0, "rmse_deg": 0.31, ...}
    ...

Floats are written with ``repr`` precision; NaN and infinities as ``NaN``/``Infinity`` (what
Python's :mod:`json` reads back).
"""

from __future__ import annotations

import itertools
import json
import math
import numbers
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ._files import atomic_write

__all__ = ["TrialRngs", "SweepResult", "grid", "run_sweep", "load_results", "trial_rngs"]

SWEEP_FORMAT = "subspace-sensing-sweep"
SWEEP_FORMAT_VERSION = 1
_RESERVED = ("point_index", "trial")
_EXECUTORS = ("serial", "processes", "dask")
_REDUCTIONS = ("mean", "rmse", "median", "std", "sum", "min", "max", "count")
COMPILE_NOTICE = "compiling kernels (first run only) ..."
_compile_notice_shown = False  # the notice is printed at most once per process


# --------------------------------------------------------------------------------------------
# random streams
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrialRngs:
    """Random generators of one (trial, grid point).

    Attributes
    ----------
    trial : int
        Trial index :math:`t` in ``[0, n_trials)``.
    point_index : int
        Grid point index :math:`p`.
    realisation : numpy.random.Generator
        Fresh generator, identical for every point of trial :math:`t` (spawn key ``(t, 0)``):
        draw the scene, targets and channel from it to reuse one realisation across the grid.
    noise : numpy.random.Generator
        Generator unique to :math:`(t, p)` (spawn key ``(t, 1, p)``): draw noise and symbols.
    """

    trial: int
    point_index: int
    realisation: np.random.Generator
    noise: np.random.Generator


def trial_rngs(seed: int, trial: int, point_index: int) -> TrialRngs:
    """The :class:`TrialRngs` that :func:`run_sweep` hands to ``task`` for (trial, point).

    Examples
    --------
    >>> from sensing import trial_rngs
    >>> a, b = trial_rngs(0, trial=3, point_index=0), trial_rngs(0, trial=3, point_index=1)
    >>> a.realisation.random() == b.realisation.random()   # one scene per trial, shared by the grid
    True
    >>> a.noise.random() == b.noise.random()               # noise unique to (trial, point)
    False
    """
    seed = _check_seed(seed)
    trial = _check_nonneg_int(trial, "trial")
    point_index = _check_nonneg_int(point_index, "point_index")
    real = np.random.SeedSequence(seed, spawn_key=(trial, 0))
    noise = np.random.SeedSequence(seed, spawn_key=(trial, 1, point_index))
    return TrialRngs(trial, point_index, np.random.default_rng(real), np.random.default_rng(noise))


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------
def _check_nonneg_int(value: Any, name: str, low: int = 0) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer >= {low}; got {value!r}.")
    if int(value) < low:
        raise ValueError(f"`{name}` must be an integer >= {low}; got {int(value)}.")
    return int(value)


def _check_seed(seed: Any) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"`seed` must be a non-negative integer (the sweep's root seed); got {seed!r}.")
    if int(seed) < 0:
        raise ValueError(f"`seed` must be a non-negative integer; got {int(seed)}.")
    return int(seed)


def _scalar(value: Any, where: str, *, allow_nonfinite: bool, allow_none: bool = False) -> Any:
    """Python scalar (bool, int, float, str) from a Python/NumPy scalar, or raise."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        v = float(value)
        if not allow_nonfinite and not math.isfinite(v):
            raise ValueError(f"`{where}` must be finite; got {v}.")
        return v
    if isinstance(value, str):
        return value
    kinds = "int, float, bool, str" + (" or None" if allow_none else "")
    raise TypeError(f"`{where}` must be a scalar ({kinds}); got {type(value).__name__} {value!r}.")


def _check_points(points: Any) -> list[dict[str, Any]]:
    if isinstance(points, (str, bytes, Mapping)) or not isinstance(points, Sequence):
        raise TypeError(
            f"`points` must be a sequence of dicts (e.g. sensing.grid(snr_db=[0, 10])); "
            f"got {type(points).__name__}."
        )
    if len(points) == 0:
        raise ValueError("`points` must hold at least one grid point; got an empty sequence.")
    out = []
    for i, point in enumerate(points):
        if not isinstance(point, Mapping):
            raise TypeError(f"`points[{i}]` must be a dict of scalar parameters; got {type(point).__name__}.")
        clean = {}
        for key, value in point.items():
            if not isinstance(key, str) or not key:
                raise TypeError(f"`points[{i}]` keys must be non-empty strings; got {key!r}.")
            if key in _RESERVED:
                raise ValueError(f"`points[{i}]` may not use the reserved key {key!r} ({', '.join(_RESERVED)}).")
            clean[key] = _scalar(value, f"points[{i}][{key!r}]", allow_nonfinite=False)
        out.append(clean)
    return out


def grid(**axes: Iterable[Any]) -> list[dict[str, Any]]:
    """Cartesian product of parameter axes, as a list of grid points.

    Parameters
    ----------
    **axes : iterable of scalars
        One keyword per parameter, e.g. ``snr_db=[-10, 0, 10]``; each value is a non-empty
        iterable (list, tuple, 1-D array) of finite numbers, bools or strings.

    Returns
    -------
    list of dict
        One dict per combination; the first axis varies slowest (``itertools.product`` order).

    Examples
    --------
    >>> grid(snr_db=[0.0, 10.0], n_targets=[1, 2])
    [{'snr_db': 0.0, 'n_targets': 1}, {'snr_db': 0.0, 'n_targets': 2}, {'snr_db': 10.0, 'n_targets': 1}, {'snr_db': 10.0, 'n_targets': 2}]
    """
    if not axes:
        raise ValueError("`axes` must name at least one parameter, e.g. grid(snr_db=[0, 10]).")
    values = []
    for name, axis in axes.items():
        if name in _RESERVED:
            raise ValueError(f"`{name}` is reserved in sweep records; choose another parameter name.")
        if isinstance(axis, (str, bytes, Mapping)) or not isinstance(axis, Iterable):
            raise TypeError(f"`{name}` must be an iterable of values (list, tuple, 1-D array); got {axis!r}.")
        if isinstance(axis, np.ndarray) and axis.ndim != 1:
            raise ValueError(f"`{name}` must be 1-D; got an array of shape {axis.shape}.")
        vals = [_scalar(v, name, allow_nonfinite=False) for v in axis]
        if not vals:
            raise ValueError(f"`{name}` must hold at least one value; got an empty axis.")
        values.append(vals)
    return [dict(zip(axes, combo)) for combo in itertools.product(*values)]


# --------------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepResult:
    """Records of a sweep, sorted by ``(point_index, trial)``.

    Attributes
    ----------
    records : list of dict
        One dict per finished (point, trial): ``point_index``, ``trial``, the point's parameters
        and the task's outputs.
    path : pathlib.Path
        The JSON Lines results file.
    n_new : int
        Records computed by this call.
    n_resumed : int
        Records found on disk and kept (``resume=True`` or :func:`load_results`).
    points : tuple of dict
        The grid.
    seed : int
        Root seed.
    n_trials : int
        Trials per point requested.
    fingerprint : str
        Identifies the task/configuration the results belong to.
    """

    records: list[dict[str, Any]]
    path: Path
    n_new: int
    n_resumed: int
    points: tuple[dict[str, Any], ...] = ()
    seed: int | None = None
    n_trials: int | None = None
    fingerprint: str | None = None

    @property
    def n_points(self) -> int:
        return len(self.points)

    def column(self, name: str) -> np.ndarray:
        """Values of one field over all records (record order), as an array.

        Raises
        ------
        ValueError
            If some record lacks ``name`` (the message lists the available names).
        """
        if not isinstance(name, str):
            raise TypeError(f"`name` must be a str; got {type(name).__name__}.")
        missing = sum(name not in r for r in self.records)
        if missing:
            avail = sorted(set().union(*(r.keys() for r in self.records))) if self.records else []
            raise ValueError(
                f"`name` {name!r} is missing from {missing} of {len(self.records)} records; "
                f"available: {', '.join(avail) or 'none'}."
            )
        values = [r[name] for r in self.records]
        if any(v is None for v in values):
            return np.asarray(values, dtype=object)
        if values and all(isinstance(v, str) for v in values):
            return np.asarray(values, dtype=str)
        if any(isinstance(v, str) for v in values):
            return np.asarray(values, dtype=object)
        return np.asarray(values)

    def keys(self, by: str = "point_index") -> np.ndarray:
        """Group keys of :meth:`aggregate`: ``arange(n_points)`` or the sorted unique ``by`` values."""
        if by == "point_index":
            return np.arange(self.n_points)
        return np.unique(self.column(by))

    def aggregate(self, metric: str, *, by: str = "point_index", reduce: str = "mean") -> np.ndarray:
        """Reduce ``metric`` over the trials of each group.

        Parameters
        ----------
        metric : str
            A numeric column (e.g. ``"error_deg"``).
        by : str, default="point_index"
            Grouping column. ``"point_index"`` gives one value per grid point (NaN for a point
            without records); any other column groups by its sorted unique values
            (:meth:`keys` returns them).
        reduce : {"mean", "rmse", "median", "std", "sum", "min", "max", "count"}, default="mean"
            ``"rmse"`` is :math:`\\sqrt{\\mathrm{mean}(|x|^2)}` (pass signed or absolute errors).
            NaN values propagate (no NaN is dropped silently).

        Returns
        -------
        numpy.ndarray, shape (n_groups,)
        """
        if reduce not in _REDUCTIONS:
            raise ValueError(f"`reduce` must be one of {', '.join(map(repr, _REDUCTIONS))}; got {reduce!r}.")
        values = self.column(metric)
        if values.dtype.kind not in "biuf":
            raise TypeError(f"`metric` {metric!r} must be a numeric column; got dtype {values.dtype}.")
        values = values.astype(np.float64)
        keys = self.keys(by)
        groups = self.column(by) if self.records else np.empty(0)
        out = np.full(keys.shape[0], np.nan)
        for i, key in enumerate(keys):
            x = values[groups == key]
            if reduce == "count":
                out[i] = x.size
            elif x.size == 0:
                continue
            elif reduce == "rmse":
                out[i] = np.sqrt(np.mean(x * x))
            else:
                out[i] = getattr(np, reduce)(x)
        return out


# --------------------------------------------------------------------------------------------
# the results file
# --------------------------------------------------------------------------------------------
def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _read_results(path: Path, *, repair: bool) -> tuple[dict | None, list[dict], int | None]:
    """Header, records, and the byte offset to truncate at when the last line is incomplete.

    A truncated (no newline or undecodable) last line is dropped; an undecodable line elsewhere
    raises. ``repair`` only reports the offset; the caller truncates.
    """
    raw = path.read_bytes()
    if not raw:
        return None, [], None
    lines = raw.split(b"\n")
    offsets = [0]
    for line in lines[:-1]:
        offsets.append(offsets[-1] + len(line) + 1)
    complete = lines[:-1]           # lines that ended with a newline
    tail = lines[-1]                # b"" when the file ends with a newline
    truncate_at = None
    if tail:
        truncate_at = offsets[-1]   # drop the partial last line
    if not complete:
        if repair:
            return None, [], 0      # only a partial header: start again
        raise ValueError(f"`results_path` {str(path)!r} holds no complete header line.")
    try:
        header = json.loads(complete[0])
    except json.JSONDecodeError as exc:
        raise ValueError(f"`results_path` {str(path)!r} does not start with a sweep header: {exc}") from exc
    if not isinstance(header, dict) or header.get("format") != SWEEP_FORMAT:
        raise ValueError(
            f"`results_path` {str(path)!r} is not a subspace-sensing sweep file (header format "
            f"{header.get('format') if isinstance(header, dict) else None!r})."
        )
    records = []
    for n, line in enumerate(complete[1:], start=2):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            if n == len(complete) and not tail:
                truncate_at = offsets[n - 1]  # a garbled final line (e.g. a crash mid-write)
                break
            raise ValueError(f"`results_path` {str(path)!r} line {n} is corrupt: {exc}") from exc
        if not isinstance(rec, dict) or not all(isinstance(rec.get(k), int) for k in _RESERVED):
            raise ValueError(f"`results_path` {str(path)!r} line {n} is not a sweep record.")
        records.append(rec)
    return header, records, truncate_at


def _sorted_unique(records: Iterable[dict]) -> list[dict]:
    seen: dict[tuple[int, int], dict] = {}
    for r in records:
        seen.setdefault((r["point_index"], r["trial"]), r)
    return [seen[k] for k in sorted(seen)]


def load_results(path: str | os.PathLike) -> SweepResult:
    """Read a sweep's results file (ignoring a truncated last line).

    Raises
    ------
    ValueError
        If the file is missing, empty, or not a sweep results file.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from sensing import grid, load_results, run_sweep
    >>> def task(point, rngs):
    ...     return {"y": 2 * point["x"]}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "results.jsonl"
    ...     _ = run_sweep(task, grid(x=[1, 2]), n_trials=2, seed=0, results_path=path,
    ...                   executor="serial", progress=False)
    ...     res = load_results(path)
    >>> res.n_new, res.n_resumed, res.n_trials, res.column("y")
    (0, 4, 2, array([2, 2, 4, 4]))
    """
    p = _check_file_path(path, "path")
    if not p.is_file():
        raise ValueError(f"`path` {str(p)!r} does not exist or is not a file.")
    header, records, _ = _read_results(p, repair=False)
    if header is None:
        raise ValueError(f"`path` {str(p)!r} is empty, not a sweep results file.")
    records = _sorted_unique(records)
    return SweepResult(records, p, 0, len(records), tuple(header.get("points", ())), header.get("seed"),
                       header.get("n_trials"), header.get("fingerprint"))


def _check_file_path(path: Any, name: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`{name}` must be a str or os.PathLike file path; got {type(path).__name__}.")
    if str(path) == "":
        raise ValueError(f"`{name}` must be a non-empty file path; got {path!r}.")
    return Path(path)


def _write_header(path: Path, header: dict) -> None:
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(_dumps(header) + "\n")

    atomic_write(path, write)


# --------------------------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------------------------
def _run_one(task: Callable, point: dict, point_index: int, trial: int, seed: int):
    """Worker body: build the streams, call the task, return (point_index, trial, outputs)."""
    rngs = trial_rngs(seed, trial, point_index)
    try:
        out = task(dict(point), rngs)
    except Exception as exc:
        exc.add_note(f"(in sweep task at point_index={point_index} {point}, trial={trial})")
        raise
    return point_index, trial, out


def _make_record(point: dict, point_index: int, trial: int, out: Any) -> dict:
    where = f"task output at point_index={point_index}, trial={trial}"
    if not isinstance(out, Mapping):
        raise TypeError(f"`task` must return a dict of scalars; got {type(out).__name__} ({where}).")
    rec: dict[str, Any] = {"point_index": point_index, "trial": trial, **point}
    for key, value in out.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"`task` output keys must be non-empty strings; got {key!r} ({where}).")
        if key in rec:
            raise ValueError(
                f"`task` output key {key!r} clashes with a point parameter or a reserved key "
                f"(point_index, trial) ({where})."
            )
        rec[key] = _scalar(value, f"task output {key!r} ({where})", allow_nonfinite=True, allow_none=True)
    return rec


class _Sink:
    """Appends records to the results file, one fsync'ed line each, and ticks the bar (if any)."""

    def __init__(self, path: Path, points: list[dict], bar=None):
        self.fh = open(path, "a", encoding="utf-8")
        self.points = points
        self.bar = bar
        self.new: list[dict] = []

    def add(self, point_index: int, trial: int, out: Any) -> None:
        rec = _make_record(self.points[point_index], point_index, trial, out)
        self.fh.write(_dumps(rec) + "\n")
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.new.append(rec)
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        self.fh.close()


def _compile_notice():
    """Context in which numba's first real compilation (not a cache load) in this process prints
    :data:`COMPILE_NOTICE` once on stderr. A no-op once the notice was shown or without numba."""
    if _compile_notice_shown:
        return nullcontext()
    try:
        from numba.core import event
    except ImportError:  # pragma: no cover - numba is a dependency
        return nullcontext()

    class _Notice(event.Listener):
        def on_start(self, ev):
            global _compile_notice_shown
            if not _compile_notice_shown:
                _compile_notice_shown = True
                print(COMPILE_NOTICE, file=sys.stderr, flush=True)

        def on_end(self, ev):
            pass

    return event.install_listener("numba:compile", _Notice())


def _run_first(task: Callable, point: dict, point_index: int, trial: int, seed: int, notice: bool):
    """:func:`_run_one` for the warm-up trial, with the compile notice if ``notice``; also returns
    whether the notice has been shown in the process that ran it (a worker's is its own)."""
    with _compile_notice() if notice else nullcontext():
        res = _run_one(task, point, point_index, trial, seed)
    return res, _compile_notice_shown


def _run_serial(task, jobs, points, seed, sink):
    for p, t in jobs:
        sink.add(*_run_one(task, points[p], p, t, seed))


def _drain(done_futures, sink):
    """Record the successful futures among ``done_futures`` (best effort after a failure)."""
    for fut in done_futures:
        try:
            if fut.exception() is not None:
                continue
            res = fut.result()
            sink.add(*res)
        except BaseException:  # a cancelled future or a bad output: nothing to keep
            continue


def _run_processes(task, jobs, points, seed, sink, workers, notice, start_bar):
    global _compile_notice_shown
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ex = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    pending: set = set()
    job_iter = iter(jobs)
    window = 4 * workers  # bounded submission keeps memory flat for long sweeps
    try:
        # warm-up: the first trial alone in one worker (the pool starts workers on demand), which
        # compiles the numba kernels into the disk cache; the other workers then load them
        p, t = next(job_iter)
        first = ex.submit(_run_first, task, points[p], p, t, seed, notice)
        pending.add(first)
        wait(pending)
        pending.clear()
        res, shown = first.result()
        _compile_notice_shown = _compile_notice_shown or shown
        sink.add(*res)
        start_bar()
        for p, t in itertools.islice(job_iter, window):
            pending.add(ex.submit(_run_one, task, points[p], p, t, seed))
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for i, fut in enumerate(done):
                try:
                    sink.add(*fut.result())
                except BaseException:
                    pending |= set(list(done)[i + 1:])  # let the handler record them
                    raise
            for p, t in itertools.islice(job_iter, len(done)):
                pending.add(ex.submit(_run_one, task, points[p], p, t, seed))
    except KeyboardInterrupt:
        for fut in pending:
            fut.cancel()
        _drain([f for f in pending if f.done() and not f.cancelled()], sink)
        ex.shutdown(wait=False, cancel_futures=True)
        raise
    except BaseException:
        for fut in pending:
            fut.cancel()
        ex.shutdown(wait=True, cancel_futures=True)  # let running trials finish and keep them
        _drain([f for f in pending if f.done() and not f.cancelled()], sink)
        raise
    ex.shutdown(wait=True)


def _import_distributed():
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            "executor='dask' needs dask.distributed: install the `distributed` extra "
            "(pip install 'subspace-sensing[distributed]')."
        ) from exc
    return distributed


def _run_dask(task, jobs, points, seed, sink, workers, scheduler, cluster_kwargs):
    distributed = _import_distributed()
    own_cluster = own_client = None
    if isinstance(scheduler, distributed.Client):
        client = scheduler
    elif scheduler is None or scheduler == "local":
        kw = {"n_workers": workers, "threads_per_worker": 1, "dashboard_address": None}
        kw.update(cluster_kwargs or {})
        own_cluster = distributed.LocalCluster(**kw)
        client = own_client = distributed.Client(own_cluster)
    else:
        client = own_client = distributed.Client(scheduler)
    futures: list = []
    done_ids: set = set()
    try:
        futures = [client.submit(_run_one, task, points[p], p, t, seed, pure=False) for p, t in jobs]
        for fut in distributed.as_completed(futures):
            res = fut.result()
            done_ids.add(fut.key)
            sink.add(*res)
    except BaseException:
        rest = [f for f in futures if f.key not in done_ids]
        finished = [f for f in rest if f.status == "finished"]
        client.cancel([f for f in rest if f.status != "finished"])
        _drain(finished, sink)
        raise
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()


def run_sweep(task: Callable[[dict, TrialRngs], Mapping[str, Any]], points: Sequence[Mapping[str, Any]], *,
              n_trials: int, seed: int, results_path: str | os.PathLike, resume: bool = False,
              executor: str = "processes", workers: int = 1, scheduler: Any = None,
              progress: bool = True, desc: str | None = None, fingerprint: str | None = None,
              cluster_kwargs: Mapping[str, Any] | None = None) -> SweepResult:
    """Run ``task`` for every (grid point, trial), appending each result to disk as it finishes.

    Parameters
    ----------
    task : callable ``task(point, rngs) -> dict``
        Module-level (picklable) function. ``point`` is a copy of one grid point's dict;
        ``rngs`` a :class:`TrialRngs`. It returns a dict of scalars (int, float, bool, str,
        None) whose keys differ from the point's and from ``point_index``/``trial``.
    points : sequence of dict
        The grid (see :func:`grid`): scalar parameters, finite numbers, bools or strings.
    n_trials : int
        Trials per point, >= 1.
    seed : int
        Root seed (>= 0) of every random stream (see :class:`TrialRngs`).
    results_path : str or os.PathLike
        JSON Lines file: a header, then one record per finished (point, trial). Its folder
        must exist.
    resume : bool, default=False
        Continue the sweep in ``results_path``: every (point_index, trial) found there is kept
        and not recomputed; a truncated last line is discarded. The file's fingerprint, seed
        and points must equal this call's (``n_trials`` may differ: trials beyond the file's
        are added, and only trials ``< n_trials`` are returned).
    executor : {"processes", "serial", "dask"}, default="processes"
        ``"processes"``: a spawn-based :class:`concurrent.futures.ProcessPoolExecutor` with
        ``workers`` processes (``workers=1`` runs in-process, like ``"serial"``).
        ``"dask"``: a ``dask.distributed`` client (needs the ``distributed`` extra).
    workers : int, default=1
        Worker processes (``"processes"``, or a LocalCluster started for ``"dask"``).
    scheduler : str or distributed.Client, optional
        For ``"dask"``: a scheduler address such as ``"tcp://10.0.0.5:8786"``, an existing
        ``Client`` (left open), or None/``"local"`` to start a LocalCluster of ``workers``
        single-threaded processes that is closed afterwards.
    progress : bool, default=True
        Show a tqdm bar over (point, trial) pairs, starting at the number already done. If the
        first trial of this call compiles numba kernels (a cold cache: the first run after an
        install or an upgrade), ``compiling kernels (first run only) ...`` is printed once per
        process on stderr first. Nothing is printed with ``progress=False``.
    desc : str, optional
        Bar label.
    fingerprint : str, optional
        Identifies what the results belong to (e.g. the scenario name and its configuration as
        JSON). Default: the task's ``module:qualname``. Resuming with another fingerprint is
        refused.
    cluster_kwargs : mapping, optional
        Extra keywords for the LocalCluster (e.g. ``{"processes": False}``).

    Returns
    -------
    SweepResult
        All records for trials ``< n_trials`` (resumed and new), sorted by (point_index, trial).

    Raises
    ------
    FileExistsError
        ``results_path`` already holds results and ``resume`` is False.
    ValueError
        Bad arguments, or on resume a file whose fingerprint, seed or points differ.
    ImportError
        ``executor="dask"`` without dask.distributed installed.
    KeyboardInterrupt, or the task's exception
        Re-raised after cancelling pending trials; every finished trial stays on disk.

    Notes
    -----
    All executors give identical records for the same seed: the streams depend only on
    ``(seed, trial, point_index)``. Trials run trial-major (every point of trial 0, then of
    trial 1, ...), so an interrupted sweep has even coverage across the grid.

    With ``"serial"`` and ``"processes"`` the first pending (point, trial) runs in this process
    before the bar starts and before any worker: its one-off compilation of the numba kernels
    then neither inflates the bar's rate and ETA nor runs once per worker (the workers load the
    kernels from numba's disk cache). Its record is the file's first new line, as before.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from sensing import grid, run_sweep
    >>> def task(point, rngs):                             # module-level for executor="processes"
    ...     noise = rngs.noise.standard_normal(100)
    ...     return {"rms": float((point["sigma"] * noise).std())}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     res = run_sweep(task, grid(sigma=[0.1, 1.0]), n_trials=3, seed=0,
    ...                     results_path=pathlib.Path(tmp) / "results.jsonl",
    ...                     executor="serial", progress=False)
    ...     again = run_sweep(task, grid(sigma=[0.1, 1.0]), n_trials=4, seed=0, resume=True,
    ...                       results_path=res.path, executor="serial", progress=False)
    >>> res.n_new, res.n_points, [(r["point_index"], r["trial"]) for r in res.records][:4]
    (6, 2, [(0, 0), (0, 1), (0, 2), (1, 0)])
    >>> again.n_resumed, again.n_new                       # resume: only the new trial 3 runs
    (6, 2)
    >>> np.round(res.column("rms"), 1)                     # record order: (point_index, trial)
    array([0.1, 0.1, 0.1, 1.1, 0.9, 1. ])
    """
    if not callable(task):
        raise TypeError(f"`task` must be a callable task(point, rngs) -> dict; got {type(task).__name__}.")
    pts = _check_points(points)
    n_trials = _check_nonneg_int(n_trials, "n_trials", low=1)
    seed = _check_seed(seed)
    path = _check_file_path(results_path, "results_path")
    if not isinstance(resume, (bool, np.bool_)):
        raise TypeError(f"`resume` must be True or False; got {resume!r}.")
    if executor not in _EXECUTORS:
        raise ValueError(f"`executor` must be one of {', '.join(map(repr, _EXECUTORS))}; got {executor!r}.")
    workers = _check_nonneg_int(workers, "workers", low=1)
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"`progress` must be True or False; got {progress!r}.")
    if desc is not None and not isinstance(desc, str):
        raise TypeError(f"`desc` must be a str or None; got {type(desc).__name__}.")
    if fingerprint is None:
        fingerprint = f"{getattr(task, '__module__', '?')}:{getattr(task, '__qualname__', repr(task))}"
    elif not isinstance(fingerprint, str):
        raise TypeError(f"`fingerprint` must be a str or None; got {type(fingerprint).__name__}.")
    if scheduler is not None and executor != "dask":
        raise ValueError(f"`scheduler` is used only with executor='dask'; got scheduler={scheduler!r} "
                         f"with executor={executor!r}.")
    if cluster_kwargs is not None and not isinstance(cluster_kwargs, Mapping):
        raise TypeError(f"`cluster_kwargs` must be a mapping; got {type(cluster_kwargs).__name__}.")
    if executor == "dask":
        distributed = _import_distributed()
        if not (scheduler is None or isinstance(scheduler, (str, distributed.Client))):
            raise TypeError(f"`scheduler` must be an address str, 'local', a distributed.Client or None; "
                            f"got {type(scheduler).__name__}.")
    if executor == "dask" or (executor == "processes" and workers > 1):
        qual = getattr(task, "__qualname__", "")
        if "<lambda>" in qual or "<locals>" in qual:
            raise TypeError(
                f"`task` must be a module-level function to run in other processes; got {qual!r}. "
                "Define it at the top level of a module (or use executor='serial')."
            )
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"`results_path` folder {str(folder)!r} does not exist; create it first.")
    if path.is_dir():
        raise ValueError(f"`results_path` must be a file, not a folder; got {str(path)!r}.")

    points_json = json.loads(_dumps(pts))
    header = None
    existing: list[dict] = []
    if path.exists() and path.stat().st_size > 0:
        if not resume:
            raise FileExistsError(
                f"`results_path` {str(path)!r} already holds sweep results; pass --resume "
                "(resume=True) to continue it, or choose another --out."
            )
        header, existing, truncate_at = _read_results(path, repair=True)
        if header is not None:
            mismatch = [k for k, mine in (("fingerprint", fingerprint), ("seed", seed), ("points", points_json))
                        if header.get(k) != mine]
            if mismatch:
                detail = "; ".join(f"{k}: file {header.get(k)!r} vs now {mine!r}" for k, mine in
                                   (("fingerprint", fingerprint), ("seed", seed), ("points", points_json))
                                   if k in mismatch)
                raise ValueError(
                    f"`results_path` {str(path)!r} belongs to a different sweep ({detail}); "
                    "resume only with the same task, seed and grid, or choose another --out."
                )
            bad = [r for r in existing if not 0 <= r["point_index"] < len(pts)]
            if bad:
                raise ValueError(f"`results_path` {str(path)!r} has records for point_index "
                                 f"{bad[0]['point_index']} outside the grid of {len(pts)} points.")
        if truncate_at is not None:
            with open(path, "r+b") as fh:
                fh.truncate(truncate_at)
                fh.flush()
                os.fsync(fh.fileno())
    if header is None:
        header = {"format": SWEEP_FORMAT, "format_version": SWEEP_FORMAT_VERSION,
                  "fingerprint": fingerprint, "seed": seed, "n_trials": n_trials, "points": points_json,
                  "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        _write_header(path, header)
        existing = []

    existing = [r for r in _sorted_unique(existing) if r["trial"] < n_trials]
    done = {(r["point_index"], r["trial"]) for r in existing}
    jobs = [(p, t) for t in range(n_trials) for p in range(len(pts)) if (p, t) not in done]

    from tqdm.auto import tqdm

    sink = _Sink(path, pts)
    bar = None

    def start_bar():
        # The bar starts at the trials already on disk; trials recorded before it (the warm-up)
        # are added without entering its rate, so a one-off compilation does not inflate the ETA.
        nonlocal bar
        bar = tqdm(total=n_trials * len(pts), initial=len(done), desc=desc or "sweep", unit="trial",
                   disable=not progress, dynamic_ncols=True)
        if sink.new:
            bar.n += len(sink.new)
            if not bar.disable:
                bar.initial = bar.last_print_n = bar.n
                bar.refresh()
        sink.bar = bar

    notice = bool(progress) and not _compile_notice_shown
    in_process = executor == "serial" or (executor == "processes" and workers == 1)
    try:
        if not jobs or executor == "dask":
            start_bar()
            if jobs:
                _run_dask(task, jobs, pts, seed, sink, workers, scheduler, cluster_kwargs)
        elif in_process:
            # warm-up: the first trial compiles the numba kernels here, before the bar starts
            p0, t0 = jobs[0]
            sink.add(*_run_first(task, pts[p0], p0, t0, seed, notice)[0])
            start_bar()
            _run_serial(task, jobs[1:], pts, seed, sink)
        else:
            _run_processes(task, jobs, pts, seed, sink, workers, notice, start_bar)
    finally:
        sink.close()
        if bar is not None:
            bar.close()
    records = _sorted_unique(existing + sink.new)
    return SweepResult(records, path, len(sink.new), len(existing), tuple(pts), seed, n_trials, fingerprint)

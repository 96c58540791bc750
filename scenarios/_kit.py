"""Scenario kit: the command-line → sweep glue that every scenario program shares.

* Comma-list parsers: :func:`parse_numbers` (counts, angles, ...), :func:`parse_snr_list`
  (values and ``start:stop:step`` ranges in dB) and :func:`parse_names` (estimator / method
  subsets). Each raises :class:`ValueError` naming the flag, what it accepts and the value it
  received; the command line prints that as one line and exits with status 2.
* :data:`SNR_DB_RANGE` and :func:`check_snr_db`: the one accepted range of the core
  ``--snr-db`` flag, whatever the scenario.
* :func:`output_dir`, :func:`check_backend`, :func:`fingerprint` and :func:`sweep`: the output
  folder, the early CuPy check and the resumable :func:`sensing.run_sweep` call with its executor
  chosen from ``--workers`` / ``--scheduler``.
* :func:`require_estimators`: the estimators a scenario calls must all exist before any work
  starts; a missing one is a :class:`MissingEstimatorError`, never a silently dropped row.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

__all__ = ["SNR_DB_RANGE", "MAX_SNR_POINTS", "MissingEstimatorError", "parse_numbers", "parse_snr_list",
           "check_snr_db", "parse_names", "output_dir", "check_backend", "executor_options", "fingerprint",
           "sweep", "require_estimators"]

SNR_DB_RANGE = (-100.0, 100.0)
"""Accepted values of the core ``--snr-db`` flag [dB], inclusive, for every scenario."""

MAX_SNR_POINTS = 10_000
"""Most SNR points one ``--snr-db`` value may expand to (a guard against ``0:100:1e-9``)."""


class MissingEstimatorError(ImportError):
    """A scenario needs an estimator that the installed :mod:`estimators` package does not export."""


# --------------------------------------------------------------------------------------------
# comma-separated lists
# --------------------------------------------------------------------------------------------

def _interval(low, high, low_inclusive: bool, high_inclusive: bool) -> str:
    left = "(" if low is None or not low_inclusive else "["
    right = ")" if high is None or not high_inclusive else "]"
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    return f"{left}{lo}, {hi}{right}"


def _inside(v: float, low, high, low_inclusive: bool, high_inclusive: bool) -> bool:
    if isinstance(v, float) and not math.isfinite(v):
        return False
    if low is not None and not (v >= low if low_inclusive else v > low):
        return False
    if high is not None and not (v <= high if high_inclusive else v < high):
        return False
    return True


def _parts(text) -> list[str]:
    return [p.strip() for p in str(text).split(",") if p.strip()]


def parse_numbers(text, flag: str, *, cast: Callable = float, low=None, high=None, low_inclusive: bool = True,
                  high_inclusive: bool = True, why: str | None = None) -> list:
    """Parse ``"1,2,4"`` into a list of ``cast`` values, each inside the stated interval.

    Parameters
    ----------
    text : str
        The option's text; blank items are skipped.
    flag : str
        The option as the user typed it, e.g. ``"--snapshots"`` (named in every error).
    cast : {float, int}
        Element type; floats must also be finite.
    low, high : float, optional
        Interval ends (None: unbounded), inclusive unless ``low_inclusive`` / ``high_inclusive``
        say otherwise.
    why : str, optional
        Reason for the interval, appended to the error message.

    Raises
    ------
    ValueError
        Naming ``flag``, the accepted interval and the value received, when the list is empty,
        an item does not parse or an item lies outside the interval.
    """
    kind = "integers" if cast is int else "numbers"
    accepted = f"{kind} in {_interval(low, high, low_inclusive, high_inclusive)}" + (f" ({why})" if why else "")
    parts = _parts(text)
    if not parts:
        raise ValueError(f"`{flag}` must be a comma-separated list of {accepted}; got {text!r}.")
    out = []
    for p in parts:
        try:
            v = cast(p)
        except ValueError:
            raise ValueError(f"`{flag}` must be a comma-separated list of {accepted}; got {p!r} in {text!r}.") \
                from None
        if not _inside(v, low, high, low_inclusive, high_inclusive):
            raise ValueError(f"`{flag}` values must be {accepted}; got {v!r} in {text!r}.")
        out.append(v)
    return out


def check_snr_db(values: Iterable[float], flag: str = "--snr-db") -> list[float]:
    """Check SNR values [dB] against :data:`SNR_DB_RANGE`; returns them as a list of floats."""
    lo, hi = SNR_DB_RANGE
    out = []
    for v in values:
        v = float(v)
        if not (math.isfinite(v) and lo <= v <= hi):
            raise ValueError(f"`{flag}` values must lie in [{lo:g}, {hi:g}] dB; got {v:g}.")
        out.append(v)
    return out


def parse_snr_list(text, flag: str = "--snr-db") -> list[float]:
    """Parse ``"-10,0,10"`` or ``"-20:20:5"`` (stop inclusive) or a mix, in dB.

    Every value must lie in :data:`SNR_DB_RANGE`; a range may expand to at most
    :data:`MAX_SNR_POINTS` values.
    """
    out: list[float] = []
    for part in _parts(text):
        if ":" in part:
            bits = part.split(":")
            if len(bits) != 3:
                raise ValueError(f"`{flag}` range must be start:stop:step; got {part!r}.")
            try:
                start, stop, step = (float(b) for b in bits)
            except ValueError as exc:
                raise ValueError(f"`{flag}` range must hold numbers; got {part!r}.") from exc
            if not all(math.isfinite(v) for v in (start, stop, step)):
                raise ValueError(f"`{flag}` values must be finite; got {part!r}.")
            if step <= 0 or stop < start:
                raise ValueError(f"`{flag}` range needs step > 0 and stop >= start; got {part!r}.")
            check_snr_db((start, stop), flag)
            n = int(math.floor((stop - start) / step + 1e-9)) + 1
            if n > MAX_SNR_POINTS:
                raise ValueError(f"`{flag}` range must expand to at most {MAX_SNR_POINTS} values; "
                                 f"got {part!r} ({n} values).")
            out.extend(start + i * step for i in range(n))
        else:
            try:
                v = float(part)
            except ValueError as exc:
                raise ValueError(f"`{flag}` must be numbers or start:stop:step; got {part!r}.") from exc
            if not math.isfinite(v):
                raise ValueError(f"`{flag}` values must be finite; got {part!r}.")
            out.append(v)
    if not out:
        raise ValueError(f"`{flag}` must name at least one value; got {text!r}.")
    return check_snr_db(out, flag)


def parse_names(text, flag: str, allowed: Sequence[str], *, default: Sequence[str] | None = None,
                allow_empty: bool = False) -> tuple[str, ...]:
    """Parse ``"a,b"`` into a tuple of names from ``allowed``, in the order given.

    ``text=None`` (the option was not given) returns ``default`` (all of ``allowed`` when None).
    An empty list is an error unless ``allow_empty``.
    """
    if text is None:
        return tuple(allowed if default is None else default)
    names = tuple(_parts(text))
    bad = [n for n in names if n not in allowed]
    if bad or (not names and not allow_empty):
        unknown = f" (unknown: {', '.join(bad)})" if bad else ""
        raise ValueError(f"`{flag}` must name some of {', '.join(allowed)}; got {text!r}{unknown}.")
    return names


# --------------------------------------------------------------------------------------------
# the sweep
# --------------------------------------------------------------------------------------------

def output_dir(args, scenario: str) -> Path:
    """``--out`` (default ``runs/<scenario>``), created with its parents."""
    out = Path(args.out) if args.out is not None else Path("runs") / scenario
    out.mkdir(parents=True, exist_ok=True)
    return out


def check_backend(args) -> None:
    """Fail now, before any work, when ``--backend cupy`` names a library that is not installed."""
    if args.backend == "cupy":
        from sensing import namespace_for_backend

        namespace_for_backend("cupy")


def executor_options(args) -> dict:
    """:func:`sensing.run_sweep`'s ``executor``, ``workers`` and ``scheduler`` from the core options:
    dask with ``--scheduler`` (``local`` starts a LocalCluster), a process pool with
    ``--workers > 1``, otherwise in-process."""
    executor = "dask" if args.scheduler else ("processes" if args.workers > 1 else "serial")
    return {"executor": executor, "workers": args.workers,
            "scheduler": None if args.scheduler in (None, "local") else args.scheduler}


def fingerprint(**parts) -> str:
    """What a results file belongs to, as canonical JSON (resuming with another one is refused)."""
    return json.dumps(parts, sort_keys=True, default=str)


def sweep(args, task, points, *, n_trials: int, results_path: Path, desc: str, fingerprint: str):
    """Run (or resume, with ``--resume``) a sweep of ``task`` over ``points`` with the core options."""
    from sensing import run_sweep

    return run_sweep(task, points, n_trials=n_trials, seed=args.seed, results_path=results_path,
                     resume=args.resume, progress=not args.no_progress, desc=desc, fingerprint=fingerprint,
                     **executor_options(args))


# --------------------------------------------------------------------------------------------
# estimators
# --------------------------------------------------------------------------------------------

def require_estimators(scenario: str, needs: Mapping[str, Iterable[str]]) -> None:
    """Check that :mod:`estimators` exports every function a scenario is about to call.

    Parameters
    ----------
    scenario : str
        Scenario name, for the message.
    needs : mapping
        Row of the results (estimator, method or bound) -> the public names of
        :mod:`estimators` it calls.

    Raises
    ------
    MissingEstimatorError
        Naming each row that cannot be computed and the names it lacks.
    """
    import estimators

    missing = {row: [n for n in names if not callable(getattr(estimators, n, None))] for row, names in needs.items()}
    missing = {row: names for row, names in missing.items() if names}
    if missing:
        what = "; ".join(f"{row!r} needs {', '.join(f'estimators.{n}' for n in names)}"
                         for row, names in missing.items())
        raise MissingEstimatorError(f"{scenario}: the installed `estimators` package lacks what these rows "
                                    f"call ({what}); nothing was run.")

"""Scenario kit: the command-line → sweep glue that every scenario program shares.

* Comma-list parsers: :func:`parse_numbers` (counts, angles, ...), :func:`parse_snr_list`
  (values and ``start:stop:step`` ranges in dB) and :func:`parse_names` (estimator / method
  subsets). Each raises :class:`ValueError` naming the flag, what it accepts and the value it
  received; the command line prints that as one line and exits with status 2.
* :data:`SNR_DB_RANGE` and :func:`check_snr_db`: the one accepted range of the core
  ``--snr-db`` flag, whatever the scenario.
* :func:`check_out` / :func:`output_dir`, :func:`check_backend` and :func:`connect_scheduler`:
  ``--out``, ``--backend cupy`` and ``--scheduler`` checked once, before any work (an address
  must answer within :data:`CONNECT_TIMEOUT_S`; ``local`` needs the ``distributed`` extra).
* :func:`build_config`: the scenario's frozen configuration from its preset, a ``--config``
  TOML file (:func:`read_config_file`: keys are the dataclass's field names) and the flags
  given (which win); a field the configuration rejects is named by the flag that set it
  (:func:`translate`). :func:`config_to_toml` / :func:`write_config` write it back as
  ``config.toml``.
* :func:`fingerprint` and :func:`sweep`: the resumable :func:`sensing.run_sweep` call with its
  executor chosen from ``--workers`` / ``--scheduler``; a refused ``--resume`` names each
  setting that differs (:func:`resume_conflicts`), and ``config.toml`` is written next to the
  results.
* :func:`require_estimators`: the estimators a scenario calls must all exist before any work
  starts; a missing one is a :class:`MissingEstimatorError`, never a silently dropped row.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

__all__ = ["SNR_DB_RANGE", "SNR_FORM", "MAX_SNR_POINTS", "CONNECT_TIMEOUT_S", "MissingEstimatorError",
           "parse_numbers", "parse_snr_list", "check_snr_db", "parse_names", "check_out", "output_dir",
           "check_backend", "connect_scheduler", "close_scheduler", "executor_options", "read_config_file",
           "build_config", "translate", "config_to_toml", "write_config", "fingerprint", "resume_conflicts",
           "check_resume", "sweep", "require_estimators"]

SNR_DB_RANGE = (-100.0, 100.0)
"""Accepted values of the core ``--snr-db`` flag [dB], inclusive, for every scenario."""

SNR_FORM = (f"values and start:stop:step ranges (stop inclusive) in dB, e.g. '0,10,20' or '-20:20:5', each in "
            f"[{SNR_DB_RANGE[0]:g}, {SNR_DB_RANGE[1]:g}]")
"""What ``--snr-db`` accepts, as the error messages state it."""

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


def _parts(text, flag: str | None = None, accepted: str | None = None) -> list[str]:
    """The items of a comma-separated list; ``""`` (or only blanks) is no items.

    With ``flag``, an empty item (``"0,,10"``, ``"1,2,"``) is a :class:`ValueError` naming the
    flag, what it accepts (``accepted``) and the value: a doubled comma is a typo, not a request
    for fewer points.
    """
    text = str(text)
    if not text.strip():
        return []
    parts = [p.strip() for p in text.split(",")]
    if flag is not None and not all(parts):
        raise ValueError(f"`{flag}` has an empty item in {text!r}; it takes a comma-separated list of "
                         f"{accepted or 'values'}.")
    return [p for p in parts if p]


def parse_numbers(text, flag: str, *, cast: Callable = float, low=None, high=None, low_inclusive: bool = True,
                  high_inclusive: bool = True, why: str | None = None) -> list:
    """Parse ``"1,2,4"`` into a list of ``cast`` values, each inside the stated interval.

    Parameters
    ----------
    text : str
        The option's text; an empty item (``"1,,2"``) is an error.
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
    parts = _parts(text, flag, accepted)
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
    for part in _parts(text, flag, SNR_FORM):
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
        raise ValueError(f"`{flag}` must name at least one value ({SNR_FORM}); got {text!r}.")
    return check_snr_db(out, flag)


def parse_names(text, flag: str, allowed: Sequence[str], *, default: Sequence[str] | None = None,
                allow_empty: bool = False) -> tuple[str, ...]:
    """Parse ``"a,b"`` into a tuple of names from ``allowed``, in the order given.

    ``text=None`` (the option was not given) returns ``default`` (all of ``allowed`` when None).
    An empty list is an error unless ``allow_empty``.
    """
    if text is None:
        return tuple(allowed if default is None else default)
    raw = [p.strip() for p in str(text).split(",")] if str(text).strip() else []
    names = tuple(p for p in raw if p)
    bad = [n for n in names if n not in allowed]
    if not all(raw):
        raise ValueError(f"`{flag}` must name some of {', '.join(allowed)}, comma-separated; got an empty item "
                         f"in {text!r}.")
    if bad or (not names and not allow_empty):
        unknown = f" (unknown: {', '.join(bad)})" if bad else ""
        raise ValueError(f"`{flag}` must name some of {', '.join(allowed)}; got {text!r}{unknown}.")
    return names


# --------------------------------------------------------------------------------------------
# --out and --backend
# --------------------------------------------------------------------------------------------

def _out_path(args, scenario: str) -> Path:
    return Path(args.out) if getattr(args, "out", None) is not None else Path("runs") / scenario


def check_out(args, scenario: str) -> Path:
    """Validate ``--out`` (default ``runs/<scenario>``) before any work, creating nothing.

    The folder may exist (it must then be a writable folder) or be creatable: its nearest
    existing ancestor must be a writable folder.

    Raises
    ------
    ValueError
        Naming ``--out``, the path and what is wrong with it.
    """
    out = _out_path(args, scenario)
    if out.exists() and not out.is_dir():
        raise ValueError(f"`--out` must be a folder; {str(out)!r} is an existing file.")
    if out.is_dir():
        if not os.access(out, os.W_OK | os.X_OK):
            raise ValueError(f"`--out` {str(out)!r} is a folder this user cannot write to.")
        return out
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"`--out` {str(out)!r} cannot be created: {str(parent)!r} is a file, not a folder.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"`--out` {str(out)!r} cannot be created: no permission to write in {str(parent)!r}.")
    return out


def output_dir(args, scenario: str) -> Path:
    """``--out`` (default ``runs/<scenario>``), created with its parents."""
    out = check_out(args, scenario)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"`--out` {str(out)!r} cannot be created: {exc.strerror or exc}.") from None
    return out


def check_backend(args) -> None:
    """Fail now, before any work, when ``--backend cupy`` names a library that is not installed."""
    if args.backend == "cupy":
        from sensing import namespace_for_backend

        namespace_for_backend("cupy")


# --------------------------------------------------------------------------------------------
# --scheduler: checked (and connected) once, before any work
# --------------------------------------------------------------------------------------------

CONNECT_TIMEOUT_S = 5.0
"""How long ``--scheduler tcp://host:port`` may take to answer before the run stops [s]."""

DISTRIBUTED_HINT = 'pip install "subspace-sensing[distributed]"'


def _distributed_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("distributed") is not None


def _identify(addr: str) -> str:
    """``"Scheduler"`` when a dask scheduler answers at ``addr`` within :data:`CONNECT_TIMEOUT_S`
    (distributed's ``identity`` request), else what went wrong, as a phrase. A server that
    accepts the connection but never speaks dask's protocol would otherwise hang the client."""
    import asyncio

    from distributed.comm import connect

    async def probe():
        comm = await asyncio.wait_for(connect(addr, timeout=CONNECT_TIMEOUT_S), CONNECT_TIMEOUT_S)
        try:
            await asyncio.wait_for(comm.write({"op": "identity", "reply": True}), CONNECT_TIMEOUT_S)
            return await asyncio.wait_for(comm.read(), CONNECT_TIMEOUT_S)
        finally:
            comm.abort()

    try:
        reply = asyncio.run(probe())
    except (OSError, TimeoutError, asyncio.TimeoutError, EOFError, ValueError, TypeError):
        return "no dask scheduler answered"
    if isinstance(reply, dict) and reply.get("type") == "Scheduler":
        return "Scheduler"
    return f"a {reply.get('type')} (not a scheduler) answered" if isinstance(reply, dict) else \
        "no dask scheduler answered"


def connect_scheduler(args) -> None:
    """Check ``--scheduler`` before any work; with an address, connect now.

    ``local`` needs dask.distributed installed (the LocalCluster starts with the sweep); an
    address must answer within :data:`CONNECT_TIMEOUT_S` seconds. The connected client is kept
    as ``args.dask_client`` for :func:`sweep` and closed by :func:`close_scheduler`.

    Raises
    ------
    ValueError
        One line naming ``--scheduler`` and the address, or the command that installs dask.
    """
    args.dask_client = None
    addr = getattr(args, "scheduler", None)
    if addr is None:
        return
    if not _distributed_installed():
        raise ValueError(f"`--scheduler {addr}` needs dask.distributed, which is not installed: "
                         f"{DISTRIBUTED_HINT} (or drop --scheduler; --workers N runs local processes).")
    if addr == "local":
        return
    scheme, _, rest = addr.partition("://")
    if scheme == "tcp":
        import socket

        host, _, port = rest.rpartition(":")
        try:
            port_n = int(port)
        except ValueError:
            raise ValueError(f"`--scheduler` address must be tcp://host:port; got {addr!r}.") from None
        try:
            socket.create_connection((host.strip("[]") or "127.0.0.1", port_n), timeout=CONNECT_TIMEOUT_S).close()
        except (OSError, OverflowError) as exc:
            why = "no answer" if isinstance(exc, TimeoutError) else (getattr(exc, "strerror", None) or str(exc))
            raise ValueError(f"`--scheduler` {addr}: no dask scheduler reachable within {CONNECT_TIMEOUT_S:g} s "
                             f"({why}); start one with `dask scheduler` or use --scheduler local.") from None
        kind = _identify(addr)
        if kind != "Scheduler":
            raise ValueError(f"`--scheduler` {addr}: {kind} there within {CONNECT_TIMEOUT_S:g} s; start one "
                             "with `dask scheduler` or use --scheduler local.")
    import distributed

    try:
        args.dask_client = distributed.Client(addr, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as exc:
        msg = " ".join(str(exc).split()) or type(exc).__name__
        raise ValueError(f"`--scheduler` {addr}: cannot connect to a dask scheduler within "
                         f"{CONNECT_TIMEOUT_S:g} s ({msg}).") from None


def close_scheduler(args) -> None:
    """Close the client :func:`connect_scheduler` opened (if any)."""
    client = getattr(args, "dask_client", None)
    if client is not None:
        args.dask_client = None
        client.close()


def executor_options(args) -> dict:
    """:func:`sensing.run_sweep`'s ``executor``, ``workers`` and ``scheduler`` from the core options:
    dask with ``--scheduler`` (``local`` starts a LocalCluster), a process pool with
    ``--workers > 1``, otherwise in-process."""
    executor = "dask" if args.scheduler else ("processes" if args.workers > 1 else "serial")
    return {"executor": executor, "workers": args.workers,
            "scheduler": None if args.scheduler in (None, "local") else args.scheduler}


# --------------------------------------------------------------------------------------------
# --config FILE.toml -> the scenario's frozen configuration
# --------------------------------------------------------------------------------------------

def _type_text(tp) -> str:
    import types
    import typing

    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_text(a) for a in typing.get_args(tp) if a is not type(None))
    if tp is bool:
        return "true or false"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is str:
        return "a string"
    if tp is tuple or origin is tuple:
        args = typing.get_args(tp)
        if not args:
            return "an array"
        def noun(a):
            return _type_text(a).removeprefix("an ").removeprefix("a ")

        if len(args) == 2 and args[1] is Ellipsis:
            return f"an array of {noun(args[0])}s"
        if len(set(args)) == 1:
            return f"an array of {len(args)} {noun(args[0])}s"
        return f"an array of ({', '.join(noun(a) for a in args)})"
    return getattr(tp, "__name__", str(tp))


def _freeze(value):
    """TOML arrays (lists, nested) -> tuples."""
    return tuple(_freeze(v) for v in value) if isinstance(value, list) else value


class _BadType(Exception):
    pass


def _coerce(value, tp):
    """``value`` (as tomllib returns it) as the field type ``tp``, or :class:`_BadType`."""
    import types
    import typing

    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for a in typing.get_args(tp):
            if a is type(None):
                continue
            try:
                return _coerce(value, a)
            except _BadType:
                pass
        raise _BadType
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _BadType
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _BadType
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _BadType
    if tp is str:
        if isinstance(value, str):
            return value
        raise _BadType
    if tp is tuple or origin is tuple:
        if not isinstance(value, list):
            raise _BadType
        args = typing.get_args(tp)
        if not args:
            if any(isinstance(v, dict) for v in value):
                raise _BadType
            return _freeze(value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0]) for v in value)
        if len(value) != len(args):
            raise _BadType
        return tuple(_coerce(v, a) for v, a in zip(value, args))
    if isinstance(value, dict):
        raise _BadType
    return _freeze(value)


def read_config_file(path, cls) -> dict:
    """The fields of dataclass ``cls`` that TOML file ``path`` sets, typed as the fields are.

    Keys are the dataclass's field names (top level, no tables); arrays become tuples; an
    integer is accepted where a number is expected. TOML has no null: a field whose value may
    be ``None`` keeps its default (the preset's) when the file leaves it out.

    Raises
    ------
    ValueError
        One line naming ``--config`` and the file: missing or unreadable file, invalid TOML,
        unknown keys (listing the valid ones), or a value of the wrong type (naming the key,
        the expected type and the value).
    """
    import dataclasses
    import tomllib
    import typing

    p = Path(path)
    try:
        with open(p, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ValueError(f"`--config` file {str(p)!r} does not exist.") from None
    except IsADirectoryError:
        raise ValueError(f"`--config` must be a TOML file; {str(p)!r} is a folder.") from None
    except OSError as exc:
        raise ValueError(f"`--config` file {str(p)!r} cannot be read: {exc.strerror or exc}.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"`--config` file {str(p)!r} is not valid TOML: {' '.join(str(exc).split())}.") from None
    except UnicodeDecodeError:
        raise ValueError(f"`--config` file {str(p)!r} is not valid TOML: not UTF-8 text.") from None
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in fields]
    if unknown:
        raise ValueError(f"`--config` {p.name}: unknown key{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(unknown)} for {cls.__name__}; valid keys: {', '.join(fields)}.")
    hints = typing.get_type_hints(cls)
    out = {}
    for key, value in data.items():
        tp = hints.get(key, typing.Any)
        try:
            out[key] = _coerce(value, tp) if tp is not typing.Any else _freeze(value)
        except _BadType:
            raise ValueError(f"`--config` {p.name}: `{key}` must be {_type_text(tp)}; got {_toml_value(value)} "
                             f"({_toml_type(value)}).") from None
    return out


def _toml_type(value) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _label(field: str, args) -> str:
    """How a message names a configuration field: the flag the user typed, else the file key."""
    flag = (getattr(args, "config_flags", None) or {}).get(field)
    source = (getattr(args, "config_sources", None) or {}).get(field)
    if source == "flag" and flag:
        return f"`{flag}` ({field})"
    if source == "file":
        return f"`{field}` (from {Path(args.config).name})"
    return f"`{field}`"


def translate(message: str, args) -> str:
    """``message`` with each backquoted configuration field named as the user set it (see
    :func:`build_config`), on one line."""
    import re

    fields = set(getattr(args, "config_flags", None) or {}) | set(getattr(args, "config_sources", None) or {})
    msg = " ".join(str(message).split())
    if not fields:
        return msg
    return re.sub(r"`([A-Za-z_][A-Za-z0-9_]*)`(?! \()", lambda m: _label(m.group(1), args) if m.group(1) in fields
                  else m.group(0), msg)


def build_config(args, base, flags: Mapping[str, str], overrides=None):
    """The scenario's frozen configuration: ``base`` <- ``--config`` file <- flags given.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options (``args.config``: a TOML file or None).
    base : dataclass instance
        The preset (``--quick``, ``--preset``, ...).
    flags : mapping
        Configuration field -> the flag that sets it (``{"n_users": "--users"}``), used to name
        fields in messages; also sweep keys (``estimators``, ``snr_db``) for :func:`sweep`'s
        resume check.
    overrides : mapping or callable, optional
        Fields set by flags the user gave (not their defaults); they win over the file. A
        callable receives the fields of ``base`` updated by the file and returns them (for
        flags whose effect depends on other fields).

    Returns the configuration and records it as ``args.effective_config`` (written as
    ``config.toml`` next to the results by :func:`sweep`), with ``args.config_flags`` and
    ``args.config_sources`` (field -> ``"flag"`` or ``"file"``) for the messages.

    Raises
    ------
    ValueError
        One line; a field the configuration rejects is named by the flag or file key that set it.
    """
    import dataclasses

    from_file = read_config_file(args.config, type(base)) if getattr(args, "config", None) else {}
    args.config_flags = dict(flags)
    args.config_sources = {k: "file" for k in from_file}
    if callable(overrides):
        overrides = overrides({**{f.name: getattr(base, f.name) for f in dataclasses.fields(base)}, **from_file})
    overrides = dict(overrides or {})
    args.config_sources.update({k: "flag" for k in overrides})
    try:
        cfg = dataclasses.replace(base, **{**from_file, **overrides})
    except (ValueError, TypeError) as exc:
        raise ValueError(translate(str(exc), args)) from None
    args.effective_config = cfg
    return cfg


# --------------------------------------------------------------------------------------------
# config.toml: the effective configuration, written next to the results
# --------------------------------------------------------------------------------------------

def _toml_string(s: str) -> str:
    out = []
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}.get(ch, f"\\u{ord(ch):04x}"))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_value(v) -> str:
    """One TOML value (scalars, and arrays of them, nested) as TOML text."""
    if hasattr(v, "item") and not isinstance(v, (list, tuple, str)):  # NumPy scalars
        v = v.item()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _toml_string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} {v!r} as TOML")


def config_to_toml(config, header: Sequence[str] = ()) -> str:
    """A flat dataclass of scalars and (nested) tuples as TOML text that :func:`read_config_file`
    reads back to the same values. ``None`` fields have no TOML form: they are written as
    comments (and so keep the preset's ``None`` when the file is read back)."""
    import dataclasses

    lines = [f"# {h}" for h in header]
    for f in dataclasses.fields(config):
        v = getattr(config, f.name)
        if v is None:
            lines.append(f"# {f.name}: unset (None)")
        else:
            lines.append(f"{f.name} = {_toml_value(v)}")
    return "\n".join(lines) + "\n"


def write_config(path, config, header: Sequence[str] = ()) -> Path:
    """Write :func:`config_to_toml` of ``config`` to ``path`` atomically (:func:`sensing.atomic_write`)."""
    from sensing import atomic_write

    path = Path(path)
    text = config_to_toml(config, header)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return path


# --------------------------------------------------------------------------------------------
# the sweep
# --------------------------------------------------------------------------------------------

def fingerprint(**parts) -> str:
    """What a results file belongs to, as canonical JSON (resuming with another one is refused)."""
    return json.dumps(parts, sort_keys=True, default=str)


def _flat(d, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat(v, key + "."))
        else:
            out[key] = v
    return out


def _short(v, width: int = 60) -> str:
    text = json.dumps(v, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def _key_label(key: str, flags: Mapping[str, str]) -> str:
    name = key.rsplit(".", 1)[-1]
    flag = flags.get(name)
    return f"`{flag}` ({name})" if flag else f"`{name}`"


def resume_conflicts(header: Mapping, fingerprint: str, seed: int, points: Sequence[Mapping],
                     flags: Mapping[str, str] = {}) -> list[str]:
    """What differs between a results file's ``header`` and this run, one phrase per setting
    (``"`--n-elements` (n_elements) 10 → 8"``); empty when the run may resume."""
    out = []
    old_fp = header.get("fingerprint")
    if old_fp != fingerprint:
        try:
            a, b = json.loads(old_fp), json.loads(fingerprint)
        except (TypeError, ValueError):
            a = b = None
        if isinstance(a, dict) and isinstance(b, dict):
            fa, fb = _flat(a), _flat(b)
            for k in sorted(set(fa) | set(fb), key=lambda k: (k.count("."), k)):
                if fa.get(k, "<unset>") != fb.get(k, "<unset>"):
                    out.append(f"{_key_label(k, flags)} {_short(fa.get(k, '<unset>'))} → "
                               f"{_short(fb.get(k, '<unset>'))}")
        if not out:
            out.append(f"the task {_short(old_fp)} → {_short(fingerprint)}")
    if header.get("seed") != seed:
        out.append(f"`--seed` {header.get('seed')!r} → {seed!r}")
    if not out:
        old = [dict(p) for p in header.get("points") or []]
        new = json.loads(json.dumps([dict(p) for p in points], default=str))
        if old != new:
            keys = list(dict.fromkeys([k for p in old + new for k in p]))
            flags = {"snr_db": "--snr-db", **flags}
            for k in keys:   # the values each key takes, in order of appearance
                va = list(dict.fromkeys(json.dumps(p.get(k), sort_keys=True) for p in old))
                vb = list(dict.fromkeys(json.dumps(p.get(k), sort_keys=True) for p in new))
                if va != vb:
                    out.append(f"{_key_label(k, flags)} values [{', '.join(va)}] → [{', '.join(vb)}]"
                               if len(", ".join(va + vb)) < 120 else
                               f"{_key_label(k, flags)} ({len(va)} → {len(vb)} distinct values)")
            if not out:
                out.append(f"the grid ({len(old)} → {len(new)} points)")
    return out


def _read_header(path: Path):
    try:
        with open(path, encoding="utf-8") as fh:
            header = json.loads(fh.readline())
    except (OSError, ValueError):
        return None
    return header if isinstance(header, dict) else None


def check_resume(args, results_path, fingerprint: str, points: Sequence[Mapping] | None = None) -> None:
    """Refuse, before any work, a results file that exists without ``--resume``, or with
    ``--resume`` one written with other settings (naming each: flag, old → new; ``points=None``
    skips the grid).

    Raises
    ------
    FileExistsError, ValueError
    """
    results_path = Path(results_path)
    if not (results_path.is_file() and results_path.stat().st_size > 0):
        return
    if not args.resume:
        raise FileExistsError(f"{results_path} already holds results; pass --resume to continue that run "
                              "or choose another --out (nothing is overwritten).")
    header = _read_header(results_path)
    if header is None:
        return
    if points is None:
        points = header.get("points") or []
    diff = resume_conflicts(header, fingerprint, args.seed, points, getattr(args, "config_flags", None) or {})
    if diff:
        raise ValueError(f"`--resume`: {results_path} was written with other settings: {'; '.join(diff)}. "
                         "Resume with the same options, or choose another --out (nothing was changed).")


def sweep(args, task, points, *, n_trials: int, results_path: Path, desc: str, fingerprint: str):
    """Run (or resume, with ``--resume``) a sweep of ``task`` over ``points`` with the core options.

    Before any trial: a results file that exists without ``--resume`` is refused, and with
    ``--resume`` one written with other settings is refused naming each setting that differs
    (flag, old → new). Then ``config.toml`` (``args.effective_config``, see
    :func:`build_config`) is written next to ``results_path``.
    """
    from sensing import run_sweep

    results_path = Path(results_path)
    check_resume(args, results_path, fingerprint, points)
    cfg = getattr(args, "effective_config", None)
    if cfg is not None:
        command = getattr(args, "command_line", None)
        header = [(f"effective {type(cfg).__name__} of `subsense run {getattr(args, 'scenario', '?')}`; "
                   "rerun it with --config config.toml")]
        if command:
            header.append(f"command: {command}")
        write_config(results_path.parent / "config.toml", cfg, header=header)
    opts = executor_options(args)
    client = getattr(args, "dask_client", None)
    if client is not None:
        opts["scheduler"] = client
    return run_sweep(task, points, n_trials=n_trials, seed=args.seed, results_path=results_path,
                     resume=args.resume, progress=not args.no_progress, desc=desc, fingerprint=fingerprint,
                     **opts)


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

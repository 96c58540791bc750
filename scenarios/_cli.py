"""The ``subsense`` command: ``list`` the scenarios, ``run NAME [options]`` one of them,
``--version``.

Core options shared by every scenario: ``--out DIR``, ``--config FILE.toml`` (the scenario's
frozen configuration; keys are its field names, flags given explicitly win, and the effective
configuration is written as ``config.toml`` next to the results), ``--seed``, ``--trials``,
``--snr-db`` (values and/or ``start:stop:step`` ranges, stop inclusive, each within
:data:`scenarios._kit.SNR_DB_RANGE`), ``--quick``, ``--resume``, ``--backend {numpy,cupy}``,
``--workers``, ``--scheduler``.

Exit status and messages:

* 0: done.
* 2: bad input of any kind: an option, the ``--config`` file, ``--out``, an unreachable
  ``--scheduler`` (checked before any work, :data:`scenarios._kit.CONNECT_TIMEOUT_S`) or one
  without the ``distributed`` extra, a refused ``--resume`` (naming the settings that differ).
  One line on stderr, never a traceback; fields of a configuration are named by the flag that
  set them.
* 1: an estimator missing from the installed ``estimators`` package, or an unexpected internal
  error: one line naming the exception (``SUBSENSE_TRACEBACK=1`` shows the traceback).
* 130: interrupted with Ctrl-C; finished trials are saved for ``--resume``.
* 141 (128 + SIGPIPE, as a shell reports it): the reader of stdout went away
  (``subsense list | head -1``); nothing is printed on stderr.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from . import _kit
from ._kit import SNR_DB_RANGE, MissingEstimatorError, parse_snr_list
from ._registry import SCENARIOS, description, load

__all__ = ["main", "build_parser", "add_core_arguments", "parse_snr_list", "MAX_TRIALS", "EXIT_BROKEN_PIPE"]

EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141
"""Exit status when stdout's reader has gone (128 + SIGPIPE)."""


def add_core_arguments(p: argparse.ArgumentParser) -> None:
    """The options every scenario accepts."""
    p.add_argument("--out", type=Path, default=None, help="output folder (default: runs/<scenario>)")
    p.add_argument("--config", type=Path, default=None, metavar="FILE.toml",
                   help="the scenario's configuration as TOML (keys: the field names of its config dataclass, "
                        "as in the config.toml a run writes); flags given explicitly override it")
    p.add_argument("--seed", type=int, default=0, help="root seed (default: %(default)s)")
    p.add_argument("--trials", type=int, default=None, help="Monte Carlo trials per point")
    p.add_argument("--snr-db", type=str, default=None,
                   help="SNR values in dB: '0,10,20' or '-20:20:5' (stop inclusive), each in "
                        f"[{SNR_DB_RANGE[0]:g}, {SNR_DB_RANGE[1]:g}]")
    p.add_argument("--quick", action="store_true", help="small run for CI and smoke tests")
    p.add_argument("--resume", action="store_true", help="continue an interrupted sweep in --out")
    p.add_argument("--backend", choices=["numpy", "cupy"], default="numpy", help="array library")
    p.add_argument("--workers", type=int, default=1, help="local worker processes (default: %(default)s)")
    p.add_argument("--scheduler", type=str, default=None,
                   help="dask scheduler address (tcp://host:port, must answer within "
                        f"{_kit.CONNECT_TIMEOUT_S:g} s) or 'local' for a LocalCluster; needs "
                        f"{_kit.DISTRIBUTED_HINT}")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _check_core(args) -> None:
    if args.trials is not None and args.trials < 1:
        raise ValueError(f"`--trials` must be an integer >= 1; got {args.trials}.")
    if args.workers < 1:
        raise ValueError(f"`--workers` must be an integer >= 1; got {args.workers}.")
    if args.seed < 0:
        raise ValueError(f"`--seed` must be a non-negative integer; got {args.seed}.")
    if args.trials is not None and args.trials > MAX_TRIALS:
        raise ValueError(f"`--trials` must be an integer in [1, {MAX_TRIALS}] (the sweep plans every trial "
                         f"up front); got {args.trials}.")
    if args.scheduler is not None and args.scheduler != "local" and "://" not in args.scheduler:
        raise ValueError("`--scheduler` must be 'local' (a LocalCluster) or a dask scheduler address such as "
                         f"tcp://host:8786; got {args.scheduler!r}.")
    args.snr_db = None if args.snr_db is None else parse_snr_list(args.snr_db)
    if args.config is not None and not args.config.is_file():
        what = "is a folder" if args.config.is_dir() else "does not exist"
        raise ValueError(f"`--config` must be a TOML file; {str(args.config)!r} {what}.")
    _kit.check_out(args, args.scenario)


MAX_TRIALS = 1_000_000


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own usage errors: one line, exit 2
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


class _Version(argparse.Action):
    """``--version``: ``subsense <sensing.__version__>`` (imported only when asked)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        import sensing

        print(f"subsense {sensing.__version__}")
        parser.exit(0)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="subsense", description="Subspace-based ISAC and site-specific CSI scenarios.")
    p.add_argument("--version", action=_Version, help="print the package version and exit")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="list the scenarios, one per line")
    run = sub.add_parser("run", help="run a scenario: subsense run NAME [options]")
    run.add_argument("name", help="scenario name (see `subsense list`)")
    return p


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _os_error(exc: OSError) -> str:
    """An OSError as one line without the raw ``[Errno N]``."""
    parts = [exc.strerror or _one_line(exc)]
    if exc.filename is not None:
        parts.append(repr(str(exc.filename)))
    return ": ".join(parts)


def _run(name: str, argv: list[str]) -> int:
    try:
        mod = load(name)
    except ValueError as exc:
        print(f"subsense: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    prog = f"subsense run {name}"
    sp = _Parser(prog=prog, description=getattr(mod, "DESCRIPTION", None))
    add_core_arguments(sp)
    mod.add_arguments(sp)
    args = sp.parse_args(argv)
    args.scenario = name
    args.command_line = shlex.join(["subsense", "run", name, *argv])
    try:
        _check_core(args)
        _kit.connect_scheduler(args)
        return int(mod.run(args) or 0)
    except BrokenPipeError:
        raise
    except MissingEstimatorError as exc:
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, FileExistsError) as exc:
        print(f"{prog}: error: {_kit.translate(_one_line(exc), args)}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # a file or folder the run cannot use
        print(f"{prog}: error: {_os_error(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; finished trials are saved, rerun with --resume.", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("SUBSENSE_TRACEBACK"):
            raise
        print(f"{prog}: internal error: {type(exc).__name__}: {_one_line(exc)} "
              "(set SUBSENSE_TRACEBACK=1 for the traceback)", file=sys.stderr)
        return 1
    finally:
        try:
            _kit.close_scheduler(args)
        except Exception:  # closing a client of a scheduler that went away: nothing to keep
            pass


def _main(argv: list[str]) -> int:
    if argv[:1] == ["run"] and len(argv) >= 2 and not argv[1].startswith("-"):
        return _run(argv[1], argv[2:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "list":
        for name in sorted(SCENARIOS):
            print(f"{name}\t{description(name)}")
        return 0
    parser.error("`run` needs a scenario name: subsense run NAME [options]")
    return EXIT_USAGE


def _quiet_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the interpreter's final flush is silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (captured in tests)
        pass


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        rc = _main(argv)
        sys.stdout.flush()
        return rc
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

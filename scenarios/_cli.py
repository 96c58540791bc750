"""The ``subsense`` command: ``list`` the scenarios, ``run NAME [options]`` one of them.

Core options shared by every scenario: ``--out DIR``, ``--seed``, ``--trials``, ``--snr-db``
(values and/or ``start:stop:step`` ranges, stop inclusive, each within
:data:`scenarios._kit.SNR_DB_RANGE`), ``--quick``, ``--resume``,
``--backend {numpy,cupy}``, ``--workers``, ``--scheduler``. Bad input becomes a one-line
message on stderr and exit code 2, never a traceback; an estimator missing from the installed
``estimators`` package is a one-line message and exit code 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._kit import SNR_DB_RANGE, MissingEstimatorError, parse_snr_list
from ._registry import SCENARIOS, description, load

__all__ = ["main", "build_parser", "add_core_arguments", "parse_snr_list", "MAX_TRIALS"]


def add_core_arguments(p: argparse.ArgumentParser) -> None:
    """The options every scenario accepts."""
    p.add_argument("--out", type=Path, default=None, help="output folder (default: runs/<scenario>)")
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
                   help="dask scheduler address (tcp://host:port) or 'local' for a LocalCluster")
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


MAX_TRIALS = 1_000_000


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own usage errors: one line, exit 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="subsense", description="Subspace-based ISAC and site-specific CSI scenarios.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="list the scenarios, one per line")
    run = sub.add_parser("run", help="run a scenario: subsense run NAME [options]")
    run.add_argument("name", help="scenario name (see `subsense list`)")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv[:1] == ["run"] and len(argv) >= 2 and not argv[1].startswith("-"):
        name = argv[1]
        try:
            mod = load(name)
        except ValueError as exc:
            print(f"subsense: error: {exc}", file=sys.stderr)
            return 2
        sp = _Parser(prog=f"subsense run {name}", description=getattr(mod, "DESCRIPTION", None))
        add_core_arguments(sp)
        mod.add_arguments(sp)
        args = sp.parse_args(argv[2:])
        args.scenario = name
        try:
            _check_core(args)
            return int(mod.run(args) or 0)
        except (ValueError, TypeError, FileNotFoundError, FileExistsError, NotADirectoryError,
                IsADirectoryError, PermissionError) as exc:  # bad --out and the like
            print(f"subsense run {name}: error: {exc}", file=sys.stderr)
            return 2
        except MissingEstimatorError as exc:
            print(f"subsense run {name}: error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(f"subsense run {name}: interrupted; finished trials are saved, rerun with --resume.",
                  file=sys.stderr)
            return 130
    args = parser.parse_args(argv)
    if args.command == "list":
        for name in sorted(SCENARIOS):
            print(f"{name}\t{description(name)}")
        return 0
    parser.error("`run` needs a scenario name: subsense run NAME [options]")
    return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

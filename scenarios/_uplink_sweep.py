"""Terminal program of the ``uplink-isac`` scenario: SNR, pilot-count and convergence studies,
tables, CSV files, figures and ``results.h5`` (see :mod:`scenarios.uplink_isac`)."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial

import numpy as np

from sensing import save_dataset

from . import _kit
from ._uplink_methods import NEEDS, TRACE_ITERATIONS
from .uplink_isac import (
    DESCRIPTION,
    METHODS,
    SENSING_METHODS,
    UplinkConfig,
    UplinkResults,
    generate,
    trial,
)

__all__ = ["DESCRIPTION", "FLAGS", "add_arguments", "config_from_args", "run"]

CONVERGENCE_METHODS = ("proposed", "full", "no_mstep", "random_init")
"""Methods of the convergence / CPU-time study (when selected)."""

FULL_TRIALS = 3
"""Trials of the convergence study that run the full-inverse baseline by default."""



def add_arguments(parser) -> None:
    parser.add_argument("--methods", type=str, default=None,
                        help=f"comma-separated subset of {', '.join(METHODS)} (default: all, with 'full' "
                             "only in the convergence/CPU-time study)")
    parser.add_argument("--pilots", type=str, default=None, help="pilot-symbol counts to sweep, e.g. '1,2,3,4'")
    parser.add_argument("--n-users", type=int, default=None, help="number of users K")
    parser.add_argument("--n-scatterers", type=int, default=None, help="number of scatterers L")
    parser.add_argument("--array", type=str, default=None, help="UPA rows x cols, e.g. '8x8'")
    parser.add_argument("--max-outer", type=int, default=None, help="EM iterations")


FLAGS = {"n_users": "--n-users", "n_scatterers": "--n-scatterers", "max_outer": "--max-outer",
         "array_rows": "--array", "array_cols": "--array", "methods": "--methods", "n_pilot_symbols": "--pilots"}
"""Configuration field (or sweep key) -> the flag that sets it, for messages."""


def _config(args) -> UplinkConfig:
    """The preset (``--quick``: 4x8 UPA, 2 users, 3 scatterers, 32x6 REs, 6 EM iterations) <-
    ``--config`` file <- the flags given."""
    if args.quick:
        base = UplinkConfig(n_subcarriers=32, n_symbols=6, array_rows=4, array_cols=8, n_users=2, n_scatterers=3,
                            max_outer=6)
    else:
        base = UplinkConfig()
    kw = {}
    if args.n_users is not None:
        kw["n_users"] = args.n_users
    if args.n_scatterers is not None:
        kw["n_scatterers"] = args.n_scatterers
    if args.max_outer is not None:
        kw["max_outer"] = args.max_outer
    if args.array is not None:
        try:
            r, c = (int(v) for v in args.array.lower().split("x"))
        except ValueError as exc:
            raise ValueError(f"`--array` must look like '8x8' (rows x columns); got {args.array!r}.") from exc
        kw.update(array_rows=r, array_cols=c)
    return _kit.build_config(args, base, FLAGS, kw)


config_from_args = _config


def run(args) -> int:
    from sensing.plotting import ieee_figure, plot_rmse, save_figure, write_csv

    config = _config(args)
    methods = _kit.parse_names(args.methods, "--methods", tuple(METHODS),
                               default=tuple(m for m in METHODS if m != "full"))
    # the full-inverse baseline is costly: by default it runs in the convergence/CPU-time study only
    conv_methods = tuple(m for m in CONVERGENCE_METHODS if m in methods or (m == "full" and args.methods is None))
    snrs = args.snr_db or ([0.0, 20.0] if args.quick else [-5.0, 0.0, 5.0, 10.0, 15.0, 20.0])
    if args.pilots:
        pilots = _kit.parse_numbers(args.pilots, "--pilots", cast=int, low=1, high=config.n_symbols - 1,
                                    why="some data symbols must remain")
    else:
        pilots = [1, 2] if args.quick else [1, 2, 3, 4]
    n_trials = args.trials or (1 if args.quick else 20)
    _kit.require_estimators("uplink-isac", {m: NEEDS[m] for m in dict.fromkeys(methods + conv_methods) if m in NEEDS})
    _kit.check_backend(args)
    out = _kit.output_dir(args, "uplink-isac")
    pts = [{"study": "snr", "snr_db": float(s), "n_pilot_symbols": config.n_pilot_symbols} for s in snrs]
    pts += [{"study": "pilots", "snr_db": config.snr_db, "n_pilot_symbols": int(p)} for p in pilots]
    pts += [{"study": "convergence", "snr_db": config.snr_db, "n_pilot_symbols": config.n_pilot_symbols}]
    print(f"uplink-isac: {config.array_rows}x{config.array_cols} UPA, K={config.n_users}, L={config.n_scatterers}, "
          f"N={config.n_subcarriers}, T={config.n_symbols}; {len(pts)} points x {n_trials} trials; "
          f"methods {', '.join(methods)}")
    task = partial(_dispatch, config=config, methods=methods, conv_methods=conv_methods, backend=args.backend)
    res = _kit.sweep(args, task, pts, n_trials=n_trials, results_path=out / "results.jsonl", desc="uplink-isac",
                     fingerprint=_kit.fingerprint(scenario="uplink-isac", config=asdict(config), methods=methods))

    study = np.asarray([p["study"] for p in pts])
    i_snr, i_pil, i_conv = (np.flatnonzero(study == s) for s in ("snr", "pilots", "convergence"))
    est_methods = [m for m in methods if m != "perfect_csi"]

    def agg(key, idx, reduce="mean"):
        return res.aggregate(key, reduce=reduce)[idx]

    nmse_snr = {METHODS[m]: 10 * np.log10(agg(f"{m}_nmse", i_snr)) for m in est_methods}
    nmse_pil = {METHODS[m]: 10 * np.log10(agg(f"{m}_nmse", i_pil)) for m in est_methods}
    ber = {METHODS[m]: agg(f"{m}_ber", i_snr) for m in methods if m != "pilot_vbi" or True}
    ber = {k: v for k, v in ber.items() if np.all(np.isfinite(v))}
    loc, miss, false = {}, {}, {}
    for m in methods:
        if m in SENSING_METHODS:
            pairs = agg(f"{m}_loc_pairs", i_snr, "sum")
            loc[METHODS[m]] = np.sqrt(agg(f"{m}_loc_se", i_snr, "sum") / np.maximum(pairs, 1))
            loc[METHODS[m]][pairs == 0] = np.nan
            miss[METHODS[m]] = agg(f"{m}_missed", i_snr)
            false[METHODS[m]] = agg(f"{m}_false", i_snr)
    it_nmse, it_cpu = {}, {}
    for m in conv_methods:
        recs = [r for r in res.records if r["point_index"] == int(i_conv[0])]
        it_nmse[METHODS[m]] = np.array([10 * np.log10(np.nanmean([r[f"{m}_nmse_it{i}"] for r in recs]))
                                        for i in range(TRACE_ITERATIONS)])
        it_cpu[METHODS[m]] = np.array([np.nanmean([r[f"{m}_cpu_it{i}"] for r in recs]) for i in range(TRACE_ITERATIONS)])

    cols = {"snr_db": np.asarray(snrs, float)}
    cols.update({f"nmse_db_{m}": nmse_snr[METHODS[m]] for m in est_methods})
    cols.update({f"ber_{m}": agg(f"{m}_ber", i_snr) for m in methods})
    cols.update({f"cpu_s_{m}": agg(f"{m}_cpu_s", i_snr) for m in methods})
    write_csv(out / "vs_snr.csv", cols)
    cols = {"n_pilot_symbols": np.asarray(pilots, float)}
    cols.update({f"nmse_db_{m}": nmse_pil[METHODS[m]] for m in est_methods})
    write_csv(out / "nmse_vs_pilots.csv", cols)
    cols = {"snr_db": np.asarray(snrs, float)}
    for m in methods:
        if m in SENSING_METHODS:
            cols.update({f"loc_rmse_m_{m}": loc[METHODS[m]], f"missed_{m}": miss[METHODS[m]],
                         f"false_{m}": false[METHODS[m]]})
    write_csv(out / "localisation.csv", cols)
    cols = {"iteration": np.arange(TRACE_ITERATIONS, dtype=float)}
    for m in conv_methods:
        cols.update({f"nmse_db_{m}": it_nmse[METHODS[m]], f"cpu_s_{m}": it_cpu[METHODS[m]]})
    write_csv(out / "convergence.csv", cols)

    print("channel NMSE [dB] vs SNR:")
    print(f"{'SNR':>6} " + " ".join(f"{METHODS[m][:18]:>18}" for m in est_methods))
    for i, s in enumerate(snrs):
        print(f"{s:6.1f} " + " ".join(f"{nmse_snr[METHODS[m]][i]:18.2f}" for m in est_methods))
    print("BER vs SNR:")
    for i, s in enumerate(snrs):
        print(f"{s:6.1f} " + " ".join(f"{k[:18]}={v[i]:.2e}" for k, v in ber.items()))
    print("localisation RMSE [m] (matched, 5 m gate) / missed / false vs SNR:")
    for i, s in enumerate(snrs):
        print(f"{s:6.1f} " + " ".join(f"{k[:14]}={loc[k][i]:.2f}/{miss[k][i]:.1f}/{false[k][i]:.1f}" for k in loc))
    print("CPU time per trial [s]: " + ", ".join(f"{METHODS[m]}={np.nanmean(agg(f'{m}_cpu_s', i_snr)):.2f}"
                                                   for m in methods))
    print("convergence (NMSE dB at iterations 0, 10, 20, 39; CPU s at 39): " + "; ".join(
        f"{k}: {v[0]:.1f} {v[10]:.1f} {v[20]:.1f} {v[-1]:.1f} ({it_cpu[k][-1]:.2f} s)" for k, v in it_nmse.items()))

    fig, ax = ieee_figure()
    plot_rmse(np.asarray(snrs, float), nmse_snr, ax=ax, ylabel="channel NMSE [dB]", logy=False)
    save_figure(fig, out / "nmse_vs_snr")
    fig, ax = ieee_figure()
    plot_rmse(np.asarray(pilots, float), nmse_pil, ax=ax, xlabel="pilot OFDM symbols", ylabel="channel NMSE [dB]",
              logy=False)
    save_figure(fig, out / "nmse_vs_pilots")
    if loc:
        fig, ax = ieee_figure()
        plot_rmse(np.asarray(snrs, float), loc, ax=ax, ylabel="scatterer RMSE [m]")
        save_figure(fig, out / "localisation_vs_snr")
    fig, ax = ieee_figure()
    plot_rmse(np.asarray(snrs, float), {k: np.maximum(v, 1e-6) for k, v in ber.items()}, ax=ax, ylabel="BER")
    save_figure(fig, out / "ber_vs_snr")
    fig, axes = ieee_figure(ncols=2, columns=2)
    plot_rmse(np.arange(TRACE_ITERATIONS, dtype=float), it_nmse, ax=axes[0], xlabel="iteration", ylabel="channel NMSE [dB]",
              logy=False)
    for k, v in it_nmse.items():
        axes[1].plot(it_cpu[k], v, label=k)
    axes[1].set_xscale("log")
    axes[1].set_xlabel("CPU time [s]")
    axes[1].set_ylabel("channel NMSE [dB]")
    axes[1].grid(True, alpha=0.3)
    save_figure(fig, out / "convergence")

    example = generate(config, rng=args.seed)
    results = UplinkResults(config, np.asarray(snrs, float), np.asarray(pilots, float), nmse_snr, nmse_pil, loc,
                            miss, false, ber, it_nmse, it_cpu, example)
    save_dataset(out / "results.h5", results, seed=args.seed)
    print(f"wrote {out}: results.jsonl, vs_snr/nmse_vs_pilots/localisation/convergence .csv, figures "
          "nmse_vs_snr, nmse_vs_pilots, localisation_vs_snr, ber_vs_snr, convergence (.pdf/.png), results.h5")
    return 0


def _all_keys(methods, conv_methods):
    keys = []
    for m in methods:
        keys += [f"{m}_nmse", f"{m}_ber", f"{m}_cpu_s"]
        if m in SENSING_METHODS:
            keys += [f"{m}_loc_se", f"{m}_loc_pairs", f"{m}_missed", f"{m}_false"]
    for m in conv_methods:
        keys += [f"{m}_cpu_s"] + [f"{m}_nmse_it{i}" for i in range(TRACE_ITERATIONS)]
        keys += [f"{m}_cpu_it{i}" for i in range(TRACE_ITERATIONS)]
    return keys


def _dispatch(point: dict, rngs, *, config, methods, conv_methods, backend):
    """Sweep task: the convergence point runs ``conv_methods`` with traces, the others ``methods``.

    Every record carries every key (NaN where a study does not apply), as the sweep's
    aggregation needs whole columns.
    """
    rec = dict.fromkeys(_all_keys(methods, conv_methods), float("nan"))
    if point["study"] == "convergence":
        # the full-inverse baseline is the costliest method: its first FULL_TRIALS trials give its
        # convergence curve and CPU time
        ms = tuple(m for m in conv_methods if m != "full" or rngs.trial < FULL_TRIALS)
        rec.update(trial(point, rngs, config=config, methods=ms, backend=backend))
    else:
        rec.update(trial(point, rngs, config=config, methods=methods, backend=backend))
    return rec


if __name__ == "__main__":  # pragma: no cover
    from ._cli import main

    raise SystemExit(main(["run", "uplink-isac", *__import__("sys").argv[1:]]))

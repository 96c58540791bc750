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
    from sensing.plotting import write_csv

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

    # curves keyed by method id (HDF5 group names); METHODS gives the display names for printing
    nmse_snr = {m: 10 * np.log10(agg(f"{m}_nmse", i_snr)) for m in est_methods}
    nmse_pil = {m: 10 * np.log10(agg(f"{m}_nmse", i_pil)) for m in est_methods}
    ber = {m: agg(f"{m}_ber", i_snr) for m in methods}
    ber = {k: v for k, v in ber.items() if np.all(np.isfinite(v))}
    loc, miss, false, det = {}, {}, {}, {}
    for m in methods:
        if m in SENSING_METHODS:
            pairs = agg(f"{m}_loc_pairs", i_snr, "sum")
            loc[m] = np.sqrt(agg(f"{m}_loc_se", i_snr, "sum") / np.maximum(pairs, 1))
            loc[m][pairs == 0] = np.nan
            miss[m] = agg(f"{m}_missed", i_snr)
            false[m] = agg(f"{m}_false", i_snr)
            n_vis = pairs + agg(f"{m}_missed", i_snr, "sum")
            det[m] = np.where(n_vis > 0, pairs / np.maximum(n_vis, 1), np.nan)
    it_nmse, it_cpu = {}, {}
    for m in conv_methods:
        recs = [r for r in res.records if r["point_index"] == int(i_conv[0])]
        it_nmse[m] = np.array([10 * np.log10(np.nanmean([r[f"{m}_nmse_it{i}"] for r in recs]))
                               for i in range(TRACE_ITERATIONS)])
        it_cpu[m] = np.array([np.nanmean([r[f"{m}_cpu_it{i}"] for r in recs]) for i in range(TRACE_ITERATIONS)])

    cols = {"snr_db": np.asarray(snrs, float)}
    cols.update({f"nmse_db_{m}": nmse_snr[m] for m in est_methods})
    cols.update({f"ber_{m}": agg(f"{m}_ber", i_snr) for m in methods})
    cols.update({f"cpu_s_{m}": agg(f"{m}_cpu_s", i_snr) for m in methods})
    write_csv(out / "vs_snr.csv", cols)
    cols = {"n_pilot_symbols": np.asarray(pilots, float)}
    cols.update({f"nmse_db_{m}": nmse_pil[m] for m in est_methods})
    write_csv(out / "nmse_vs_pilots.csv", cols)
    cols = {"snr_db": np.asarray(snrs, float)}
    for m in methods:
        if m in SENSING_METHODS:
            cols.update({f"loc_rmse_m_{m}": loc[m], f"missed_{m}": miss[m], f"false_{m}": false[m],
                         f"detected_fraction_{m}": det[m]})
    write_csv(out / "localisation.csv", cols)
    cols = {"iteration": np.arange(TRACE_ITERATIONS, dtype=float)}
    for m in conv_methods:
        cols.update({f"nmse_db_{m}": it_nmse[m], f"cpu_s_{m}": it_cpu[m]})
    write_csv(out / "convergence.csv", cols)

    print("channel NMSE [dB] vs SNR:")
    print(f"{'SNR':>6} " + " ".join(f"{METHODS[m][:18]:>18}" for m in est_methods))
    for i, s in enumerate(snrs):
        print(f"{s:6.1f} " + " ".join(f"{nmse_snr[m][i]:18.2f}" for m in est_methods))
    print("BER vs SNR:")
    for i, s in enumerate(snrs):
        print(f"{s:6.1f} " + " ".join(f"{METHODS[k][:18]}={v[i]:.2e}" for k, v in ber.items()))
    print("localisation RMSE [m] (matched, 5 m gate) / missed / false vs SNR:")
    for i, s in enumerate(snrs):
        print(f"{s:6.1f} " + " ".join(f"{METHODS[k][:14]}={loc[k][i]:.2f}/{miss[k][i]:.1f}/{false[k][i]:.1f}"
                                      for k in loc))
    print("CPU time per trial [s]: " + ", ".join(f"{METHODS[m]}={np.nanmean(agg(f'{m}_cpu_s', i_snr)):.2f}"
                                                   for m in methods))
    print("convergence (NMSE dB at iterations 0, 10, 20, 39; CPU s at 39): " + "; ".join(
        f"{METHODS[k]}: {v[0]:.1f} {v[10]:.1f} {v[20]:.1f} {v[-1]:.1f} ({it_cpu[k][-1]:.2f} s)"
        for k, v in it_nmse.items()))

    _figures(out, args.seed, config, n_trials, snrs, pilots, nmse_snr, nmse_pil, ber, loc, det, it_nmse, it_cpu,
             conv_trials=min(n_trials, FULL_TRIALS) if "full" in conv_methods else n_trials)

    example = generate(config, rng=args.seed)
    results = UplinkResults(config, np.asarray(snrs, float), np.asarray(pilots, float), nmse_snr, nmse_pil, loc,
                            miss, false, ber, it_nmse, it_cpu, example)
    save_dataset(out / "results.h5", results, seed=args.seed)
    print(f"wrote {out}: results.jsonl, vs_snr/nmse_vs_pilots/localisation/convergence .csv, figures "
          "nmse_vs_snr, nmse_vs_pilots, localisation_vs_snr, ber_vs_snr, convergence (.pdf/.png), results.h5")
    return 0


def _figures(out, seed, config, n_trials, snrs, pilots, nmse_snr, nmse_pil, ber, loc, det, it_nmse, it_cpu, *,
             conv_trials):
    """The five figures, each with its ``<figure>_caption.txt`` (curves keyed by method id)."""
    from sensing.plotting import (
        METHOD_STYLES,
        figure_legend,
        figure_note,
        ieee_figure,
        integer_ticks,
        plot_rmse,
        save_figure,
        write_caption,
    )

    x_snr = np.asarray(snrs, float)
    size = (f"K = {config.n_users}, L = {config.n_scatterers}, {config.array_rows}x{config.array_cols} UPA, "
            f"{config.n_pilot_symbols} pilot symbol(s)")
    fig, ax = ieee_figure(height_ratio=0.8)
    plot_rmse(x_snr, nmse_snr, ax=ax, ylabel="channel NMSE [dB]", logy=False, legend=False)
    figure_legend(fig)
    figure_note(fig, f"{n_trials} trial{'s' * (n_trials != 1)} per SNR point; {size}")
    save_figure(fig, out / "nmse_vs_snr")
    write_caption(out / "nmse_vs_snr", fig, trials=n_trials, snr_db=snrs, seed=seed, users=config.n_users,
                  scatterers=config.n_scatterers, pilot_symbols=config.n_pilot_symbols)

    fig, ax = ieee_figure(height_ratio=0.8)
    plot_rmse(np.asarray(pilots, float), nmse_pil, ax=ax, xlabel="pilot OFDM symbols", ylabel="channel NMSE [dB]",
              logy=False, legend=False)
    integer_ticks(ax, "x")
    figure_legend(fig)
    figure_note(fig, f"{n_trials} trial{'s' * (n_trials != 1)} per point, SNR {config.snr_db:g} dB")
    save_figure(fig, out / "nmse_vs_pilots")
    write_caption(out / "nmse_vs_pilots", fig, trials=n_trials, snr_db=config.snr_db, seed=seed,
                  pilot_symbols=pilots, users=config.n_users, scatterers=config.n_scatterers)

    if loc:
        # localisation RMSE over the scatterers matched within the 5 m gate: P_D beside it
        fig, axes = ieee_figure(ncols=2, height_ratio=0.75)
        plot_rmse(x_snr, {k: np.where(v > 0, v, np.nan) for k, v in loc.items()}, ax=axes[0],
                  ylabel="scatterer RMSE [m]", legend=False)
        plot_rmse(x_snr, det, ax=axes[1], ylabel="scatterers detected $P_D$", logy=False, legend=False)
        axes[1].set_ylim(-0.03, 1.05)
        figure_legend(fig)
        figure_note(fig, f"{n_trials} trial{'s' * (n_trials != 1)} per SNR point; RMSE over scatterers matched within 5 m, read "
                         "with $P_D$")
        save_figure(fig, out / "localisation_vs_snr")
        write_caption(out / "localisation_vs_snr", fig, trials=n_trials, snr_db=snrs, seed=seed,
                      scatterers=config.n_scatterers,
                      notes=["RMSE over the visible scatterers matched within a 5 m gate (optimal assignment); "
                             "P_D (right) = matched / visible scatterers"])

    # BER: a zero count of bit errors is below what the run can resolve; draw the floor
    # 1 / (bits simulated per SNR point) and the zero points on it with open markers
    n_data = config.n_subcarriers * (config.n_symbols - config.n_pilot_symbols)
    n_bits = int(n_trials * config.n_users * n_data * config.bits_per_symbol)
    floor = 1.0 / n_bits
    fig, ax = ieee_figure(height_ratio=0.8)
    shown = {k: np.where(v > 0, v, np.nan) for k, v in ber.items()}
    drawable = {k: v for k, v in shown.items() if np.any(np.isfinite(v))}
    if drawable:
        plot_rmse(x_snr, drawable, ax=ax, ylabel="BER", legend=False)
    else:
        ax.set_yscale("log")
        ax.set(xlabel="SNR [dB]", ylabel="BER")
        ax.grid(True, which="major", alpha=0.3)
    zero_notes = []
    for k, v in ber.items():
        z = v <= 0
        if np.any(z):
            st = METHOD_STYLES[k]
            ax.plot(x_snr[z], np.full(int(z.sum()), floor), linestyle="none", marker=st.marker or "o",
                    markersize=5, markerfacecolor="none", color=st.color,
                    label=st.label if k not in drawable else "_nolegend_")
            zero_notes.append(f"{st.label}: 0 errors at SNR {', '.join(f'{s:g}' for s in x_snr[z])} dB")
    ax.axhline(floor, color="0.35", linestyle=(0, (1, 1.5)), linewidth=0.9,
               label=f"floor 1/{n_bits} bits (open: 0 errors)")
    ax.annotate("0 errors", xy=(x_snr[-1], floor), xytext=(0, 6), textcoords="offset points", ha="right",
                fontsize=6, color="0.35")
    lo = min([floor] + [float(np.nanmin(v)) for v in drawable.values()])
    ax.set_ylim(bottom=lo / 3)
    figure_legend(fig)
    figure_note(fig, f"{n_trials} trial{'s' * (n_trials != 1)} per SNR point, {n_bits} bits per point")
    save_figure(fig, out / "ber_vs_snr")
    write_caption(out / "ber_vs_snr", fig, trials=n_trials, snr_db=snrs, seed=seed, bits_per_point=n_bits,
                  resolvable_floor=f"{floor:.3g}",
                  notes=["a BER of 0 (no bit error in bits_per_point bits) is drawn at the floor 1/bits_per_point "
                         "with an open marker, not as a value", *zero_notes])

    fig, axes = ieee_figure(ncols=2, height_ratio=0.7)
    iters = np.arange(TRACE_ITERATIONS, dtype=float)
    plot_rmse(iters, it_nmse, ax=axes[0], xlabel="iteration", ylabel="channel NMSE [dB]", logy=False, legend=False)
    integer_ticks(axes[0], "x")
    for k, v in it_nmse.items():
        kw = METHOD_STYLES[k].line_kwargs()
        axes[1].plot(it_cpu[k], v, **kw)
    for a in axes:
        for line in a.get_lines():
            line.set_markevery(5)
    axes[1].set_xscale("log")
    axes[1].set_xlabel("CPU time [s]")
    axes[1].set_ylabel("channel NMSE [dB]")
    axes[1].grid(True, alpha=0.3)
    figure_legend(fig)
    note = f"{n_trials} trial{'s' * (n_trials != 1)}, SNR {config.snr_db:g} dB"
    if conv_trials != n_trials:
        note += f" ({conv_trials} for the full-inverse baseline)"
    figure_note(fig, note)
    save_figure(fig, out / "convergence")
    write_caption(out / "convergence", fig, trials=n_trials, snr_db=config.snr_db, seed=seed,
                  full_inverse_trials=conv_trials, notes=["markers every 5th iteration"])


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

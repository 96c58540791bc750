"""Terminal program of the ``isac-ofdm`` scenario: SNR sweep, estimators, table, CSV, figures.

Data flow: frozen :class:`~scenarios.isac_ofdm.IsacConfig` → per (SNR, trial)
:func:`~scenarios.isac_ofdm.generate` (one realisation per trial, reused at every SNR; fresh
noise per point) → estimators on NumPy or CuPy → optimal-assignment errors against the truth
→ appended to ``results.jsonl`` (resumable) → RMSE table, ``rmse.csv`` and ``rmse.pdf/png``
with the bound, plus ``dataset.h5`` (one example realisation) and its range–Doppler map.

Reading the numbers: estimates are paired with targets by optimal assignment on the distance
in resolution cells; a pair farther than :data:`GATE_CELLS` cells is a miss. RMSEs are over the
detected targets and ``P_D`` is the detected fraction. The CRB is the joint single-snapshot
bound (every target's angle, delay, Doppler and gain unknown) of each trial's realisation at its
noise level, averaged over targets and trials. Below the threshold SNR the gate removes the
outliers (and the weakest targets go undetected first), so an RMSE can dip under the averaged
bound there: read it together with ``P_D``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, replace
from functools import partial

import numpy as np

import estimators
from sensing import match_estimates, to_numpy

from . import _kit
from ._isac_adapters import ADAPTERS, CRB_NEEDS, crb_variances
from .isac_ofdm import (
    DESCRIPTION,
    PRESETS,
    IsacConfig,
    draw_trial,
    resolution_cells,
    save_example,
    truth_matrix,
)

__all__ = ["DESCRIPTION", "ADAPTERS", "GATE_CELLS", "FLAGS", "add_arguments", "config_from_args", "run"]

GATE_CELLS = 2.0
"""An estimate farther than this many resolution cells (scaled Euclidean distance over azimuth,
distance and velocity) from its assigned target is a miss plus a false alarm; RMSEs are over the
detected targets and P_D reports the rest, so outliers show up as P_D < 1 instead of swamping
the RMSE."""


def add_arguments(p) -> None:
    p.add_argument("--preset", choices=sorted(PRESETS), default="default",
                   help="scenario preset: 'default' (small, seconds) or 'plain' (the PLAIN paper's example)")
    p.add_argument("--estimators", type=str, default=None,
                   help="comma-separated estimators to run (default: all available; see the table)")
    p.add_argument("--propagation", choices=["monostatic", "one-way"], default=None,
                   help="override the preset's propagation model")


FLAGS = {"propagation": "--propagation", "path_loss": "--propagation", "estimators": "--estimators"}
"""Configuration field (or sweep key) -> the flag that sets it, for messages."""


def config_from_args(args) -> IsacConfig:
    """``--preset`` <- ``--config`` file <- ``--propagation`` (a propagation other than the
    configuration's also sets its path loss: the radar equation for monostatic, UMa-LoS for
    one-way)."""
    def flags_given(fields):
        if args.propagation is None or args.propagation == fields["propagation"]:
            return {}
        return {"propagation": args.propagation,
                "path_loss": "radar" if args.propagation == "monostatic" else "uma-los"}

    return _kit.build_config(args, PRESETS[args.preset](), FLAGS, flags_given)


def _trial(point: dict, rngs, *, config: IsacConfig, names: tuple[str, ...], backend: str) -> dict:
    cfg, ds, h = draw_trial(config, point["snr_db"], rngs, backend)
    truth = truth_matrix(ds)
    cells = resolution_cells(cfg)
    crb = crb_variances(cfg, ds)
    out: dict = {"crb_az_rad2": float(crb[0]), "crb_dist_m2": float(crb[1]), "crb_vel_m2s2": float(crb[2])}
    for name in names:
        fn = ADAPTERS[name].function
        t0 = time.perf_counter()
        az, dist, vel = fn(h, cfg)
        est = np.stack([to_numpy(az), to_numpy(dist), to_numpy(vel)], axis=1) if len(to_numpy(az)) else \
            np.zeros((0, 3))
        dt = time.perf_counter() - t0
        m = match_estimates(est, truth, scale=cells, gate=GATE_CELLS, p=2.0)
        n_t = truth.shape[0]
        err = m.errors
        out[f"{name}_mse_az_rad2"] = float(np.mean(err[:, 0] ** 2)) if m.n_pairs else float("nan")
        out[f"{name}_mse_dist_m2"] = float(np.mean(err[:, 1] ** 2)) if m.n_pairs else float("nan")
        out[f"{name}_mse_vel_m2s2"] = float(np.mean(err[:, 2] ** 2)) if m.n_pairs else float("nan")
        out[f"{name}_pd"] = m.n_pairs / n_t
        out[f"{name}_time_s"] = dt
    return out


def _print_table(snrs, names, agg) -> None:
    hdr = (f"{'SNR [dB]':>8s}  {'estimator':10s} {'RMSE az [deg]':>13s} {'RMSE dist [m]':>13s} "
           f"{'RMSE vel [m/s]':>14s} {'P_D':>5s} {'time [ms]':>9s}")
    print(hdr)
    print("-" * len(hdr))
    for i, s in enumerate(snrs):
        for n in names:
            a = agg[n]
            print(f"{s:8.1f}  {n:10s} {a['az_deg'][i]:13.4g} {a['dist_m'][i]:13.4g} {a['vel_mps'][i]:14.4g} "
                  f"{a['pd'][i]:5.2f} {1e3 * a['time_s'][i]:9.2f}")


def _positive(v):
    """Values a log axis can show: NaN where a curve is 0 (exact estimate) or undefined."""
    v = np.asarray(v, dtype=float)
    return np.where(v > 0, v, np.nan)


def run(args) -> int:
    """Sweep SNR, run the estimators, print a table, write dataset, CSV and figures."""
    config: IsacConfig = config_from_args(args)
    names = _kit.parse_names(args.estimators, "--estimators", tuple(ADAPTERS))
    if args.preset == "plain":
        snrs = args.snr_db or ([-10.0, 0.0, 10.0] if args.quick else [float(s) for s in range(-20, 21, 5)])
    else:
        snrs = args.snr_db or ([0.0, 20.0] if args.quick else [float(s) for s in range(-10, 21, 5)])
    n_trials = args.trials or (2 if args.quick else 20)
    for s in snrs:
        replace(config, snr_db=s)  # validates the range
    _kit.require_estimators("isac-ofdm", {**{n: ADAPTERS[n].needs for n in names}, "CRB": CRB_NEEDS})
    _kit.check_backend(args)
    out = _kit.output_dir(args, "isac-ofdm")
    print(f"isac-ofdm: preset={args.preset} propagation={config.propagation} "
          f"{config.n_antennas} antennas x {config.n_subcarriers} subcarriers x {config.n_symbols} symbols, "
          f"{config.n_targets} targets, {len(snrs)} SNR points x {n_trials} trials, estimators {', '.join(names)}")
    res = _kit.sweep(args, partial(_trial, config=config, names=names, backend=args.backend),
                     [{"snr_db": s} for s in snrs], n_trials=n_trials, results_path=out / "results.jsonl",
                     desc="isac-ofdm", fingerprint=_kit.fingerprint(config=asdict(config), estimators=names))

    agg = {}
    for n in names:
        agg[n] = {
            "az_deg": np.degrees(np.sqrt(res.aggregate(f"{n}_mse_az_rad2", reduce="mean"))),
            "dist_m": np.sqrt(res.aggregate(f"{n}_mse_dist_m2", reduce="mean")),
            "vel_mps": np.sqrt(res.aggregate(f"{n}_mse_vel_m2s2", reduce="mean")),
            "pd": res.aggregate(f"{n}_pd", reduce="mean"),
            "time_s": res.aggregate(f"{n}_time_s", reduce="median"),
        }
    bounds = {"az_deg": np.degrees(np.sqrt(res.aggregate("crb_az_rad2", reduce="mean"))),
              "dist_m": np.sqrt(res.aggregate("crb_dist_m2", reduce="mean")),
              "vel_mps": np.sqrt(res.aggregate("crb_vel_m2s2", reduce="mean"))}
    _print_table(snrs, names, agg)
    for i, s in enumerate(snrs):
        print(f"{s:8.1f}  {'CRB':10s} {bounds['az_deg'][i]:13.4g} {bounds['dist_m'][i]:13.4g} "
              f"{bounds['vel_mps'][i]:14.4g}")

    # example realisation (trial 0 at the highest SNR) -> HDF5 + range-Doppler map
    ds = save_example(out / "dataset.h5", config, snrs, args.seed)

    cols = {"snr_db": np.asarray(snrs)}
    for n in names:
        for k in ("az_deg", "dist_m", "vel_mps", "pd", "time_s"):
            cols[f"{n}_{'rmse_' if k in ('az_deg', 'dist_m', 'vel_mps') else ''}{k}"] = agg[n][k]
    for k, v in bounds.items():
        cols[f"crb_{k}"] = v
    from sensing.plotting import (
        figure_legend,
        figure_note,
        ieee_figure,
        plot_range_doppler,
        plot_rmse,
        save_figure,
        write_caption,
        write_csv,
    )

    write_csv(out / "rmse.csv", cols)
    # RMSE over the detected targets only: P_D sits beside it, so an RMSE under the CRB because
    # misses were dropped never appears without the detection probability
    fig, axes = ieee_figure(ncols=2, nrows=2, columns=2, height_ratio=0.55)
    labels = {"az_deg": "RMSE azimuth [deg]", "dist_m": "RMSE distance [m]", "vel_mps": "RMSE velocity [m/s]"}
    x = np.asarray(snrs)
    for ax, key in zip(np.ravel(axes), ("az_deg", "dist_m", "vel_mps")):
        plot_rmse(x, {n: _positive(agg[n][key]) for n in names}, bounds={"crb": bounds[key]}, ax=ax,
                  ylabel=labels[key], legend=False)
    ax_pd = np.ravel(axes)[3]
    plot_rmse(x, {n: agg[n]["pd"] for n in names}, ax=ax_pd, ylabel="detection probability $P_D$",
              logy=False, legend=False)
    ax_pd.set_ylim(-0.03, 1.05)
    figure_legend(fig)
    note = (f"{n_trials} trial{'s' * (n_trials != 1)} per SNR point; RMSE over detected targets (gate {GATE_CELLS:g} "
            "resolution cells), read with $P_D$")
    figure_note(fig, note)
    save_figure(fig, out / "rmse")
    write_caption(out / "rmse", fig, trials=n_trials, snr_db=snrs, seed=args.seed, targets=config.n_targets,
                  notes=[f"RMSE over the detected targets only (gate {GATE_CELLS:g} resolution cells); "
                         "P_D (lower right panel) is the detected fraction",
                         "CRB: joint single-snapshot bound averaged over targets and trials"])
    fig2, ax2 = ieee_figure(height_ratio=0.8)
    est = estimators.ofdm_radar(ds.channel_estimate, geometry=config.array(), numerology=config.numerology(),
                                n_targets=config.n_targets, propagation=config.propagation)
    plot_range_doppler(est.range_doppler_map, est.distance_axis_m, est.velocity_axis_mps, ax=ax2,
                       truth=(ds.truth.distances_m, ds.truth.velocities_mps), zoom=True)
    if config.propagation != "monostatic":
        ax2.set_ylabel("path length [m]")
    figure_legend(fig2)
    snr_hi = float(np.max(snrs))
    figure_note(fig2, f"one realisation (trial 0), SNR {snr_hi:g} dB, zoomed to the targets")
    save_figure(fig2, out / "range_doppler")
    write_caption(out / "range_doppler", trials=1, snr_db=snr_hi, seed=args.seed,
                  notes=["periodogram of the LS channel estimate of trial 0 at the highest SNR; axes zoomed to "
                         "the targets with a margin; red crosses: ground truth"])
    print(f"wrote {out / 'results.jsonl'}, {out / 'rmse.csv'}, {out / 'rmse.pdf'} (+png), "
          f"{out / 'range_doppler.pdf'} (+png), {out / 'dataset.h5'}")
    return 0

r"""The PLAIN paper's released example: RMSE vs SNR, run times and the compression comparison.

Reproduces the evaluation of Tahir, Svoboda, Rupp, "PLAIN: Scalable Estimation Architecture for
Integrated Sensing and Communication" (arXiv:2503.21242; MATLAB reference code
https://github.com/bashar-tahir/PLAIN) with
:func:`scenarios.isac_ofdm.plain_preset` (26 GHz, 16-antenna λ/2 ULA, 180 subcarriers at 60 kHz,
560 symbols, 6 objects at 30…150° from the array axis, path lengths 50…400 m snapped to the delay
grid, velocities 0/5/0/15/0/25 km/h, UMa-LoS path loss, BPSK data, one-way model).

Data flow: ``plain_preset()`` → per (SNR, trial) :func:`scenarios.isac_ofdm.generate` (the
realisation drawn from the trial stream is reused at every SNR, fresh noise per point, as the
reference code seeds each repetition by its index) → per-RE LS channel estimate → PLAIN
(averaging, Δ = (1, 4, 14), Tensor-OMP, selection "aic_true_count" = reference mode 1), the
sequential and the joint 3-D Unitary ESPRIT baselines on the same compressed tensor → errors
against the truth → ``results.jsonl`` (resumable) → table, ``rmse.csv``, ``rmse.pdf/png`` (three
panels with both CRBs), ``runtime.csv``; then the compression comparison (none / decimation /
averaging / smoothing at 0 and 10 dB) → ``compression.jsonl``/``compression.csv``; and one example
realisation as ``dataset.h5``.

Metrics: the project's **optimal assignment** (Hungarian, on distances scaled by
one resolution cell per dimension) over all estimates, with the **success rate** (correct count
and every matched error within one resolution cell); and the paper's **sort-by-angle** RMSE, NaN
for realisations with a wrong count (reference rule), with the fraction of such realisations.
Angles are printed in degrees (PLAIN's θ from the array axis and the package's azimuth differ by a
sign and an offset, so the error is the same), path lengths in m, velocities in m/s.
"""

from __future__ import annotations

import time
from dataclasses import asdict, replace
from functools import partial

import numpy as np

from sensing import match_estimates

from . import _kit
from .isac_ofdm import (
    draw_trial,
    plain_preset,
    resolution_cells,
    save_example,
    truth_matrix,
)

DESCRIPTION = "PLAIN (Tahir et al. 2025) released example: RMSE vs SNR with both CRBs, run times, compression comparison"

__all__ = ["DESCRIPTION", "FLAGS", "add_arguments", "config_from_args", "run", "METHODS", "COMPARISON", "resolution_cells"]

DELTAS = (1, 4, 14)
"""PLAIN's released compression factors (space, frequency, time)."""

METHODS = {
    "plain": "PLAIN (averaging + Tensor-OMP)",
    "sequential": "sequential (angle / delay / Doppler)",
    "joint": "joint 3-D Unitary ESPRIT",
}

METHOD_NEEDS = {"plain": ("plain",), "sequential": ("sequential_estimator",), "joint": ("joint_esprit_estimator",)}
"""Method -> the public :mod:`estimators` function that :func:`_estimate` calls for it."""

COMPARISON = {
    # name: (compression, deltas, note)
    "none": ("none", (1, 1, 1), "full 16x180x560 tensor"),
    "decimation": ("decimation", DELTAS, "Delta = (1, 4, 14)"),
    "averaging": ("averaging", DELTAS, "Delta = (1, 4, 14)"),
    "smoothing": ("smoothing", (1, 2, 2), "Delta = (1, 2, 2), steps (1, 10, 30): 100 subtensors 16x90x280"),
    "shifted_decimation": ("shifted_decimation", DELTAS, "Delta = (1, 4, 14): 56 virtual snapshots"),
}


FLAGS = {"methods": "--methods"}
"""Sweep key -> the flag that sets it, for messages (the configuration has no flags of its own:
``--config`` changes it)."""


def config_from_args(args):
    """The PLAIN paper's released example (:func:`scenarios.isac_ofdm.plain_preset`) <- ``--config``."""
    return _kit.build_config(args, plain_preset(), FLAGS)


def add_arguments(p) -> None:
    p.add_argument("--methods", type=str, default=None,
                   help=f"comma-separated subset of {', '.join(METHODS)} (default: all)")
    p.add_argument("--compressions", type=str, default=None,
                   help=f"compression comparison: comma-separated subset of {', '.join(COMPARISON)} "
                        "(default: none,decimation,averaging,smoothing; --quick: decimation,averaging; "
                        "'' skips it)")
    p.add_argument("--comparison-snr-db", type=str, default="0,10",
                   help="SNR values of the compression comparison (default: %(default)s)")


# --------------------------------------------------------------------------------------------
# per-trial tasks (module level: picklable for process pools)
# --------------------------------------------------------------------------------------------
def _estimate(name: str, h, config, *, compression="averaging", deltas=DELTAS):
    import estimators

    num, arr = config.numerology(), config.array()
    kw = dict(compression=compression, deltas=deltas, n_objects=config.n_targets)
    if name == "plain":
        return estimators.plain(h, geometry=arr, numerology=num, **kw)
    if name == "sequential":
        return estimators.sequential_estimator(h, geometry=arr, numerology=num, **kw)
    if name == "joint":
        return estimators.joint_esprit_estimator(h, geometry=arr, numerology=num, **kw)
    raise ValueError(f"unknown method {name!r}")


def _score(res, truth: np.ndarray, cells: np.ndarray, prefix: str) -> dict:
    """Assigned and sort-by-angle squared errors of one estimate (host scalars)."""
    r = res.to_numpy()
    est = np.stack([r.azimuths_rad, r.path_lengths_m, r.velocities_mps], axis=1) if r.n_objects else np.zeros((0, 3))
    n_t = truth.shape[0]
    m = match_estimates(est, truth, scale=cells, p=2.0)
    out = {f"{prefix}_n_est": int(est.shape[0])}
    for j, k in enumerate(("az", "dist", "vel")):
        out[f"{prefix}_mse_{k}"] = float(np.mean(m.errors[:, j] ** 2)) if m.n_pairs else float("nan")
    ok = est.shape[0] == n_t and m.n_pairs == n_t and bool(np.all(np.abs(m.errors) <= cells))
    out[f"{prefix}_success"] = float(ok)
    if est.shape[0] == n_t:                       # the reference rule: both sorted by angle
        e = est[np.argsort(est[:, 0])] - truth[np.argsort(truth[:, 0])]
        for j, k in enumerate(("az", "dist", "vel")):
            out[f"{prefix}_sorted_mse_{k}"] = float(np.mean(e[:, j] ** 2))
    else:
        for k in ("az", "dist", "vel"):
            out[f"{prefix}_sorted_mse_{k}"] = float("nan")
    return out


def _trial(point: dict, rngs, *, config, names: tuple[str, ...], backend: str) -> dict:
    from estimators import crb_plain_joint, crb_plain_per_dimension

    cfg, ds, h = draw_trial(config, point["snr_db"], rngs, backend)
    truth, cells = truth_matrix(ds), resolution_cells(cfg)
    out: dict = {}
    for name in names:
        t0 = time.perf_counter()
        res = _estimate(name, h, cfg)
        out[f"{name}_time_s"] = time.perf_counter() - t0
        out.update(_score(res, truth, cells, name))
    num, arr = cfg.numerology(), cfg.array()
    for key, fn in (("crb_dim", crb_plain_per_dimension), ("crb_joint", crb_plain_joint)):
        b = fn(ds.paths, geometry=arr, numerology=num, noise_variance=ds.noise_variance)
        for k, v in (("az", b.azimuth_rad2), ("dist", b.distance_m2), ("vel", b.velocity_m2ps2)):
            out[f"{key}_{k}"] = float(np.mean(v))
    return out


def _comparison_trial(point: dict, rngs, *, config, backend: str) -> dict:
    cfg, ds, h = draw_trial(config, point["snr_db"], rngs, backend)
    comp, deltas, _ = COMPARISON[point["compression"]]
    t0 = time.perf_counter()
    res = _estimate("plain", h, cfg, compression=comp, deltas=deltas)
    out = {"time_s": time.perf_counter() - t0}
    out.update(_score(res, truth_matrix(ds), resolution_cells(cfg), "plain"))
    return out


# --------------------------------------------------------------------------------------------
# terminal program
# --------------------------------------------------------------------------------------------
def _agg(res, key, reduce):
    """Per grid point reduction; ``"nanmean"`` skips NaN (the reference rule's excluded realisations)."""
    if reduce != "nanmean":
        return res.aggregate(key, reduce=reduce)
    col = res.column(key).astype(float)
    idx = res.column("point_index")
    return np.asarray([np.nanmean(col[idx == p]) if np.any(np.isfinite(col[idx == p])) else np.nan
                       for p in range(res.n_points)])


def run(args) -> int:
    from sensing.plotting import (
        figure_legend,
        figure_note,
        ieee_figure,
        plot_rmse,
        save_figure,
        write_caption,
        write_csv,
    )

    config = config_from_args(args)
    names = _kit.parse_names(args.methods, "--methods", tuple(METHODS))
    default_cmp = ("decimation", "averaging") if args.quick else ("none", "decimation", "averaging", "smoothing")
    comps = _kit.parse_names(args.compressions, "--compressions", tuple(COMPARISON), default=default_cmp,
                             allow_empty=True)
    snrs = args.snr_db or ([-10.0, 0.0, 10.0] if args.quick else [float(s) for s in range(-20, 21, 5)])
    cmp_snrs = _kit.parse_snr_list(args.comparison_snr_db, "--comparison-snr-db")
    n_trials = args.trials or (2 if args.quick else 20)
    for s in list(snrs) + list(cmp_snrs):
        replace(config, snr_db=s)  # validates the range
    _kit.require_estimators("plain", {**METHOD_NEEDS, "CRB": ("crb_plain_joint", "crb_plain_per_dimension")})
    _kit.check_backend(args)
    out = _kit.output_dir(args, "plain")
    print(f"plain: released example ({config.n_antennas} antennas x {config.n_subcarriers} subcarriers x "
          f"{config.n_symbols} symbols, {config.n_targets} objects), {len(snrs)} SNR points x {n_trials} "
          f"realisations, methods {', '.join(names)}; Delta = {DELTAS}")

    # ---- main sweep
    res = _kit.sweep(args, partial(_trial, config=config, names=names, backend=args.backend),
                     [{"snr_db": s} for s in snrs], n_trials=n_trials, results_path=out / "results.jsonl",
                     desc="plain", fingerprint=_kit.fingerprint(scenario="plain", config=asdict(config),
                                                                methods=names))
    cols = {"snr_db": np.asarray(snrs)}
    curves = {k: {} for k in ("az", "dist", "vel")}
    conv = {"az": np.degrees, "dist": lambda v: v, "vel": lambda v: v}
    hdr = (f"{'SNR [dB]':>8s}  {'method':36s} {'AoA [deg]':>10s} {'dist [m]':>10s} {'vel [m/s]':>10s} "
           f"{'success':>7s} {'sorted AoA':>10s} {'wrong count':>11s}")
    print(hdr)
    print("-" * len(hdr))
    table = {}
    for n in names:
        t = {k: conv[k](np.sqrt(_agg(res, f"{n}_mse_{k}", "mean"))) for k in ("az", "dist", "vel")}
        t.update({f"sorted_{k}": conv[k](np.sqrt(_agg(res, f"{n}_sorted_mse_{k}", "nanmean")))
                  for k in ("az", "dist", "vel")})
        t["success"] = _agg(res, f"{n}_success", "mean")
        col, idx = res.column(f"{n}_sorted_mse_az").astype(float), res.column("point_index")
        t["wrong_count"] = np.asarray([np.mean(np.isnan(col[idx == p])) for p in range(len(snrs))])
        t["time"] = _agg(res, f"{n}_time_s", "median")
        # fraction of the objects that have an estimate to pair with: the RMSEs are over those pairs
        n_est = res.column(f"{n}_n_est").astype(float)
        det = np.minimum(n_est, config.n_targets) / config.n_targets
        t["detected"] = np.asarray([np.mean(det[idx == p]) for p in range(len(snrs))])
        table[n] = t
        for k in ("az", "dist", "vel"):
            curves[k][n] = t[k]
            cols[f"{n}_rmse_{k}"] = t[k]
            cols[f"{n}_sorted_rmse_{k}"] = t[f"sorted_{k}"]
        cols[f"{n}_success_rate"] = t["success"]
        cols[f"{n}_wrong_count_rate"] = t["wrong_count"]
        cols[f"{n}_time_s"] = t["time"]
        cols[f"{n}_detected_fraction"] = t["detected"]
    bounds = {k: {} for k in ("az", "dist", "vel")}
    bound_labels = {"crb_joint": "CRB joint", "crb_dim": "CRB per-dimension (reference)"}
    for key in bound_labels:
        for k in ("az", "dist", "vel"):
            v = conv[k](np.sqrt(_agg(res, f"{key}_{k}", "mean")))
            bounds[k][key] = v
            cols[f"{key}_{k}"] = v
    for i, s in enumerate(snrs):
        for n in names:
            t = table[n]
            print(f"{s:8.1f}  {METHODS[n]:36s} {t['az'][i]:10.4g} {t['dist'][i]:10.4g} {t['vel'][i]:10.4g} "
                  f"{t['success'][i]:7.2f} {t['sorted_az'][i]:10.4g} {t['wrong_count'][i]:11.2f}")
        for key, label in bound_labels.items():
            print(f"{s:8.1f}  {label:36s} {bounds['az'][key][i]:10.4g} {bounds['dist'][key][i]:10.4g} "
                  f"{bounds['vel'][key][i]:10.4g}")
    write_csv(out / "rmse.csv", cols)
    # the RMSEs are over the (object, estimate) pairs: the detected fraction sits beside them
    fig, axes = ieee_figure(ncols=2, nrows=2, columns=2, height_ratio=0.55)
    ylabels = {"az": "RMSE AoA [deg]", "dist": "RMSE path length [m]", "vel": "RMSE velocity [m/s]"}
    x = np.asarray(snrs)
    for ax, k in zip(np.ravel(axes), ("az", "dist", "vel")):
        plot_rmse(x, {n: np.where(v > 0, v, np.nan) for n, v in curves[k].items()}, bounds=bounds[k], ax=ax,
                  ylabel=ylabels[k], legend=False)
    ax_pd = np.ravel(axes)[3]
    plot_rmse(x, {n: table[n]["detected"] for n in names}, ax=ax_pd, ylabel="detected fraction $P_D$",
              logy=False, legend=False)
    ax_pd.set_ylim(-0.03, 1.05)
    figure_legend(fig, ncol=3)
    figure_note(fig, f"{n_trials} realisation{'s' * (n_trials != 1)} per SNR point, {config.n_targets} objects; RMSE over "
                     "paired objects, read with $P_D$")
    save_figure(fig, out / "rmse")
    write_caption(out / "rmse", fig, trials=n_trials, snr_db=snrs, seed=args.seed, objects=config.n_targets,
                  deltas=DELTAS, notes=["RMSE by optimal assignment over the objects that have an estimate; "
                                        "P_D (lower right) = min(estimates, objects) / objects",
                                        "CRB per-dimension: the reference code's bound; CRB joint: all "
                                        "parameters of all objects unknown"])

    print("\nrun time per call (median over all SNR points and realisations):")
    rt = {"method": [], "median_time_s": [], "speedup_of_plain": []}
    t_plain = float(np.median(res.column("plain_time_s"))) if "plain" in names else float("nan")
    for n in names:
        t = float(np.median(res.column(f"{n}_time_s")))
        rt["method"].append(METHODS[n])
        rt["median_time_s"].append(t)
        rt["speedup_of_plain"].append(t / t_plain)
        print(f"  {METHODS[n]:36s} {1e3 * t:9.2f} ms   ({t / t_plain:6.1f}x PLAIN)")
    write_csv(out / "runtime.csv", rt)

    # ---- compression comparison
    if comps:
        print(f"\ncompression comparison (PLAIN, Tensor-OMP), {n_trials} realisations:")
        pts = [{"compression": c, "snr_db": s} for c in comps for s in cmp_snrs]
        res2 = _kit.sweep(args, partial(_comparison_trial, config=config, backend=args.backend), pts,
                          n_trials=n_trials, results_path=out / "compression.jsonl", desc="plain compression",
                          fingerprint=_kit.fingerprint(scenario="plain-compression", config=asdict(config)))
        c_cols = {"compression": [], "snr_db": [], "rmse_az_deg": [], "rmse_dist_m": [], "rmse_vel_mps": [],
                  "success_rate": [], "median_time_s": []}
        print(f"  {'compression':20s} {'SNR':>5s} {'AoA [deg]':>10s} {'dist [m]':>10s} {'vel [m/s]':>10s} "
              f"{'success':>7s} {'time/call':>10s}   setting")
        for i, ptt in enumerate(pts):
            vals = [conv[k](np.sqrt(_agg(res2, f"plain_mse_{k}", "mean")[i])) for k in ("az", "dist", "vel")]
            succ = float(_agg(res2, "plain_success", "mean")[i])
            tm = float(_agg(res2, "time_s", "median")[i])
            for key, v in zip(c_cols, [ptt["compression"], ptt["snr_db"], *vals, succ, tm]):
                c_cols[key].append(v)
            print(f"  {ptt['compression']:20s} {ptt['snr_db']:5.1f} {vals[0]:10.4g} {vals[1]:10.4g} {vals[2]:10.4g} "
                  f"{succ:7.2f} {tm:9.4f}s   {COMPARISON[ptt['compression']][2]}")
        write_csv(out / "compression.csv", c_cols)

    # ---- one example realisation
    save_example(out / "dataset.h5", config, snrs, args.seed)
    print(f"wrote {out / 'results.jsonl'}, {out / 'rmse.csv'}, {out / 'rmse.pdf'} (+png), {out / 'runtime.csv'}"
          + (f", {out / 'compression.csv'}" if comps else "") + f", {out / 'dataset.h5'}")
    return 0

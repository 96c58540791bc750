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

import json
import time
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path

import numpy as np

import estimators
from sensing import (
    SPEED_OF_LIGHT,
    asarray_like,
    match_estimates,
    namespace_for_backend,
    run_sweep,
    save_dataset,
    to_numpy,
    trial_rngs,
)

from .isac_ofdm import PRESETS, IsacConfig, IsacDataset, generate

# --------------------------------------------------------------------------------------------
# estimator adapters: dataset (+ namespace) -> azimuth [rad], distance [m], velocity [m/s]
# --------------------------------------------------------------------------------------------


def _fft(h, config: IsacConfig):
    est = estimators.ofdm_radar(h, config.numerology(), config.array(), n_targets=config.n_targets,
                                propagation=config.propagation)
    return est.azimuth_rad, est.distances_m, est.velocities_mps


ADAPTERS = {"fft": ("FFT radar (periodogram + beamscan)", _fft)}


def _register_optional_adapters() -> None:
    """Subspace / PLAIN adapters, added when those estimators are available in `estimators`."""
    from . import _isac_adapters  # noqa: F401  (registers into ADAPTERS)


try:
    _register_optional_adapters()
except ImportError:  # pragma: no cover - optional estimators not present
    pass


def _crb_variances(config: IsacConfig, ds: IsacDataset):
    """Per-realisation CRB variances (azimuth, distance, velocity), when the bound is available."""
    try:
        from ._isac_adapters import crb_variances
    except ImportError:  # pragma: no cover - subspace toolbox absent
        return None
    return crb_variances(config, ds)


def resolution_cells(config: IsacConfig) -> np.ndarray:
    """Rayleigh cells (azimuth at broadside [rad], distance [m], velocity [m/s]) used to scale errors."""
    num = config.numerology()
    f = config.path_factor
    d_over_lam = config.spacing_wavelengths
    return np.array([2.0 / (config.n_antennas * 2 * d_over_lam),
                     SPEED_OF_LIGHT / (f * num.bandwidth_hz),
                     SPEED_OF_LIGHT / (f * config.carrier_hz * num.observation_time_s)])


GATE_CELLS = 2.0
"""An estimate farther than this many resolution cells (scaled Euclidean distance over azimuth,
distance and velocity) from its assigned target is a miss plus a false alarm; RMSEs are over the
detected targets and P_D reports the rest, so outliers show up as P_D < 1 instead of swamping
the RMSE."""


def _trial(point: dict, rngs, *, config: IsacConfig, names: tuple[str, ...], backend: str) -> dict:
    cfg = replace(config, snr_db=float(point["snr_db"]))
    ds = generate(cfg, rng=rngs.realisation, noise_rng=rngs.noise)
    xp = namespace_for_backend(backend)
    h = asarray_like(ds.channel_estimate, xp)
    truth = np.stack([ds.truth.azimuths_rad, ds.truth.distances_m, ds.truth.velocities_mps], axis=1)
    cells = resolution_cells(cfg)
    out: dict = {}
    crb = _crb_variances(cfg, ds)
    if crb is not None:
        out.update(crb_az_rad2=float(crb[0]), crb_dist_m2=float(crb[1]), crb_vel_m2s2=float(crb[2]))
    for name in names:
        fn = ADAPTERS[name][1]
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


def run(args) -> int:
    config: IsacConfig = PRESETS[args.preset]()
    if args.propagation is not None and args.propagation != config.propagation:
        pl = "radar" if args.propagation == "monostatic" else "uma-los"
        config = replace(config, propagation=args.propagation, path_loss=pl)
    available = list(ADAPTERS)
    if args.estimators is not None:
        names = tuple(s.strip() for s in args.estimators.split(",") if s.strip())
        bad = [n for n in names if n not in available]
        if bad or not names:
            raise ValueError(f"`--estimators` must name some of {', '.join(available)}; got {args.estimators!r}.")
    else:
        names = tuple(available)
    if args.preset == "plain":
        snrs = args.snr_db or ([-10.0, 0.0, 10.0] if args.quick else [float(s) for s in range(-20, 21, 5)])
        n_trials = args.trials or (2 if args.quick else 20)
    else:
        snrs = args.snr_db or ([0.0, 20.0] if args.quick else [float(s) for s in range(-10, 21, 5)])
        n_trials = args.trials or (2 if args.quick else 20)
    for s in snrs:
        replace(config, snr_db=s)  # validates the range
    if args.backend == "cupy":
        namespace_for_backend("cupy")  # clear error now if CuPy is missing
    out = Path(args.out) if args.out is not None else Path("runs") / "isac-ofdm"
    out.mkdir(parents=True, exist_ok=True)
    fingerprint = json.dumps({"config": asdict(config), "estimators": names}, sort_keys=True, default=str)
    print(f"isac-ofdm: preset={args.preset} propagation={config.propagation} "
          f"{config.n_antennas} antennas x {config.n_subcarriers} subcarriers x {config.n_symbols} symbols, "
          f"{config.n_targets} targets, {len(snrs)} SNR points x {n_trials} trials, estimators {', '.join(names)}")
    task = partial(_trial, config=config, names=names, backend=args.backend)
    executor = "dask" if args.scheduler else ("processes" if args.workers > 1 else "serial")
    res = run_sweep(task, [{"snr_db": s} for s in snrs], n_trials=n_trials, seed=args.seed,
                    results_path=out / "results.jsonl", resume=args.resume, executor=executor,
                    workers=args.workers, scheduler=None if args.scheduler in (None, "local") else args.scheduler,
                    progress=not args.no_progress, desc="isac-ofdm", fingerprint=fingerprint)

    agg = {}
    for n in names:
        agg[n] = {
            "az_deg": np.degrees(np.sqrt(res.aggregate(f"{n}_mse_az_rad2", reduce="mean"))),
            "dist_m": np.sqrt(res.aggregate(f"{n}_mse_dist_m2", reduce="mean")),
            "vel_mps": np.sqrt(res.aggregate(f"{n}_mse_vel_m2s2", reduce="mean")),
            "pd": res.aggregate(f"{n}_pd", reduce="mean"),
            "time_s": res.aggregate(f"{n}_time_s", reduce="median"),
        }
    _print_table(snrs, names, agg)
    if "crb_az_rad2" in res.records[0]:
        crb = [np.sqrt(res.aggregate(k, reduce="mean")) for k in ("crb_az_rad2", "crb_dist_m2", "crb_vel_m2s2")]
        for i, s in enumerate(snrs):
            print(f"{s:8.1f}  {'CRB':10s} {np.degrees(crb[0][i]):13.4g} {crb[1][i]:13.4g} {crb[2][i]:14.4g}")

    # example realisation (trial 0 at the highest SNR) -> HDF5 + range-Doppler map
    hi = int(np.argmax(snrs))
    r0 = trial_rngs(args.seed, 0, hi)
    ds = generate(replace(config, snr_db=snrs[hi]), rng=r0.realisation, noise_rng=r0.noise)
    save_dataset(out / "dataset.h5", ds, seed=args.seed, attrs={"snr_db": snrs[hi], "trial": 0})

    bounds = None
    if "crb_az_rad2" in res.records[0]:
        bounds = {"az_deg": np.degrees(np.sqrt(res.aggregate("crb_az_rad2", reduce="mean"))),
                  "dist_m": np.sqrt(res.aggregate("crb_dist_m2", reduce="mean")),
                  "vel_mps": np.sqrt(res.aggregate("crb_vel_m2s2", reduce="mean"))}

    cols = {"snr_db": np.asarray(snrs)}
    for n in names:
        for k in ("az_deg", "dist_m", "vel_mps", "pd", "time_s"):
            cols[f"{n}_{'rmse_' if k in ('az_deg', 'dist_m', 'vel_mps') else ''}{k}"] = agg[n][k]
    if bounds is not None:
        for k, v in bounds.items():
            cols[f"crb_{k}"] = v
    from sensing.plotting import ieee_figure, plot_range_doppler, plot_rmse, save_figure, write_csv

    write_csv(out / "rmse.csv", cols)
    fig, axes = ieee_figure(ncols=3, columns=2, height_ratio=0.8)
    labels = {"az_deg": "RMSE azimuth [deg]", "dist_m": "RMSE distance [m]", "vel_mps": "RMSE velocity [m/s]"}
    for ax, key in zip(np.ravel(axes), ("az_deg", "dist_m", "vel_mps")):
        plot_rmse(np.asarray(snrs), {n: agg[n][key] for n in names},
                  bounds=None if bounds is None else {"CRB": bounds[key]}, ax=ax, ylabel=labels[key])
    save_figure(fig, out / "rmse")
    fig2, ax2 = ieee_figure()
    est = estimators.ofdm_radar(ds.channel_estimate, config.numerology(), config.array(),
                                n_targets=config.n_targets, propagation=config.propagation)
    plot_range_doppler(est.range_doppler_map, est.distance_axis_m, est.velocity_axis_mps, ax=ax2,
                       truth=(ds.truth.distances_m, ds.truth.velocities_mps))
    save_figure(fig2, out / "range_doppler")
    print(f"wrote {out / 'results.jsonl'}, {out / 'rmse.csv'}, {out / 'rmse.pdf'} (+png), "
          f"{out / 'range_doppler.pdf'} (+png), {out / 'dataset.h5'}")
    return 0

r"""DOA accuracy of the subspace toolbox: RMSE vs SNR and vs snapshots against both CRBs, and the
resolution probability of two close sources vs their separation.

Model: a half-wavelength ULA of :math:`M` elements (package convention: broadside = azimuth 0),
:math:`K = 2` uncorrelated equal-power complex Gaussian sources, white noise,
:math:`\mathrm{SNR}` = source power / noise power per element,
:math:`\mathbf x(t) = \mathbf A\mathbf s(t) + \mathbf n(t)`, :math:`t = 1..N`.

Estimators: MUSIC (grid + Newton refinement), root-MUSIC, ESPRIT (LS), Unitary ESPRIT, OMP (grid
+ Newton) and Capon; bounds: the stochastic CRB (true source covariance) and the deterministic CRB
(the realised sample source covariance, averaged over trials) of Stoica and Nehorai (IEEE Trans.
ASSP 37(5), 1989, and 38(10), 1990). The RMSE is
:math:`\sqrt{\mathrm{mean}_{trials,k}(\hat\phi_k - \phi_k)^2}` after sorting, compared with
:math:`\sqrt{\mathrm{mean}_k[\mathrm{CRB}]_{kk}}`.

Resolution: two sources at :math:`\pm\Delta/2` around broadside count as resolved when both
sorted estimates lie within :math:`\Delta/2` of their true angles.

Outputs in ``--out`` (default ``runs/doa-rmse``): ``results.jsonl`` (resumable sweep),
``rmse_vs_snr.csv``, ``rmse_vs_snapshots.csv``, ``resolution.csv``, the figures
``rmse_vs_snr``, ``rmse_vs_snapshots``, ``resolution`` (PDF + PNG), and ``results.h5`` (the
aggregated curves, the configuration and one example realisation).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from functools import partial

import numpy as np

from sensing import (
    asarray_like,
    check_float,
    check_int,
    namespace_for_backend,
    save_dataset,
    to_numpy,
)

from . import _kit

DESCRIPTION = "DOA RMSE vs SNR and snapshots (MUSIC, root-MUSIC, ESPRIT, Unitary ESPRIT, OMP, Capon) with both CRBs; resolution probability"

__all__ = ["DESCRIPTION", "DoaConfig", "DoaResults", "ESTIMATOR_LABELS", "FLAGS", "add_arguments", "config_from_args",
           "run", "trial"]

ESTIMATOR_LABELS = {
    "music": "MUSIC",
    "root_music": "root-MUSIC",
    "esprit": "ESPRIT (LS)",
    "unitary_esprit": "Unitary ESPRIT",
    "omp": "OMP",
    "capon": "Capon",
}


@dataclass(frozen=True)
class DoaConfig:
    """Scenario configuration (SI units and radians inside, degrees only in names that say so).

    Attributes
    ----------
    n_elements : int
        ULA size :math:`M` (half-wavelength spacing).
    azimuths_deg : tuple of float
        Source azimuths of the RMSE sweeps [deg].
    n_snapshots : int
        Snapshots :math:`N` of the RMSE-vs-SNR sweep and of the resolution sweep.
    snapshot_snr_db : float
        SNR of the RMSE-vs-snapshots sweep [dB].
    resolution_snr_db : float
        SNR of the resolution sweep [dB].
    grid_points : int
        Azimuth grid of the grid methods (MUSIC, OMP, Capon) on [-90, 90] deg.
    """

    n_elements: int = 10
    azimuths_deg: tuple = (-10.0, 15.0)
    n_snapshots: int = 100
    snapshot_snr_db: float = 0.0
    resolution_snr_db: float = 10.0
    grid_points: int = 1801
    estimators: tuple = tuple(ESTIMATOR_LABELS)

    def __post_init__(self):
        check_int(self.n_elements, "n_elements", low=3, why="two sources need a noise subspace")
        check_int(self.n_snapshots, "n_snapshots", low=2)
        check_int(self.grid_points, "grid_points", low=11)
        check_float(self.snapshot_snr_db, "snapshot_snr_db", low=-100.0, high=200.0)
        check_float(self.resolution_snr_db, "resolution_snr_db", low=-100.0, high=200.0)
        if len(self.azimuths_deg) != 2:
            raise ValueError(f"`azimuths_deg` must hold two source azimuths; got {self.azimuths_deg!r}.")
        for a in self.azimuths_deg:
            check_float(a, "azimuths_deg", low=-89.0, high=89.0)
        bad = [e for e in self.estimators if e not in ESTIMATOR_LABELS]
        if bad or not self.estimators:
            raise ValueError(f"`estimators` must name some of {', '.join(ESTIMATOR_LABELS)}; got {self.estimators!r}.")


@dataclass(frozen=True)
class DoaResults:
    """Aggregated curves (what ``results.h5`` stores).

    The curve dicts are keyed by estimator id (``"music"``, ``"esprit"``, ...; the display names
    are :data:`ESTIMATOR_LABELS`) and the bounds by ``"crb_sto"`` (stochastic CRB) and
    ``"crb_det"`` (deterministic CRB), so every HDF5 group and dataset name is a snake_case key.
    """

    config: DoaConfig
    snr_db: np.ndarray
    n_snapshots: np.ndarray
    separation_deg: np.ndarray
    rmse_vs_snr_deg: dict
    rmse_vs_snapshots_deg: dict
    resolution_probability: dict
    crb_vs_snr_deg: dict
    crb_vs_snapshots_deg: dict
    example_snapshots: np.ndarray = field(repr=False)
    example_azimuths_rad: np.ndarray = field(repr=False)


def _snapshots(m, az_rad, n, snr_db, rng):
    """x = A s + n with unit-power noise and sources of power 10^(snr/10) (host arrays)."""
    from sensing import steering_vector, ula

    p = 10.0 ** (snr_db / 10.0)
    k = az_rad.size
    s = math.sqrt(p / 2) * (rng.standard_normal((k, n)) + 1j * rng.standard_normal((k, n)))
    w = math.sqrt(0.5) * (rng.standard_normal((m, n)) + 1j * rng.standard_normal((m, n)))
    return steering_vector(ula(m, 0.5), az_rad, wavelength_m=1.0) @ s + w, s


def _estimate(name, x, geom, grid):
    import estimators as est

    kw = dict(n_sources=2, geometry=geom, wavelength_m=1.0)
    if name in ("music", "capon", "omp"):
        kw["grid"] = grid
    if name in ("music", "capon"):
        kw["return_spectrum"] = False
    return getattr(est, name)(x, **kw).estimates


def trial(point: dict, rngs, *, config: DoaConfig, backend: str = "numpy") -> dict:
    """One (point, trial): squared errors [rad^2], resolution flags and the per-trial deterministic CRB.

    Examples
    --------
    One trial of the RMSE-vs-SNR sweep with two of the estimators on a 10-element ULA:

    >>> import numpy as np
    >>> from scenarios import doa_rmse
    >>> from sensing import trial_rngs
    >>> cfg = doa_rmse.DoaConfig(estimators=("music", "esprit"), grid_points=361)
    >>> rec = doa_rmse.trial({"sweep": "snr", "snr_db": 20.0, "n_snapshots": 100}, trial_rngs(0, 0, 0), config=cfg)
    >>> sorted(rec)
    ['crb_det', 'esprit_resolved', 'esprit_se', 'music_resolved', 'music_se']
    >>> bool(rec["music_se"] < 1e-4 and rec["esprit_se"] < 1e-4)   # [rad^2]
    True
    """
    import estimators as est
    from sensing import ula

    m = config.n_elements
    geom = ula(m, 0.5)
    if point["sweep"] == "resolution":
        half = math.radians(float(point["separation_deg"])) / 2
        az = np.array([-half, half])
    else:
        az = np.radians(np.asarray(config.azimuths_deg, dtype=float))
    n = int(point["n_snapshots"])
    snr = float(point["snr_db"])
    x, s = _snapshots(m, az, n, snr, rngs.noise)
    xp = namespace_for_backend(backend)
    xd = asarray_like(x, xp)
    grid = asarray_like(np.linspace(-math.pi / 2, math.pi / 2, config.grid_points), xp)
    out = {}
    order = np.argsort(az)
    for name in config.estimators:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", est.SubspaceWarning)     # below threshold: expected
            e = np.sort(to_numpy(_estimate(name, xd, geom, grid)))
        err = e - az[order]
        out[f"{name}_se"] = float(np.mean(err ** 2))
        # every record carries every key (the sweep's aggregation needs whole columns)
        out[f"{name}_resolved"] = (bool(np.all(np.abs(err) < half)) if point["sweep"] == "resolution"
                                   else float("nan"))
    out["crb_det"] = float("nan")
    if point["sweep"] != "resolution":
        p_hat = s @ s.conj().T / n
        try:
            det = est.crb_deterministic(geom, az, wavelength_m=1.0, source_covariance=p_hat,
                                        noise_variance=1.0, n_snapshots=n)
            out["crb_det"] = float(np.mean(det.std ** 2))
        except ValueError:     # a (numerically) singular realised source covariance
            out["crb_det"] = float("nan")
    return out


def _points(config: DoaConfig, snrs, snapshots, separations):
    pts = [{"sweep": "snr", "snr_db": float(s), "n_snapshots": config.n_snapshots, "separation_deg": 0.0}
           for s in snrs]
    pts += [{"sweep": "snapshots", "snr_db": config.snapshot_snr_db, "n_snapshots": int(n), "separation_deg": 0.0}
            for n in snapshots]
    pts += [{"sweep": "resolution", "snr_db": config.resolution_snr_db, "n_snapshots": config.n_snapshots,
             "separation_deg": float(d)} for d in separations]
    return pts


def _crb_sto(config: DoaConfig, snr_db: float, n: int) -> float:
    import estimators as est
    from sensing import ula

    p = 10.0 ** (snr_db / 10.0)
    az = np.radians(np.asarray(config.azimuths_deg, dtype=float))
    r = est.crb_stochastic(ula(config.n_elements, 0.5), az, wavelength_m=1.0, source_covariance=np.array([p, p]),
                           noise_variance=1.0, n_snapshots=n)
    return float(np.mean(r.std ** 2))


FLAGS = {"n_elements": "--n-elements", "estimators": "--estimators", "snapshot_snr_db": "--snapshot-snr-db",
         "resolution_snr_db": "--resolution-snr-db", "n_snapshots": "--snapshots",
         "separation_deg": "--separations-deg"}
"""Configuration field (or sweep key) -> the flag that sets it, for messages."""


def add_arguments(parser) -> None:
    parser.add_argument("--estimators", type=str, default=None,
                        help=f"comma-separated subset of {', '.join(ESTIMATOR_LABELS)} (default: all)")
    parser.add_argument("--n-elements", type=int, default=None, help="ULA size M (default: 10)")
    parser.add_argument("--snapshots", type=str, default=None,
                        help="snapshot counts of the RMSE-vs-N sweep, e.g. '10,30,100,300'")
    parser.add_argument("--separations-deg", type=str, default=None,
                        help="source separations of the resolution sweep [deg], e.g. '1,2,4,8'")
    parser.add_argument("--snapshot-snr-db", type=float, default=None,
                        help="SNR of the RMSE-vs-N sweep [dB] (default: 0)")
    parser.add_argument("--resolution-snr-db", type=float, default=None,
                        help="SNR of the resolution sweep [dB] (default: 10)")


def config_from_args(args) -> DoaConfig:
    """``DoaConfig`` of the preset (``--quick``: a 601-point grid) <- ``--config`` <- flags given."""
    base = DoaConfig(grid_points=601 if args.quick else 1801)
    over = {}
    if args.estimators is not None:
        over["estimators"] = _kit.parse_names(args.estimators, "--estimators", tuple(ESTIMATOR_LABELS))
    for name in ("n_elements", "snapshot_snr_db", "resolution_snr_db"):
        if getattr(args, name) is not None:
            over[name] = getattr(args, name)
    return _kit.build_config(args, base, FLAGS, over)


def run(args) -> int:
    from sensing.plotting import (
        figure_legend,
        figure_note,
        ieee_figure,
        integer_ticks,
        plot_rmse,
        save_figure,
        write_caption,
        write_csv,
    )

    config = config_from_args(args)
    names = tuple(config.estimators)
    snrs = args.snr_db or ([-10.0, 0.0, 10.0, 20.0] if args.quick else [float(s) for s in range(-20, 31, 5)])
    snapshots = _kit.parse_numbers(args.snapshots, "--snapshots", cast=int, low=2) if args.snapshots else (
        [10, 100] if args.quick else [5, 10, 20, 50, 100, 200, 500, 1000])
    seps = _kit.parse_numbers(args.separations_deg, "--separations-deg", low=0.0, high=170.0,
                              low_inclusive=False, high_inclusive=False) if args.separations_deg else (
        [2.0, 8.0] if args.quick else [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0])
    n_trials = args.trials or (6 if args.quick else 200)
    _kit.require_estimators("doa-rmse", {**{n: (n,) for n in names},
                                         "CRB": ("crb_stochastic", "crb_deterministic")})
    _kit.check_backend(args)
    out = _kit.output_dir(args, "doa-rmse")
    pts = _points(config, snrs, snapshots, seps)
    print(f"doa-rmse: ULA M={config.n_elements}, sources at {config.azimuths_deg} deg, {len(pts)} points x "
          f"{n_trials} trials, estimators {', '.join(names)}")
    res = _kit.sweep(args, partial(trial, config=config, backend=args.backend), pts, n_trials=n_trials,
                     results_path=out / "results.jsonl", desc="doa-rmse",
                     fingerprint=_kit.fingerprint(scenario="doa-rmse", config=asdict(config)))

    def rmse_deg(key, idx):
        return np.degrees(np.sqrt(res.aggregate(key, reduce="mean")[idx]))

    kinds = np.asarray([p["sweep"] for p in pts])
    i_snr, i_n, i_res = (np.flatnonzero(kinds == k) for k in ("snr", "snapshots", "resolution"))
    # curves keyed by estimator id (HDF5 group names); display labels only when printing/plotting
    curves_snr = {nm: rmse_deg(f"{nm}_se", i_snr) for nm in names}
    curves_n = {nm: rmse_deg(f"{nm}_se", i_n) for nm in names}
    crb_snr = {"crb_sto": np.degrees(np.sqrt([_crb_sto(config, s, config.n_snapshots) for s in snrs])),
               "crb_det": rmse_deg("crb_det", i_snr)}
    crb_n = {"crb_sto": np.degrees(np.sqrt([_crb_sto(config, config.snapshot_snr_db, n) for n in snapshots])),
             "crb_det": rmse_deg("crb_det", i_n)}
    prob = {nm: res.aggregate(f"{nm}_resolved", reduce="mean")[i_res] for nm in names}

    cols = {"snr_db": np.asarray(snrs, dtype=float)}
    cols.update({f"rmse_deg_{nm}": curves_snr[nm] for nm in names})
    cols.update({"crb_sto_deg": crb_snr["crb_sto"], "crb_det_deg": crb_snr["crb_det"]})
    write_csv(out / "rmse_vs_snr.csv", cols)
    cols = {"n_snapshots": np.asarray(snapshots, dtype=float)}
    cols.update({f"rmse_deg_{nm}": curves_n[nm] for nm in names})
    cols.update({"crb_sto_deg": crb_n["crb_sto"], "crb_det_deg": crb_n["crb_det"]})
    write_csv(out / "rmse_vs_snapshots.csv", cols)
    cols = {"separation_deg": np.asarray(seps, dtype=float)}
    cols.update({f"p_resolved_{nm}": prob[nm] for nm in names})
    write_csv(out / "resolution.csv", cols)

    hdr = f"{'SNR [dB]':>8s} " + " ".join(f"{ESTIMATOR_LABELS[nm]:>15s}" for nm in names) + f" {'CRB sto':>9s} {'CRB det':>9s}"
    print("RMSE [deg] vs SNR (N = %d):" % config.n_snapshots)
    print(hdr)
    for i, s in enumerate(snrs):
        print(f"{s:8.1f} " + " ".join(f"{curves_snr[nm][i]:15.4g}" for nm in names)
              + f" {crb_snr['crb_sto'][i]:9.4g} {crb_snr['crb_det'][i]:9.4g}")
    print(f"resolution probability vs separation (SNR {config.resolution_snr_db:g} dB):")
    for i, d in enumerate(seps):
        print(f"{d:8.2f} " + " ".join(f"{prob[nm][i]:15.2f}" for nm in names))

    # every trial counts in these RMSEs (each estimator returns both sources): no detection
    # conditioning, so no P_D panel is needed
    uncond = "RMSE over all trials and both sources (no detection gate)"
    src = ", ".join(f"{a:g}" for a in config.azimuths_deg)
    fig, ax = ieee_figure(height_ratio=0.8)
    plot_rmse(np.asarray(snrs), _positive(curves_snr), bounds=crb_snr, ax=ax, ylabel="RMSE [deg]", legend=False)
    figure_legend(fig)
    figure_note(fig, f"{n_trials} trial{'s' * (n_trials != 1)} per point, N = {config.n_snapshots} snapshots, M = {config.n_elements}")
    save_figure(fig, out / "rmse_vs_snr")
    write_caption(out / "rmse_vs_snr", fig, trials=n_trials, snr_db=snrs, seed=args.seed,
                  n_snapshots=config.n_snapshots, n_elements=config.n_elements, azimuths_deg=src, notes=[uncond])
    fig, ax = ieee_figure(height_ratio=0.8)
    plot_rmse(np.asarray(snapshots, dtype=float), _positive(curves_n), bounds=crb_n, ax=ax,
              xlabel="snapshots $N$", ylabel="RMSE [deg]", legend=False)
    ax.set_xscale("log")
    integer_ticks(ax, "x", snapshots)
    figure_legend(fig)
    figure_note(fig, f"{n_trials} trial{'s' * (n_trials != 1)} per point, SNR {config.snapshot_snr_db:g} dB, M = {config.n_elements}")
    save_figure(fig, out / "rmse_vs_snapshots")
    write_caption(out / "rmse_vs_snapshots", fig, trials=n_trials, snr_db=config.snapshot_snr_db, seed=args.seed,
                  n_snapshots=snapshots, n_elements=config.n_elements, azimuths_deg=src, notes=[uncond])
    fig, ax = ieee_figure(height_ratio=0.8)
    plot_rmse(np.asarray(seps), prob, ax=ax, xlabel="separation [deg]", ylabel="P(resolved)", logy=False,
              legend=False)
    ax.set_ylim(-0.03, 1.05)
    figure_legend(fig)
    figure_note(fig, f"{n_trials} trial{'s' * (n_trials != 1)} per point, SNR {config.resolution_snr_db:g} dB, "
                     f"N = {config.n_snapshots}, M = {config.n_elements}")
    save_figure(fig, out / "resolution")
    write_caption(out / "resolution", fig, trials=n_trials, snr_db=config.resolution_snr_db, seed=args.seed,
                  n_snapshots=config.n_snapshots, n_elements=config.n_elements, separation_deg=seps,
                  notes=["resolved: both sorted estimates within half the separation of their true angles"])

    ex, _ = _snapshots(config.n_elements, np.radians(np.asarray(config.azimuths_deg)), config.n_snapshots,
                       float(max(snrs)), np.random.default_rng(args.seed))
    results = DoaResults(config, np.asarray(snrs, dtype=float), np.asarray(snapshots, dtype=float),
                         np.asarray(seps, dtype=float), curves_snr, curves_n, prob, crb_snr, crb_n,
                         ex, np.radians(np.asarray(config.azimuths_deg)))
    save_dataset(out / "results.h5", results, seed=args.seed)
    print(f"wrote {out / 'results.jsonl'}, rmse_vs_snr/rmse_vs_snapshots/resolution (.csv, .pdf, .png), "
          f"{out / 'results.h5'}")
    return 0


def _positive(curves):
    """Exact zeros (noiseless-level errors) cannot show on a log axis: left out (NaN, a gap), not
    drawn at a made-up floor."""
    return {k: np.where(np.asarray(v) > 0, v, np.nan) for k, v in curves.items()}


if __name__ == "__main__":  # pragma: no cover
    from ._cli import main

    raise SystemExit(main(["run", "doa-rmse", *__import__("sys").argv[1:]]))

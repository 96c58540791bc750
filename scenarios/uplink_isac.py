r"""Uplink multi-user ISAC: joint scattering-environment sensing, channel estimation and data
recovery with EM-Turbo-BiSVBI (Liu, Xu, Xu, Caire, arXiv:2502.00811; ``docs/BISVBI.md``).

Data flow (:func:`generate`): frozen :class:`UplinkConfig` → a random scene
(:func:`channels.draw_uplink_geometry`: BS UPA, users with position errors and clock offsets,
scatterers that each user sees a partially shared subset of, LoS when unobstructed) → channels
:math:`\mathbf h_{k,n}` (:func:`channels.uplink_channel`) → a frame of QPSK pilots on the first
``n_pilot_symbols`` OFDM symbols (all users at once) and Gray-coded QAM data on the rest →
:math:`\mathbf y_{n,t} = \sum_k\mathbf h_{k,n}s_{k,n,t} + \mathbf w_{n,t}` at the stated SNR (mean
received power per RE and antenna over the noise power, :mod:`sensing._measurement`) →
:class:`UplinkDataset`, which carries the whole ground truth.

Methods compared (names used in ``--methods`` and in the result files):

``proposed``     EM-Turbo-BiSVBI: MUSIC-SCVBI grid, common support, bilinear data-aided E-step,
                 Armijo M-step on grid, offsets and user positions.
``full``         the same with the full-inverse E-step (every grid point in the Gaussian factor:
                 EM-Turbo-VBI); costly (minutes per trial at the default sizes), so by default
                 only in the first 3 trials of the convergence/CPU-time study (name it in
                 ``--methods`` to sweep it too).
``iid``          per-user independent sparsity (no common-support layer).
``no_mstep``     no M-step: fixed grid, clock offsets and position errors ignored.
``random_init``  a uniform grid with random offsets over the region instead of MUSIC-SCVBI.
``pilot_vbi``    pilot-only Turbo-SC-VBI (EM with M-step, no data-aided refinement), then LMMSE
                 detection.
``omp``          OMP on the location dictionary (uniform grid, nominal geometry), pilots only,
                 then LMMSE detection.
``pilot_lmmse``  per-subcarrier linear LMMSE channel estimate from the pilots (i.i.d. prior with
                 the true noise level and mean channel power), then LMMSE detection.
``perfect_csi``  LMMSE detection with the true channels (BER reference only).

Figures (``--out``, default ``runs/uplink-isac``): channel NMSE vs SNR and vs the number of pilot
symbols, scatterer localisation error (optimal assignment, 5 m gate) vs SNR, BER vs SNR, and NMSE
vs iteration and vs CPU time; CSV files with the curves, ``results.jsonl`` (resumable sweep) and
``results.h5`` (curves, configuration and one example dataset with its ground truth).

Default sizes (the paper's simulation table is not public, so none of these claims to be the
paper's value): an 8 x 8 half-wavelength UPA at 28 GHz (elevation as well as azimuth resolution,
and 64 antennas keep three users separable), 64 subcarriers spaced 1.92 MHz (a 122.88 MHz band
sampled every 16th subcarrier of 120 kHz: 2.4 m bistatic range resolution, 156 m unambiguous path
length, enough for the 20-60 m scene), 8 OFDM symbols with 1 pilot symbol (few pilots, where
data-aided estimation pays), 3 users and 5 scatterers in a 40 x 40 x 10 m box, each seen by a
user with probability 0.6 (the joint sparsity), position errors of 0.5 m per axis and clock
offsets up to 8 ns (2.4 m, one range cell: large enough that ignoring them costs >10 dB, small
enough for a coarse LoS timing estimate), and 16-QAM data.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np

from channels import UplinkGeometry, draw_uplink_geometry, location_dictionary, uniform_location_grid, uplink_channel
from sensing import (
    SPEED_OF_LIGHT,
    Numerology,
    asarray_like,
    bits_to_symbols,
    check_choice,
    check_float,
    check_int,
    check_rng,
    constellation,
    hard_decision,
    match_estimates,
    namespace_for_backend,
    run_sweep,
    save_dataset,
    symbols_to_bits,
    to_numpy,
    upa,
)

DESCRIPTION = ("Uplink multi-user ISAC: EM-Turbo-BiSVBI sensing + channel estimation + data recovery vs "
               "full-inverse, iid-support, no-M-step, random-init, pilot-only and OMP baselines")

__all__ = ["DESCRIPTION", "METHODS", "UplinkConfig", "UplinkDataset", "UplinkResults", "generate", "trial",
           "add_arguments", "run"]

METHODS = {
    "proposed": "EM-Turbo-BiSVBI",
    "full": "EM-Turbo-VBI (full inverse)",
    "iid": "per-user sparsity",
    "no_mstep": "no M-step",
    "random_init": "random init",
    "pilot_vbi": "pilot-only SC-VBI",
    "omp": "OMP (location)",
    "pilot_lmmse": "pilot-only LMMSE",
    "perfect_csi": "perfect CSI",
}
_SENSING = ("proposed", "full", "iid", "no_mstep", "random_init", "pilot_vbi")
_CONVERGENCE = ("proposed", "full", "no_mstep", "random_init")
_TRACE = 40                      # iterations recorded per method in the convergence study
_FULL_TRIALS = 3                 # trials of the (slow) full-inverse baseline in that study


@dataclass(frozen=True)
class UplinkConfig:
    """Scenario configuration (SI units; see the module notes for why these defaults).

    Attributes
    ----------
    carrier_hz, subcarrier_spacing_hz : float
        :math:`f_c` and :math:`\\Delta f` [Hz].
    n_subcarriers, n_symbols, n_pilot_symbols : int
        :math:`N`, :math:`T` and the number of leading pilot symbols :math:`T_p < T`.
    array_rows, array_cols : int
        UPA size (half-wavelength spacing, boresight +x, at the origin).
    n_users, n_scatterers : int
        :math:`K \\le M` and :math:`L`.
    scatterer_region_m, user_region_m : pair of 3-tuples
        Boxes (min corner, max corner) [m]; the receiver searches ``scatterer_region_m``.
    visibility_probability, los_probability : float
        Per (user, scatterer) visibility and per-user LoS probabilities.
    position_error_std_m : float
        Std of each coordinate of the user-position error [m].
    max_time_offset_s : float
        Clock offsets uniform in [-max, max] [s].
    rcs_range_m2 : pair of float
        Log-uniform scatterer radar cross-sections [m^2].
    modulation : {"qam", "psk"}, order : int
        Data constellation.
    snr_db : float
        SNR of the pilot-count and convergence studies [dB].
    grid_spacing_m : float
        Uniform-grid spacing (``random_init`` and ``omp``) [m].
    max_outer : int
        EM iterations.
    """

    carrier_hz: float = 28e9
    subcarrier_spacing_hz: float = 1.92e6
    n_subcarriers: int = 64
    n_symbols: int = 8
    n_pilot_symbols: int = 1
    array_rows: int = 8
    array_cols: int = 8
    n_users: int = 3
    n_scatterers: int = 5
    scatterer_region_m: tuple = ((20.0, -20.0, -8.0), (60.0, 20.0, 2.0))
    user_region_m: tuple = ((25.0, -25.0, -10.0), (65.0, 25.0, -10.0))
    visibility_probability: float = 0.6
    los_probability: float = 1.0
    position_error_std_m: float = 0.5
    max_time_offset_s: float = 8e-9
    rcs_range_m2: tuple = (300.0, 3000.0)
    modulation: str = "qam"
    order: int = 16
    snr_db: float = 10.0
    grid_spacing_m: float = 2.0
    max_outer: int = 10

    def __post_init__(self):
        check_float(self.carrier_hz, "carrier_hz", low=0.0, low_inclusive=False)
        check_float(self.subcarrier_spacing_hz, "subcarrier_spacing_hz", low=0.0, low_inclusive=False)
        check_int(self.n_subcarriers, "n_subcarriers", low=1)
        t = check_int(self.n_symbols, "n_symbols", low=1)
        check_int(self.n_pilot_symbols, "n_pilot_symbols", low=1, high=t,
                  why="pilots are needed to fix the channel scale and phase")
        m = check_int(self.array_rows, "array_rows", low=1) * check_int(self.array_cols, "array_cols", low=1)
        check_int(self.n_users, "n_users", low=1, high=m, why=f"the {m} BS antennas must separate the users")
        check_int(self.n_scatterers, "n_scatterers", low=0)
        for name in ("visibility_probability", "los_probability"):
            check_float(getattr(self, name), name, low=0.0, high=1.0)
        check_float(self.position_error_std_m, "position_error_std_m", low=0.0)
        check_float(self.max_time_offset_s, "max_time_offset_s", low=0.0)
        check_choice(self.modulation, "modulation", ("qam", "psk"))
        constellation(self.modulation, self.order)
        check_float(self.snr_db, "snr_db", low=-50.0, high=80.0)
        check_float(self.grid_spacing_m, "grid_spacing_m", low=0.0, low_inclusive=False)
        check_int(self.max_outer, "max_outer", low=1)
        for name in ("scatterer_region_m", "user_region_m"):
            box = np.asarray(getattr(self, name), dtype=float)
            if box.shape != (2, 3) or np.any(~np.isfinite(box)) or np.any(box[1] < box[0]):
                raise ValueError(f"`{name}` must be ((x0, y0, z0), (x1, y1, z1)) with min <= max; "
                                 f"got {getattr(self, name)!r}.")
        Numerology(self.carrier_hz, self.subcarrier_spacing_hz, self.n_subcarriers, self.n_symbols)

    @property
    def numerology(self) -> Numerology:
        return Numerology(self.carrier_hz, self.subcarrier_spacing_hz, self.n_subcarriers, self.n_symbols)

    @property
    def wavelength_m(self) -> float:
        return SPEED_OF_LIGHT / self.carrier_hz

    @property
    def bs_array(self):
        return upa(self.array_rows, self.array_cols, self.wavelength_m / 2)

    @property
    def pilot_mask(self) -> np.ndarray:
        pm = np.zeros((self.n_subcarriers, self.n_symbols), bool)
        pm[:, : self.n_pilot_symbols] = True
        return pm

    @property
    def bits_per_symbol(self) -> int:
        return int(round(math.log2(self.order)))


@dataclass(frozen=True)
class UplinkDataset:
    """One received frame with its full ground truth (host arrays).

    Attributes
    ----------
    config : UplinkConfig
    geometry : channels.UplinkGeometry
        Scatterer positions, per-user visibility, clock offsets, position errors, LoS flags.
    channels : ndarray, shape (n_users, n_antennas, n_subcarriers), complex
    symbols : ndarray, shape (n_users, n_subcarriers, n_symbols), complex
        QPSK pilots on ``pilot_mask``, data elsewhere.
    pilot_mask : ndarray of bool, shape (n_subcarriers, n_symbols)
    data_bits : ndarray of uint8, shape (n_users, n_data_res * bits_per_symbol)
        Bits of the data REs in the C order of ``~pilot_mask`` (MSB first per symbol).
    received : ndarray, shape (n_antennas, n_subcarriers, n_symbols), complex
    noise_variance : float
        :math:`\\sigma^2` per RE and antenna.
    snr_db : float
    """

    config: UplinkConfig
    geometry: UplinkGeometry
    channels: np.ndarray = field(repr=False)
    symbols: np.ndarray = field(repr=False)
    pilot_mask: np.ndarray = field(repr=False)
    data_bits: np.ndarray = field(repr=False)
    received: np.ndarray = field(repr=False)
    noise_variance: float = 0.0
    snr_db: float = 0.0


@dataclass(frozen=True)
class UplinkResults:
    """Aggregated curves (what ``results.h5`` stores next to an example dataset)."""

    config: UplinkConfig
    snr_db: np.ndarray
    n_pilot_symbols: np.ndarray
    nmse_vs_snr_db: dict
    nmse_vs_pilots_db: dict
    localisation_rmse_m: dict
    missed_scatterers: dict
    false_scatterers: dict
    ber_vs_snr: dict
    nmse_vs_iteration_db: dict
    cpu_time_vs_iteration_s: dict
    example: UplinkDataset


# ---------------------------------------------------------------------------------------------
# generation
# ---------------------------------------------------------------------------------------------

def _draw_scene(config: UplinkConfig, rng) -> tuple[UplinkGeometry, np.ndarray]:
    geo = draw_uplink_geometry(bs_array=config.bs_array, n_users=config.n_users, n_scatterers=config.n_scatterers,
                               scatterer_region_m=config.scatterer_region_m, user_region_m=config.user_region_m,
                               visibility_probability=config.visibility_probability,
                               los_probability=config.los_probability,
                               position_error_std_m=config.position_error_std_m,
                               max_time_offset_s=config.max_time_offset_s, rcs_range_m2=config.rcs_range_m2,
                               rng=rng)
    return geo, uplink_channel(geo, config.numerology)


def _draw_frame(config: UplinkConfig, geo: UplinkGeometry, h: np.ndarray, snr_db: float, rng) -> UplinkDataset:
    k, m, n = h.shape
    t = config.n_symbols
    pm = config.pilot_mask
    n_data = int((~pm).sum())
    bits = rng.integers(0, 2, (k, n_data * config.bits_per_symbol), dtype=np.uint8)
    s = np.empty((k, n, t), complex)
    s[:, ~pm] = bits_to_symbols(bits, config.modulation, config.order)
    s[:, pm] = constellation("psk", 4)[rng.integers(0, 4, (k, int(pm.sum())))]
    sig = np.einsum("kmn,knt->mnt", h, s)
    p = float(np.mean(np.abs(sig) ** 2))
    if not p > 0:
        raise ValueError("the drawn channels carry no power (no LoS and no visible scatterer); "
                         "raise `los_probability` or `visibility_probability`.")
    s2 = p / 10 ** (snr_db / 10)
    w = np.sqrt(s2 / 2) * (rng.standard_normal(sig.shape) + 1j * rng.standard_normal(sig.shape))
    return UplinkDataset(config, geo, h, s, pm, bits, sig + w, float(s2), float(snr_db))


def generate(config: UplinkConfig, *, rng=None, snr_db: float | None = None) -> UplinkDataset:
    """Draw a scene and one received frame (host arrays; ``snr_db`` overrides ``config.snr_db``).

    The scene comes from the first child of ``rng`` and the symbols and noise from the second, so
    the same seed gives the same scene at every SNR.
    """
    if not isinstance(config, UplinkConfig):
        raise TypeError(f"`config` must be an UplinkConfig; got {type(config).__name__}.")
    rng = check_rng(rng)
    scene_rng, frame_rng = rng.spawn(2)
    geo, h = _draw_scene(config, scene_rng)
    snr = config.snr_db if snr_db is None else check_float(snr_db, "snr_db", low=-50.0, high=80.0)
    return _draw_frame(config, geo, h, snr, frame_rng)


# ---------------------------------------------------------------------------------------------
# baselines and metrics
# ---------------------------------------------------------------------------------------------

def _lmmse_detect(h_est, y, pm, noise_var, config):
    """Per-subcarrier LMMSE equaliser + hard decision on the data REs -> labels (K, n_data)."""
    k = h_est.shape[0]
    hn = np.transpose(h_est, (2, 1, 0))                                       # (N, M, K)
    g = np.conj(np.transpose(hn, (0, 2, 1))) @ hn + noise_var * np.eye(k)[None]
    w = np.linalg.solve(g, np.conj(np.transpose(hn, (0, 2, 1))))             # (N, K, M)
    xh = w @ np.transpose(y, (1, 0, 2))                                       # (N, K, T)
    dn, dt = np.nonzero(~pm)
    est = xh[dn, :, dt].T                                                     # (K, n_data)
    if not np.all(np.isfinite(est)):
        return None  # a diverged channel estimate: no decision, the BER is reported as NaN
    return hard_decision(est, config.modulation, config.order)


def _pilot_lmmse(ds: UplinkDataset):
    """Per-subcarrier linear LMMSE from the pilots (i.i.d. channel prior, true noise level)."""
    y, s, pm = ds.received, ds.symbols, ds.pilot_mask
    k = s.shape[0]
    m = y.shape[0]
    p = max((float(np.mean(np.abs(y) ** 2)) - ds.noise_variance) / k, 1e-300)
    out = np.zeros((k, m, y.shape[1]), complex)
    for n in range(y.shape[1]):
        tt = np.flatnonzero(pm[n])
        sn = s[:, n, tt]
        out[:, :, n] = (y[:, n, tt] @ np.conj(sn.T) @ np.linalg.inv(sn @ np.conj(sn.T) + ds.noise_variance / p
                                                                    * np.eye(k))).T
    return out


def _nmse(h_est, h):
    return float(np.sum(np.abs(h_est - h) ** 2) / np.sum(np.abs(h) ** 2))


def _ber(labels, ds: UplinkDataset):
    if labels is None or np.any(labels < 0):
        return float("nan")
    bits = symbols_to_bits(labels, ds.config.order)
    return float(np.mean(bits != ds.data_bits))


def _localisation(est, geo: UplinkGeometry, gate_m=5.0):
    truth = geo.scatterer_positions_m[geo.visibility.any(axis=0)]
    mt = match_estimates(np.asarray(est, float).reshape(-1, 3), truth, gate=gate_m, p=2)
    se = float(np.sum(mt.errors ** 2)) if mt.n_pairs else 0.0
    return se, int(mt.n_pairs), int(mt.n_missed), int(mt.n_false_alarms)


def _em_kwargs(method, config, ds, xp):
    kw = dict(pilots=asarray_like(ds.symbols, xp), pilot_mask=ds.pilot_mask,
              constellation=constellation(config.modulation, config.order), bs_array=config.bs_array,
              wavelength_m=config.wavelength_m, frequencies_hz=config.numerology.subcarrier_frequencies_hz,
              nominal_user_positions_m=ds.geometry.nominal_user_positions_m, region_m=config.scatterer_region_m,
              grid_spacing_m=config.grid_spacing_m, max_outer=config.max_outer,
              max_time_offset_s=max(1.5 * config.max_time_offset_s, 2e-9))    # the clock spec is known
    extra = {"proposed": {}, "full": {"subspace": False}, "iid": {"support_prior": "iid"},
             "no_mstep": {"learn": ()}, "random_init": {"init": "random", "rng": 0},
             "pilot_vbi": {"use_data": False}}[method]
    kw.update(extra)
    return kw


def _run_method(method, ds: UplinkDataset, xp, trace=False):
    """Run one method; returns metrics (and per-iteration NMSE / CPU time when ``trace``)."""
    import estimators as est

    config = ds.config
    h = ds.channels
    out = {}
    nm_trace, t_trace = [], []
    t0 = time.process_time()

    def cb(info):
        nm_trace.append(_nmse(to_numpy(info.estimate), h))
        t_trace.append(time.process_time() - t0)
        return False

    y = asarray_like(ds.received, xp)
    scat = None
    if method == "perfect_csi":
        labels = _lmmse_detect(h, ds.received, ds.pilot_mask, ds.noise_variance, config)
        h_est = h
    elif method == "pilot_lmmse":
        h_est = _pilot_lmmse(ds)
        labels = _lmmse_detect(h_est, ds.received, ds.pilot_mask, ds.noise_variance, config)
    elif method == "omp":
        grid = uniform_location_grid(config.scatterer_region_m, config.grid_spacing_m)
        d = location_dictionary(asarray_like(grid, xp, dtype=xp.float64),
                                user_positions_m=ds.geometry.nominal_user_positions_m,
                                time_offsets_s=np.zeros(config.n_users), bs_array=config.bs_array,
                                wavelength_m=config.wavelength_m,
                                frequencies_hz=config.numerology.subcarrier_frequencies_hz)
        r = est.location_omp(y, steering=d.steering, delay=d.delay, pilots=asarray_like(ds.symbols, xp),
                             pilot_mask=ds.pilot_mask, allowed=d.allowed, callback=cb if trace else None)
        h_est = to_numpy(r.channels)
        labels = _lmmse_detect(h_est, ds.received, ds.pilot_mask, max(r.noise_variance, 1e-300), config)
        out["n_iter"] = r.n_iter
    else:
        r = est.em_turbo_bisvbi(y, callback=cb if trace else None, **_em_kwargs(method, config, ds, xp))
        h_est = to_numpy(r.channels)
        labels = r.symbol_labels if method != "pilot_vbi" else _lmmse_detect(
            h_est, ds.received, ds.pilot_mask, r.noise_variance, config)
        scat = r.scatterer_positions_m
        out["n_iter"] = r.n_iter
    out["cpu_s"] = time.process_time() - t0
    out["nmse"] = _nmse(h_est, h)
    out["ber"] = _ber(labels, ds)
    if scat is not None:
        se, pairs, miss, false = _localisation(scat, ds.geometry)
        out.update(loc_se=se, loc_pairs=pairs, missed=miss, false=false)
    if trace:
        nm = np.asarray(nm_trace if nm_trace else [out["nmse"]])
        tt = np.asarray(t_trace if t_trace else [out["cpu_s"]])
        idx = np.minimum(np.arange(_TRACE), nm.size - 1)           # pad with the final value
        out["trace_nmse"] = nm[idx]
        out["trace_time"] = tt[idx]
    return out


def trial(point: dict, rngs, *, config: UplinkConfig, methods: tuple, backend: str = "numpy") -> dict:
    """One (point, trial) of the sweep: a scene from ``rngs.realisation``, a frame from ``rngs.noise``."""
    cfg = replace(config, n_pilot_symbols=int(point["n_pilot_symbols"]))
    geo, h = _draw_scene(cfg, rngs.realisation)
    ds = _draw_frame(cfg, geo, h, float(point["snr_db"]), rngs.noise)
    xp = namespace_for_backend(backend)
    rec = {}
    if point["study"] == "convergence":
        for m in methods:
            r = _run_method(m, ds, xp, trace=True)
            for i in range(_TRACE):
                rec[f"{m}_nmse_it{i}"] = float(r["trace_nmse"][i])
                rec[f"{m}_cpu_it{i}"] = float(r["trace_time"][i])
            rec[f"{m}_cpu_s"] = float(r["cpu_s"])
        return rec
    for m in methods:
        r = _run_method(m, ds, xp)
        rec[f"{m}_nmse"] = r["nmse"]
        rec[f"{m}_ber"] = r["ber"]
        rec[f"{m}_cpu_s"] = r["cpu_s"]
        if m in _SENSING:
            rec[f"{m}_loc_se"] = r["loc_se"]
            rec[f"{m}_loc_pairs"] = r["loc_pairs"]
            rec[f"{m}_missed"] = r["missed"]
            rec[f"{m}_false"] = r["false"]
    return rec


# ---------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------

def add_arguments(parser) -> None:
    parser.add_argument("--methods", type=str, default=None,
                        help=f"comma-separated subset of {', '.join(METHODS)} (default: all, with 'full' "
                             "only in the convergence/CPU-time study)")
    parser.add_argument("--pilots", type=str, default=None, help="pilot-symbol counts to sweep, e.g. '1,2,3,4'")
    parser.add_argument("--n-users", type=int, default=None, help="number of users K")
    parser.add_argument("--n-scatterers", type=int, default=None, help="number of scatterers L")
    parser.add_argument("--array", type=str, default=None, help="UPA rows x cols, e.g. '8x8'")
    parser.add_argument("--max-outer", type=int, default=None, help="EM iterations")


def _config(args) -> UplinkConfig:
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
            raise ValueError(f"`--array` must look like '8x8'; got {args.array!r}.") from exc
        kw.update(array_rows=r, array_cols=c)
    return replace(base, **kw)


def run(args) -> int:
    from sensing.plotting import ieee_figure, plot_rmse, save_figure, write_csv

    config = _config(args)
    if args.methods is None:
        methods = tuple(m for m in METHODS if m != "full")
    else:
        methods = tuple(s.strip() for s in args.methods.split(",") if s.strip())
        bad = [m for m in methods if m not in METHODS]
        if bad or not methods:
            raise ValueError(f"`--methods` must name some of {', '.join(METHODS)}; got {args.methods!r}.")
    # the full-inverse baseline is costly: by default it runs in the convergence/CPU-time study only
    conv_methods = tuple(m for m in _CONVERGENCE if m in methods or (m == "full" and args.methods is None))
    snrs = args.snr_db or ([0.0, 20.0] if args.quick else [-5.0, 0.0, 5.0, 10.0, 15.0, 20.0])
    if args.pilots:
        try:
            pilots = [int(v) for v in args.pilots.split(",") if v.strip()]
        except ValueError as exc:
            raise ValueError(f"`--pilots` must be a comma-separated list of integers; got {args.pilots!r}.") from exc
    else:
        pilots = [1, 2] if args.quick else [1, 2, 3, 4]
    if not pilots or min(pilots) < 1 or max(pilots) >= config.n_symbols:
        raise ValueError(f"`--pilots` must lie in [1, {config.n_symbols - 1}] (some data symbols must remain); "
                         f"got {pilots}.")
    n_trials = args.trials or (1 if args.quick else 20)
    if args.backend == "cupy":
        namespace_for_backend("cupy")
    out = Path(args.out) if args.out is not None else Path("runs") / "uplink-isac"
    out.mkdir(parents=True, exist_ok=True)
    executor = "dask" if args.scheduler else ("processes" if args.workers > 1 else "serial")
    sched = None if args.scheduler in (None, "local") else args.scheduler
    pts = [{"study": "snr", "snr_db": float(s), "n_pilot_symbols": config.n_pilot_symbols} for s in snrs]
    pts += [{"study": "pilots", "snr_db": config.snr_db, "n_pilot_symbols": int(p)} for p in pilots]
    pts += [{"study": "convergence", "snr_db": config.snr_db, "n_pilot_symbols": config.n_pilot_symbols}]
    print(f"uplink-isac: {config.array_rows}x{config.array_cols} UPA, K={config.n_users}, L={config.n_scatterers}, "
          f"N={config.n_subcarriers}, T={config.n_symbols}; {len(pts)} points x {n_trials} trials; "
          f"methods {', '.join(methods)}")
    fp = json.dumps({"scenario": "uplink-isac", "config": asdict(config), "methods": methods}, sort_keys=True,
                    default=str)
    task = partial(_dispatch, config=config, methods=methods, conv_methods=conv_methods, backend=args.backend)
    res = run_sweep(task, pts, n_trials=n_trials, seed=args.seed, results_path=out / "results.jsonl",
                    resume=args.resume, executor=executor, workers=args.workers, scheduler=sched,
                    progress=not args.no_progress, desc="uplink-isac", fingerprint=fp)

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
        if m in _SENSING:
            pairs = agg(f"{m}_loc_pairs", i_snr, "sum")
            loc[METHODS[m]] = np.sqrt(agg(f"{m}_loc_se", i_snr, "sum") / np.maximum(pairs, 1))
            loc[METHODS[m]][pairs == 0] = np.nan
            miss[METHODS[m]] = agg(f"{m}_missed", i_snr)
            false[METHODS[m]] = agg(f"{m}_false", i_snr)
    it_nmse, it_cpu = {}, {}
    for m in conv_methods:
        recs = [r for r in res.records if r["point_index"] == int(i_conv[0])]
        it_nmse[METHODS[m]] = np.array([10 * np.log10(np.nanmean([r[f"{m}_nmse_it{i}"] for r in recs]))
                                        for i in range(_TRACE)])
        it_cpu[METHODS[m]] = np.array([np.nanmean([r[f"{m}_cpu_it{i}"] for r in recs]) for i in range(_TRACE)])

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
        if m in _SENSING:
            cols.update({f"loc_rmse_m_{m}": loc[METHODS[m]], f"missed_{m}": miss[METHODS[m]],
                         f"false_{m}": false[METHODS[m]]})
    write_csv(out / "localisation.csv", cols)
    cols = {"iteration": np.arange(_TRACE, dtype=float)}
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
    plot_rmse(np.arange(_TRACE, dtype=float), it_nmse, ax=axes[0], xlabel="iteration", ylabel="channel NMSE [dB]",
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
        if m in _SENSING:
            keys += [f"{m}_loc_se", f"{m}_loc_pairs", f"{m}_missed", f"{m}_false"]
    for m in conv_methods:
        keys += [f"{m}_cpu_s"] + [f"{m}_nmse_it{i}" for i in range(_TRACE)] + [f"{m}_cpu_it{i}" for i in range(_TRACE)]
    return keys


def _dispatch(point: dict, rngs, *, config, methods, conv_methods, backend):
    """Sweep task: the convergence point runs ``conv_methods`` with traces, the others ``methods``.

    Every record carries every key (NaN where a study does not apply), as the sweep's
    aggregation needs whole columns.
    """
    rec = dict.fromkeys(_all_keys(methods, conv_methods), float("nan"))
    if point["study"] == "convergence":
        # the full-inverse baseline costs minutes per trial at the default sizes: a few trials
        # suffice for its convergence curve and CPU time
        ms = tuple(m for m in conv_methods if m != "full" or rngs.trial < _FULL_TRIALS)
        rec.update(trial(point, rngs, config=config, methods=ms, backend=backend))
    else:
        rec.update(trial(point, rngs, config=config, methods=methods, backend=backend))
    return rec


if __name__ == "__main__":  # pragma: no cover
    from ._cli import main

    raise SystemExit(main(["run", "uplink-isac", *__import__("sys").argv[1:]]))

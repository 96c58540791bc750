r"""Data-aided OFDM ISAC: targets seen by a BS array through known OFDM data.

Data flow (visible in :func:`generate`): frozen :class:`IsacConfig` → target parameters
(:class:`IsacTruth`) → :class:`channels.Paths` → :func:`channels.cfr_from_paths` → known symbols
through the channel plus noise at the stated SNR (:func:`sensing.measure`) → per-RE LS channel
estimate → :class:`IsacDataset` carrying its ground truth.

Two propagation models:

* ``"monostatic"``: two-way echoes at a co-located BS; delay :math:`\tau = 2R/c`, Doppler
  :math:`f_D = 2vf_c/c`, ``distances_m`` is the **range** :math:`R`; gains from the radar
  equation (``path_loss="radar"``).
* ``"one-way"``: a user's known data reach the BS array via the objects (uplink/bistatic, the
  PLAIN paper's example); delay :math:`\tau = d/c`, Doppler :math:`f_D = vf_c/c`,
  ``distances_m`` is the **path length** :math:`d = c\tau`.

Velocities are radial and positive when the path shortens (approaching), so positive velocity
means positive Doppler. Angles are azimuths in the package convention (ULA along :math:`y`,
broadside 0); PLAIN's angle from the array axis is :math:`\theta = 90^\circ - \phi`.

PLAIN in the default configuration: velocities are drawn uniformly in :math:`\pm`
``max_speed_mps`` (not stratified like angle and distance), so about half the realisations hold
two targets within half a Doppler cell (9.4 m/s). PLAIN's decoupled time mode must resolve them
by Doppler alone; as published (arXiv:2503.21242) its velocity RMSE therefore stalls at 7–20×
the CRB at 10–20 dB (0.10 m/s against 0.0125 m/s at 20 dB, 20 trials; non-monotone below) while
angle and distance follow the bound, and noise-free it is exact (not a bias of the Doppler map).
The ``isac-ofdm`` table's PLAIN row therefore runs the package's per-object refinement
(``estimators.plain(..., refine=True)``, an extension, not in the paper), which brings it to
about 1.1× the CRB; the ``plain`` program reproduces the paper without it.

This module is the scenario itself and imports nothing else from :mod:`scenarios`; the
``isac-ofdm`` terminal program is :mod:`scenarios._isac_sweep`, its estimators
:mod:`scenarios._isac_adapters`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from channels import Paths, cfr_from_paths, monostatic_paths, uma_los_path_loss_db
from sensing import (
    SPEED_OF_LIGHT,
    Numerology,
    asarray_like,
    check_choice,
    check_float,
    check_int,
    check_rng,
    constellation,
    ls_channel_estimate,
    measure,
    namespace_for_backend,
    save_dataset,
    trial_rngs,
    ula,
)

DESCRIPTION = "Data-aided OFDM ISAC (monostatic or one-way): RMSE vs SNR of angle, distance, velocity"

__all__ = ["IsacConfig", "IsacTruth", "IsacDataset", "generate", "plain_preset", "default_config",
           "PRESETS", "DESCRIPTION", "resolution_cells", "truth_matrix", "draw_trial", "save_example"]


@dataclass(frozen=True)
class IsacConfig:
    """Frozen configuration of the OFDM ISAC scenario (SI units, radians).

    Target parameters given as tuples are used verbatim; ``None`` draws them at random (one per
    stratum of the allowed interval, so targets are separated in both angle and distance).
    """

    propagation: str = "monostatic"
    carrier_hz: float = 28e9
    subcarrier_spacing_hz: float = 120e3
    n_subcarriers: int = 64
    n_symbols: int = 64
    cp_fraction: float = 1.0 / 14.0
    fft_size: int | None = None
    n_antennas: int = 16
    spacing_wavelengths: float = 0.5
    n_targets: int = 3
    azimuths_rad: tuple[float, ...] | None = None
    distances_m: tuple[float, ...] | None = None
    velocities_mps: tuple[float, ...] | None = None
    azimuth_range_rad: tuple[float, float] = (-math.radians(60.0), math.radians(60.0))
    distance_range_m: tuple[float, float] = (20.0, 200.0)
    max_speed_mps: float = 30.0
    snap_delays_to_sample_grid: bool = False
    path_loss: str = "radar"
    path_loss_margin_db: float = 0.0
    modulation: str = "qpsk"
    snr_db: float = 10.0

    def __post_init__(self):
        check_choice(self.propagation, "propagation", ("monostatic", "one-way"))
        num = self.numerology()  # validates the OFDM parameters
        m = check_int(self.n_antennas, "n_antennas", low=2)
        check_float(self.spacing_wavelengths, "spacing_wavelengths", low=0.0, low_inclusive=False)
        n = check_int(self.n_targets, "n_targets", low=1, high=min(m - 1, 16),
                      why="a subspace method needs a noise subspace on the antenna mode")
        check_choice(self.path_loss, "path_loss", ("radar", "uma-los", "free-space", "none"))
        if self.path_loss == "radar" and self.propagation != "monostatic":
            raise ValueError("`path_loss` 'radar' (two-way radar equation) needs propagation='monostatic'; "
                             f"got propagation={self.propagation!r}. Use 'uma-los', 'free-space' or 'none'.")
        check_choice(self.modulation, "modulation", ("bpsk", "qpsk", "16qam", "64qam"))
        check_float(self.snr_db, "snr_db", low=-100.0, high=100.0)
        check_float(self.path_loss_margin_db, "path_loss_margin_db", low=-100.0, high=100.0)
        check_float(self.max_speed_mps, "max_speed_mps", low=0.0)
        lo, hi = (check_float(v, "distance_range_m", low=0.0, low_inclusive=False) for v in self.distance_range_m)
        if hi <= lo:
            raise ValueError(f"`distance_range_m` must be (low, high) with high > low; got {self.distance_range_m}.")
        a0, a1 = (check_float(v, "azimuth_range_rad", low=-math.pi / 2, high=math.pi / 2)
                  for v in self.azimuth_range_rad)
        if a1 <= a0:
            raise ValueError(f"`azimuth_range_rad` must be (low, high) with high > low; got {self.azimuth_range_rad}.")
        factor = self.path_factor
        d_max = SPEED_OF_LIGHT * num.max_delay_s / factor
        v_max = num.max_doppler_hz * SPEED_OF_LIGHT / (factor * self.carrier_hz)
        for name, vals, low, high in (("azimuths_rad", self.azimuths_rad, -math.pi / 2, math.pi / 2),
                                      ("distances_m", self.distances_m, 0.0, d_max),
                                      ("velocities_mps", self.velocities_mps, -v_max, v_max)):
            if vals is None:
                continue
            if len(vals) != n:
                raise ValueError(f"`{name}` must hold n_targets = {n} values; got {len(vals)}.")
            for v in vals:
                check_float(v, name, low=low, high=high, why="unambiguous interval of this numerology")
        if hi > d_max:
            raise ValueError(f"`distance_range_m` upper end must be <= the unambiguous {d_max:.1f} m "
                             f"of this numerology; got {hi:g}.")
        if self.max_speed_mps > v_max:
            raise ValueError(f"`max_speed_mps` must be <= the unambiguous {v_max:.2f} m/s; got {self.max_speed_mps:g}.")

    @property
    def path_factor(self) -> float:
        """Path length per unit of ``distances_m``: 2 (monostatic range, two-way) or 1 (one-way)."""
        return 2.0 if self.propagation == "monostatic" else 1.0

    def numerology(self) -> Numerology:
        return Numerology(self.carrier_hz, self.subcarrier_spacing_hz, self.n_subcarriers, self.n_symbols,
                          cp_fraction=self.cp_fraction, fft_size=self.fft_size)

    def array(self):
        return ula(self.n_antennas, self.spacing_wavelengths * SPEED_OF_LIGHT / self.carrier_hz)


def default_config() -> IsacConfig:
    """Small monostatic default: 16-antenna ULA at 28 GHz, 64 subcarriers at 120 kHz × 64 symbols, 3 random
    targets at 20–200 m (radar equation, so up to ~40 dB between them), :math:`|v|` ≤ 30 m/s.

    Examples
    --------
    >>> from scenarios import isac_ofdm
    >>> cfg = isac_ofdm.default_config()
    >>> cfg.propagation, cfg.n_antennas, cfg.n_subcarriers, cfg.n_symbols, cfg.n_targets
    ('monostatic', 16, 64, 64, 3)
    >>> cfg.numerology().wavelength_m == 299792458.0 / cfg.carrier_hz
    True
    """
    return IsacConfig()


def plain_preset() -> IsacConfig:
    """The PLAIN paper's released example (Tahir, Svoboda, Rupp, arXiv:2503.21242; reference code).

    26 GHz, 16-antenna λ/2 ULA, 180 subcarriers at 60 kHz (FFT 225), 560 symbols with
    T_O = 0.25 ms/14, BPSK data, 6 objects at 30…150° from the array axis (azimuth 60…-60°),
    path lengths linspace(50, 400) m snapped to the delay grid c/(225·60 kHz) = 22.2 m,
    velocities [0, 5, 0, 15, 0, 25] km/h, one-way model, UMa-LoS path loss with the reference
    code's 2.96 dB margin.

    Examples
    --------
    >>> import numpy as np
    >>> from scenarios import isac_ofdm
    >>> cfg = isac_ofdm.plain_preset()
    >>> cfg.propagation, cfg.n_antennas, cfg.n_subcarriers, cfg.n_symbols, cfg.fft_size
    ('one-way', 16, 180, 560, 225)
    >>> np.round(np.degrees(cfg.azimuths_rad))                 # the six objects [deg]
    array([ 60.,  36.,  12., -12., -36., -60.])
    """
    num = Numerology(26e9, 60e3, 180, 560, fft_size=225)
    ts = 1.0 / num.sample_rate_hz
    d = np.linspace(50.0, 400.0, 6)
    d = SPEED_OF_LIGHT * ts * np.round(d / (SPEED_OF_LIGHT * ts))        # reference code's delay grid
    theta = np.linspace(30.0, 150.0, 6)                                   # from the array axis [deg]
    v_kmh = np.linspace(0.0, 25.0, 6)
    v_kmh[::2] = 0.0                                                      # "50 % static objects"
    return IsacConfig(
        propagation="one-way", carrier_hz=26e9, subcarrier_spacing_hz=60e3, n_subcarriers=180,
        n_symbols=560, cp_fraction=1.0 / 14.0, fft_size=225, n_antennas=16, spacing_wavelengths=0.5,
        n_targets=6, azimuths_rad=tuple(float(x) for x in np.deg2rad(90.0 - theta)),
        distances_m=tuple(float(x) for x in d), velocities_mps=tuple(float(x) for x in v_kmh / 3.6),
        distance_range_m=(40.0, 410.0), max_speed_mps=25 / 3.6, snap_delays_to_sample_grid=True,
        path_loss="uma-los", path_loss_margin_db=2.96, modulation="bpsk", snr_db=0.0)


@dataclass(frozen=True)
class IsacTruth:
    """Ground truth of one realisation (host arrays, shape (n_targets,) each)."""

    azimuths_rad: np.ndarray = field(metadata={"dims": ("target",)})
    distances_m: np.ndarray = field(metadata={"dims": ("target",)})
    velocities_mps: np.ndarray = field(metadata={"dims": ("target",)})
    delays_s: np.ndarray = field(metadata={"dims": ("target",)})
    doppler_hz: np.ndarray = field(metadata={"dims": ("target",)})
    gains: np.ndarray = field(metadata={"dims": ("target",)})


@dataclass(frozen=True)
class IsacDataset:
    """One realisation: received grid, known symbols, LS estimate and the truth (host arrays).

    Attributes
    ----------
    received : ndarray, shape (n_antennas, n_subcarriers, n_symbols), complex128
    symbols : ndarray, shape (n_subcarriers, n_symbols), complex128
    channel_estimate : ndarray, shape (n_antennas, n_subcarriers, n_symbols), complex128
        Per-RE LS estimate :math:`Y/X`.
    noise_variance : float
        :math:`\\sigma^2` per RE and antenna.
    truth : IsacTruth
    paths : channels.Paths
    config : IsacConfig
    """

    received: np.ndarray = field(metadata={"dims": ("antenna", "subcarrier", "symbol")})
    symbols: np.ndarray = field(metadata={"dims": ("subcarrier", "symbol")})
    channel_estimate: np.ndarray = field(metadata={"dims": ("antenna", "subcarrier", "symbol")})
    noise_variance: float
    truth: IsacTruth
    paths: Paths
    config: IsacConfig


def _stratified(lo, hi, n, rng, frac=0.6):
    """One uniform draw per equal stratum (inner ``frac`` of each), randomly permuted."""
    w = (hi - lo) / n
    centre = lo + w * (np.arange(n) + 0.5)
    return rng.permutation(centre + rng.uniform(-0.5, 0.5, n) * frac * w)


def _targets(config: IsacConfig, rng: np.random.Generator):
    n = config.n_targets
    az = np.asarray(config.azimuths_rad, float) if config.azimuths_rad is not None else \
        _stratified(*config.azimuth_range_rad, n, rng)
    dist = np.asarray(config.distances_m, float) if config.distances_m is not None else \
        _stratified(*config.distance_range_m, n, rng)
    vel = np.asarray(config.velocities_mps, float) if config.velocities_mps is not None else \
        rng.uniform(-config.max_speed_mps, config.max_speed_mps, n)
    return az, dist, vel


def _symbols(config: IsacConfig, rng) -> np.ndarray:
    kind, order = {"bpsk": ("psk", 2), "qpsk": ("psk", 4), "16qam": ("qam", 16), "64qam": ("qam", 64)}[config.modulation]
    pts = constellation(kind, order)
    return pts[rng.integers(0, order, size=(config.n_subcarriers, config.n_symbols))]


def make_paths(config: IsacConfig, rng=None) -> tuple[Paths, IsacTruth]:
    """Draw (or take) the targets and turn them into propagation paths."""
    rng = check_rng(rng)
    num = config.numerology()
    az, dist, vel = _targets(config, rng)
    fc = config.carrier_hz
    factor = config.path_factor
    if config.snap_delays_to_sample_grid:
        step = SPEED_OF_LIGHT / (num.sample_rate_hz * factor)
        dist = step * np.round(dist / step)
    phase = np.exp(2j * np.pi * rng.uniform(0.0, 1.0, config.n_targets))  # phi ~ U[0, 2 pi)
    if config.propagation == "monostatic" and config.path_loss == "radar":
        pos = dist[:, None] * np.stack([np.cos(az), np.sin(az), np.zeros_like(az)], axis=-1)
        velv = -vel[:, None] * pos / dist[:, None]                          # approaching positive
        p = monostatic_paths(pos, carrier_hz=fc, target_velocities_mps=velv, carrier_phase=False)
        gains = p.gains * phase
    else:
        if config.path_loss == "uma-los":
            d_pl = dist * factor
            amp = 10.0 ** (-uma_los_path_loss_db(d_pl, fc, margin_db=config.path_loss_margin_db) / 20.0)
        elif config.path_loss == "free-space":
            amp = SPEED_OF_LIGHT / fc / (4 * np.pi * dist * factor)
        else:
            amp = np.ones(config.n_targets)
        gains = amp * phase
    tau = factor * dist / SPEED_OF_LIGHT
    fd = factor * vel * fc / SPEED_OF_LIGHT
    paths = Paths.from_arrays(gains.astype(np.complex128), tau, fd, az)
    truth = IsacTruth(az, dist, vel, tau, fd, paths.gains.copy())
    return paths, truth


def generate(config: IsacConfig, *, rng=None, noise_rng=None) -> IsacDataset:
    """Draw one realisation of the scenario.

    Parameters
    ----------
    config : IsacConfig
    rng : None, int or numpy.random.Generator
        Draws the targets (where not fixed), their phases and the data symbols.
    noise_rng : None, int or numpy.random.Generator, optional
        Draws the noise; by default the noise continues the ``rng`` stream. A sweep passes a
        separate stream so one realisation can be reused at every SNR.

    Returns
    -------
    IsacDataset
        Host (NumPy) arrays; the same seed gives the same dataset on every machine and backend.

    Examples
    --------
    >>> from dataclasses import replace
    >>> import numpy as np
    >>> from scenarios import isac_ofdm
    >>> cfg = replace(isac_ofdm.default_config(), n_antennas=8, n_subcarriers=32, n_symbols=16, snr_db=20.0)
    >>> ds = isac_ofdm.generate(cfg, rng=0)
    >>> ds.received.shape, ds.channel_estimate.shape     # (antennas, subcarriers, symbols)
    ((8, 32, 16), (8, 32, 16))
    >>> ds.truth.distances_m.shape, bool(np.all((ds.truth.distances_m >= 20) & (ds.truth.distances_m <= 200)))
    ((3,), True)
    >>> bool(np.array_equal(isac_ofdm.generate(cfg, rng=0).received, ds.received))   # same seed, same data
    True
    """
    if not isinstance(config, IsacConfig):
        raise TypeError(f"`config` must be an IsacConfig; got {type(config).__name__}.")
    rng = check_rng(rng)
    noise_rng = rng if noise_rng is None else check_rng(noise_rng)
    num = config.numerology()
    paths, truth = make_paths(config, rng)
    x = _symbols(config, rng)
    h = cfr_from_paths(paths, config.array(), num)                         # (R, K, T)
    m = measure(h, x, snr_db=config.snr_db, rng=noise_rng)
    return IsacDataset(received=m.received, symbols=x, channel_estimate=ls_channel_estimate(m.received, x),
                       noise_variance=float(m.noise_variance), truth=truth, paths=paths, config=config)


PRESETS = {"default": default_config, "plain": plain_preset}
"""Named configurations of the ``isac-ofdm`` program's ``--preset``."""


# ---------------------------------------------------------------------------------------------
# what the sweeps over this scenario share (``isac-ofdm`` and ``plain``)
# ---------------------------------------------------------------------------------------------

def resolution_cells(config: IsacConfig) -> np.ndarray:
    """Rayleigh cells (azimuth at broadside [rad], distance [m], velocity [m/s]) used to scale
    errors; distance and velocity in the units of ``distances_m`` / ``velocities_mps`` (range
    for monostatic, path length for one-way).

    Examples
    --------
    >>> import numpy as np
    >>> from scenarios import isac_ofdm
    >>> np.round(isac_ofdm.resolution_cells(isac_ofdm.default_config()), 3)
    array([ 0.125, 19.518,  9.369])
    """
    num = config.numerology()
    f = config.path_factor
    d_over_lam = config.spacing_wavelengths
    return np.array([2.0 / (config.n_antennas * 2 * d_over_lam),
                     SPEED_OF_LIGHT / (f * num.bandwidth_hz),
                     SPEED_OF_LIGHT / (f * config.carrier_hz * num.observation_time_s)])


def truth_matrix(ds: IsacDataset) -> np.ndarray:
    """The targets as rows (azimuth [rad], distance [m], velocity [m/s]), shape (n_targets, 3).

    Examples
    --------
    >>> from dataclasses import replace
    >>> from scenarios import isac_ofdm
    >>> cfg = replace(isac_ofdm.default_config(), n_antennas=8, n_subcarriers=32, n_symbols=16)
    >>> isac_ofdm.truth_matrix(isac_ofdm.generate(cfg, rng=0)).shape   # (targets, 3)
    (3, 3)
    """
    return np.stack([ds.truth.azimuths_rad, ds.truth.distances_m, ds.truth.velocities_mps], axis=1)


def draw_trial(config: IsacConfig, snr_db: float, rngs, backend: str = "numpy"):
    """One sweep trial: the realisation of ``rngs`` (a :func:`sensing.trial_rngs` pair: targets and
    symbols from ``realisation``, noise from ``noise``) at ``snr_db``.

    Returns ``(config at that SNR, dataset, channel estimate on the backend's array library)``.

    Examples
    --------
    >>> from dataclasses import replace
    >>> from scenarios import isac_ofdm
    >>> from sensing import trial_rngs
    >>> cfg = replace(isac_ofdm.default_config(), n_antennas=8, n_subcarriers=32, n_symbols=16)
    >>> cfg_at_snr, ds, h = isac_ofdm.draw_trial(cfg, 10.0, trial_rngs(1, 0, 0))
    >>> cfg_at_snr.snr_db, h.shape
    (10.0, (8, 32, 16))
    """
    cfg = replace(config, snr_db=float(snr_db))
    ds = generate(cfg, rng=rngs.realisation, noise_rng=rngs.noise)
    return cfg, ds, asarray_like(ds.channel_estimate, namespace_for_backend(backend))


def save_example(path, config: IsacConfig, snrs, seed: int) -> IsacDataset:
    """Write trial 0 at the highest SNR of a sweep to HDF5 (``path``) and return it.

    Examples
    --------
    >>> import os, tempfile
    >>> from dataclasses import replace
    >>> from scenarios import isac_ofdm
    >>> from sensing import dataset_info
    >>> cfg = replace(isac_ofdm.default_config(), n_antennas=8, n_subcarriers=32, n_symbols=16)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "isac.h5")
    ...     ds = isac_ofdm.save_example(path, cfg, [0.0, 10.0], seed=1)
    ...     os.path.exists(path)
    True
    """
    hi = int(np.argmax(snrs))
    r0 = trial_rngs(seed, 0, hi)
    ds = generate(replace(config, snr_db=snrs[hi]), rng=r0.realisation, noise_rng=r0.noise)
    save_dataset(path, ds, seed=seed, attrs={"snr_db": snrs[hi], "trial": 0})
    return ds

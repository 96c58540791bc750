"""The estimators of the ``isac-ofdm`` program, and its bound.

Each adapter maps ``(channel estimate, config) -> (azimuth [rad], distance [m], velocity [m/s])``
with the scenario's distance convention (range for monostatic, path length for one-way).
:data:`ADAPTERS` is the table the sweep runs, in the order of its rows; each entry names the
public :mod:`estimators` functions it calls so that a missing one stops the run before it starts
(:func:`scenarios._kit.require_estimators`) instead of dropping the row.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

import estimators
from sensing import SPEED_OF_LIGHT

from .isac_ofdm import IsacConfig, IsacDataset

__all__ = ["Adapter", "ADAPTERS", "CRB_NEEDS", "crb_variances", "plain_deltas"]


class Adapter(NamedTuple):
    """One row of the ``isac-ofdm`` table: ``(label, function, needs)``."""

    label: str
    function: Callable
    needs: tuple[str, ...]


PLAIN_MAX_ATTENUATION_DB = 1.5
r"""Largest power loss :math:`-20\log_{10}|g_\Delta(\omega)|` that :func:`plain_deltas` accepts for a
target at the edge of the scenario's distance or speed interval (the released example's worst case
is 1.43 dB, at 400 m with :math:`\Delta_2 = 4`)."""


def _averaging_loss_db(omega: float, delta: int) -> float:
    r""":math:`-20\log_{10}|g_\Delta(\omega)|`, :math:`g_\Delta(\omega) = \frac1\Delta\sum_{l<\Delta}e^{j\omega l}`."""
    g = abs(np.mean(np.exp(1j * omega * np.arange(delta))))
    return float("inf") if g == 0 else -20.0 * float(np.log10(g))


def plain_deltas(config: IsacConfig) -> tuple[int, int, int]:
    r"""PLAIN compression factors for ``config``.

    The released (1, 4, 14) for the paper's sizes (180 subcarriers, 560 symbols); otherwise, for
    subcarriers and symbols, the largest of 4, 2, 1 that divides the size, leaves at least 4
    samples, keeps the scenario's distance and speed intervals unambiguous **and** costs a target
    at the interval's edge at most :data:`PLAIN_MAX_ATTENUATION_DB` of power: block averaging of
    :math:`\Delta` samples scales a harmonic :math:`e^{j\omega n}` by
    :math:`|g_\Delta(\omega)| = |\sin(\Delta\omega/2)/(\Delta\sin(\omega/2))|`, with
    :math:`\omega = 2\pi\Delta f\tau_{\max}` (delay) or :math:`2\pi f_{D,\max}T_O` (Doppler).

    Unambiguity alone is not enough: in the default monostatic configuration (64 subcarriers at
    120 kHz, ranges up to 200 m) :math:`\Delta_2 = 4` is unambiguous up to 312 m but attenuates a
    200 m target by 6.6 dB (:math:`\Delta_2 = 2`: 1.1 dB), and these far targets are the weakest
    (radar equation); with (1, 4, 4) PLAIN's angle and range RMSEs were 1.8x the CRB at 20–30 dB,
    with (1, 2, 4) 1.1–1.25x (50 draws per point). The rule now gives (1, 2, 4) there.
    """
    if (config.n_subcarriers, config.n_symbols) == (180, 560):
        return (1, 4, 14)
    num = config.numerology()
    f = config.path_factor
    tau_max = f * config.distance_range_m[1] / SPEED_OF_LIGHT
    fd_max = f * config.max_speed_mps * config.carrier_hz / SPEED_OF_LIGHT
    w_delay = 2 * np.pi * num.subcarrier_spacing_hz * tau_max
    w_doppler = 2 * np.pi * fd_max * num.symbol_duration_s
    out = [1]
    for n, w, unamb in ((config.n_subcarriers, w_delay, lambda d: w_delay * d < 2 * np.pi),
                        (config.n_symbols, w_doppler, lambda d: w_doppler * d < np.pi)):
        out.append(next(d for d in (4, 2, 1) if d == 1 or (n % d == 0 and n // d >= 4 and unamb(d)
                                                           and _averaging_loss_db(w, d) <= PLAIN_MAX_ATTENUATION_DB)))
    return tuple(out)


def _fft(h, config: IsacConfig):
    est = estimators.ofdm_radar(h, geometry=config.array(), numerology=config.numerology(), n_targets=config.n_targets,
                                propagation=config.propagation)
    return est.azimuth_rad, est.distances_m, est.velocities_mps


def _esprit3d(h, config: IsacConfig):
    """3-D Unitary ESPRIT with multidimensional smoothing on the averaging-compressed tensor
    (the joint baseline of PLAIN, arXiv:2503.21242). Block averaging by :func:`plain_deltas` first keeps the
    Vandermonde structure while shrinking the tensor that the smoothed subspace is built from."""
    r = estimators.joint_esprit_estimator(h, geometry=config.array(), numerology=config.numerology(), compression="averaging",
                                          deltas=plain_deltas(config), n_objects=config.n_targets)
    f = config.path_factor
    return (r.azimuths_rad, r.delays_s * SPEED_OF_LIGHT / f, r.doppler_hz * SPEED_OF_LIGHT / (f * config.carrier_hz))


def _plain(h, config: IsacConfig, *, refine: bool = False):
    """PLAIN as published (``refine=False``: averaging by :func:`plain_deltas`, per-mode
    root-MUSIC, Tensor-OMP; the ``plain`` row of the table), or with the package's per-object
    refinement extension (the ``plain_refined`` row).

    Without refinement PLAIN's velocity RMSE in the default configuration stalls far above the
    CRB (0.10 m/s against 0.0125 m/s at 20 dB, non-monotone below): its decoupled time mode must
    resolve the targets by Doppler alone, and the default draws velocities uniformly in
    ±30 m/s against a 9.4 m/s Doppler cell, so about half the realisations hold two targets
    within half a cell; at 20 dB the weaker of such a pair (often 20–30 dB below the strongest
    target) is merged by the AIC (both get one velocity, errors of ~2 m/s) or pulled by its
    neighbour's harmonic. Noise-free, the same pipeline is exact (errors ~1e-5 m/s), so this is
    not a bias of the Doppler map. ``refine=True`` (:func:`estimators.plain`) re-estimates each
    object from its own component: velocity RMSE 0.015 m/s at 20 dB (CRB 0.014), 0.046 at 10 dB
    (CRB 0.044), 50 draws per point."""
    r = estimators.plain(h, geometry=config.array(), numerology=config.numerology(), compression="averaging",
                         deltas=plain_deltas(config), fusion="omp", n_objects=config.n_targets, refine=refine)
    f = config.path_factor
    return (r.azimuths_rad, r.delays_s * SPEED_OF_LIGHT / f, r.doppler_hz * SPEED_OF_LIGHT / (f * config.carrier_hz))


def _plain_refined(h, config: IsacConfig):
    return _plain(h, config, refine=True)


ADAPTERS: dict[str, Adapter] = {
    "fft": Adapter("FFT radar (periodogram + beamscan)", _fft, ("ofdm_radar",)),
    "esprit3d": Adapter("3-D unitary ESPRIT with multidimensional smoothing", _esprit3d,
                        ("joint_esprit_estimator",)),
    "plain": Adapter("PLAIN as published (averaging compression, per-mode root-MUSIC, Tensor-OMP)", _plain,
                     ("plain",)),
    "plain_refined": Adapter("PLAIN + per-object refinement (package extension, not in the paper)",
                             _plain_refined, ("plain",)),
}
"""Estimator name (``--estimators``) -> :class:`Adapter`; the default run uses all, in this order."""

CRB_NEEDS = ("ofdm_harmonic_map", "crb_harmonic")
"""What :func:`crb_variances` calls."""


def crb_variances(config: IsacConfig, ds: IsacDataset) -> np.ndarray:
    """Joint single-snapshot CRB of this realisation at its own noise level.

    All targets' azimuth, delay, Doppler and complex gains are unknown
    (:func:`estimators.crb_harmonic` on the antenna × subcarrier × symbol tensor, in the
    scenario's units via :func:`estimators.ofdm_harmonic_map`). The LS estimate's noise is
    white with variance :math:`\\sigma^2` for unit-modulus symbols (BPSK/QPSK); for QAM the bound
    is approximate. Returns the bound on each parameter's variance averaged over targets,
    shape (3,): [rad², m², (m/s)²] — what a mean-square error over targets compares with.
    """
    num = config.numerology()
    t = ds.truth
    mono = config.propagation == "monostatic"
    hmap = estimators.ofdm_harmonic_map(config.array(), num, azimuth_rad=t.azimuths_rad, delays_s=t.delays_s,
                                        doppler_hz=t.doppler_hz,
                                        delay_as="range_m" if mono else "path_length_m",
                                        doppler_as="radial_velocity_mps" if mono else "velocity_mps")
    b = estimators.crb_harmonic(hmap.frequencies, t.gains, shape=(config.n_antennas, config.n_subcarriers,
                                                                  config.n_symbols),
                                noise_variance=ds.noise_variance, scale=hmap.scale)
    return np.mean(np.asarray(b.std) ** 2, axis=0)

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


def plain_deltas(config: IsacConfig) -> tuple[int, int, int]:
    """PLAIN compression factors: the released (1, 4, 14) for the paper's sizes, otherwise the
    largest of 4, 2, 1 that divides each of subcarriers and symbols and keeps the scenario's
    distance and speed intervals unambiguous."""
    if (config.n_subcarriers, config.n_symbols) == (180, 560):
        return (1, 4, 14)
    num = config.numerology()
    f = config.path_factor
    out = [1]
    for n, limit in ((config.n_subcarriers, lambda d: SPEED_OF_LIGHT / (num.subcarrier_spacing_hz * d * f)
                      > config.distance_range_m[1]),
                     (config.n_symbols, lambda d: SPEED_OF_LIGHT / (2 * num.symbol_duration_s * d * f * config.carrier_hz)
                      > config.max_speed_mps)):
        out.append(next(d for d in (4, 2, 1) if n % d == 0 and n // d >= 4 and limit(d)))
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


def _plain(h, config: IsacConfig):
    r = estimators.plain(h, geometry=config.array(), numerology=config.numerology(), compression="averaging",
                         deltas=plain_deltas(config), fusion="omp", n_objects=config.n_targets)
    f = config.path_factor
    return (r.azimuths_rad, r.delays_s * SPEED_OF_LIGHT / f, r.doppler_hz * SPEED_OF_LIGHT / (f * config.carrier_hz))


ADAPTERS: dict[str, Adapter] = {
    "fft": Adapter("FFT radar (periodogram + beamscan)", _fft, ("ofdm_radar",)),
    "esprit3d": Adapter("3-D unitary ESPRIT with multidimensional smoothing", _esprit3d,
                        ("joint_esprit_estimator",)),
    "plain": Adapter("PLAIN (averaging compression, per-mode root-MUSIC, Tensor-OMP)", _plain, ("plain",)),
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

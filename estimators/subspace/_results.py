r"""Result dataclasses and parameter maps shared by the subspace toolbox.

Every estimator of :mod:`estimators.subspace` returns one of the frozen dataclasses below; their arrays
stay in the caller's array library (NumPy in, NumPy out; CuPy in, CuPy out) and
``result.to_numpy()`` copies them to the host.

Frequency convention
--------------------
A *harmonic* (spatial or temporal frequency) :math:`\mu \in [-\pi, \pi)` [rad/sample] has the
Vandermonde steering vector :math:`\mathbf a(\mu) = [1, e^{j\mu}, \dots, e^{j(M-1)\mu}]^T`, i.e.
the phase *grows* with the index. The physical parameters of the package map to it as

* ULA along :math:`y` (broadside = azimuth 0):
  :math:`\mu = 2\pi\frac{d}{\lambda}\sin\phi\cos\vartheta` (:func:`azimuth_from_frequency`);
* OFDM subcarriers :math:`f_k = k\Delta f`: the channel factor is :math:`e^{-j2\pi k\Delta f\tau}`,
  so :math:`\mu = -2\pi\Delta f\,\tau` (:func:`delay_from_frequency`, note the minus sign);
* OFDM symbols :math:`t\,T_O`: the factor is :math:`e^{+j2\pi f_D tT_O}`, so
  :math:`\mu = 2\pi T_O f_D` (:func:`doppler_from_frequency`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sensing import Array, HostCopy, check_float, get_xp

__all__ = [
    "SubspaceWarning",
    "LineEstimate",
    "MultiEstimate",
    "SparseEstimate",
    "ModelOrder",
    "azimuth_from_frequency",
    "delay_from_frequency",
    "doppler_from_frequency",
    "frequency_from_delay",
    "frequency_from_doppler",
]


class SubspaceWarning(UserWarning):
    """The data do not support the requested signal subspace (coherent or too-weak sources)."""


@dataclass(frozen=True)
class LineEstimate(HostCopy):
    """One parameter per source (1-D direction finding or one harmonic dimension).

    Attributes
    ----------
    estimates : array, shape (..., n_sources), real
        The estimates, ascending along the last axis, in the unit named by ``parameter``.
    parameter : str
        ``"azimuth_rad"`` (azimuth :math:`\\phi` [rad], package convention) or
        ``"frequency_rad"`` (normalised frequency :math:`\\mu` [rad/sample]).
    n_sources : int
        Number of sources :math:`K` estimated (given, or chosen by AIC/MDL).
    frequencies : array, shape (..., n_sources), real, optional
        The normalised frequencies :math:`\\mu` [rad/sample] behind ``estimates`` (same order),
        for uniform (Vandermonde) data; ``None`` for arbitrary arrays.
    spectrum : array, shape (..., n_grid), real, optional
        Pseudo-spectrum on ``grid`` (grid methods only), linear scale.
    grid : array, shape (n_grid,), real, optional
        The search grid, in the unit of ``parameter``.
    eigenvalues : array, shape (..., n), real, optional
        Eigenvalues of the (smoothed) covariance, descending; for the iterative subspace solver
        only the leading ones it computed.
    resolved : array, shape (...,), bool, optional
        Grid searches (MUSIC): whether the spectrum had at least ``n_sources`` distinct local
        maxima; where False, some estimates are the largest non-peak grid points (a warning says
        so) and may repeat a source.
    peak_indices : array, shape (..., n_sources), int, optional
        Grid searches (MUSIC): the grid index of the peak behind each estimate (same order as
        ``estimates``), before refinement.
    """

    estimates: Array
    parameter: str
    n_sources: int
    frequencies: Array | None = None
    spectrum: Array | None = None
    grid: Array | None = None
    eigenvalues: Array | None = None
    resolved: Array | None = None
    peak_indices: Array | None = None


@dataclass(frozen=True)
class MultiEstimate(HostCopy):
    """Several parameters per source (2-D/N-D MUSIC, R-D ESPRIT).

    Attributes
    ----------
    estimates : array, shape (..., n_sources, n_params), real
        One row per source, sorted by the first parameter (ascending).
    parameters : tuple of str
        Name and unit of each column, e.g. ``("azimuth_rad", "elevation_rad")`` or
        ``("frequency_rad", "frequency_rad", "frequency_rad")``.
    n_sources : int
        Number of sources :math:`K`.
    spectrum : array, shape (..., n_grid_1, ..., n_grid_R), real, optional
        Pseudo-spectrum on the grid (grid methods only).
    grids : tuple of arrays, optional
        The per-dimension search grids.
    eigenvalues : array, shape (..., n), real, optional
        Leading eigenvalues of the (smoothed) covariance, descending.
    resolved : array, shape (...,), bool, optional
        Grid searches (MUSIC): whether the spectrum had at least ``n_sources`` distinct local
        maxima.
    peak_indices : array, shape (..., n_sources, n_params), int, optional
        Grid searches (MUSIC): per source (same row order as ``estimates``) the index into each
        of ``grids`` of its grid peak, before refinement.
    """

    estimates: Array
    parameters: tuple
    n_sources: int
    spectrum: Array | None = None
    grids: tuple | None = None
    eigenvalues: Array | None = None
    resolved: Array | None = None
    peak_indices: Array | None = None


@dataclass(frozen=True)
class SparseEstimate(HostCopy):
    """Sparse recovery on a dictionary (OMP).

    Attributes
    ----------
    estimates : array, shape (..., n_sources) or (..., n_sources, n_params), real
        Refined parameters of the selected atoms, sorted by the first parameter.
    parameters : tuple of str
        Name and unit of each parameter.
    n_sources : int
        Number of atoms :math:`K`.
    gains : array, shape (..., n_sources, n_snapshots), complex
        Least-squares amplitudes of the atoms (same order as ``estimates``).
    residual_norm : array, shape (...,), real
        Frobenius norm of the final residual.
    """

    estimates: Array
    parameters: tuple
    n_sources: int
    gains: Array
    residual_norm: Array


@dataclass(frozen=True)
class ModelOrder(HostCopy):
    """Information-theoretic model-order selection (Wax-Kailath AIC/MDL).

    Attributes
    ----------
    n_sources : array, shape (...,), int64
        :math:`\\hat K = \\arg\\min_k` of the criterion.
    criterion : array, shape (..., n), real
        The criterion for :math:`k = 0, \\dots, n-1`.
    eigenvalues : array, shape (..., n), real
        Covariance eigenvalues, descending.
    method : str
        ``"aic"`` or ``"mdl"``.
    """

    n_sources: Array
    criterion: Array
    eigenvalues: Array
    method: str


# --- frequency <-> physical parameter maps ------------------------------------------------------


def azimuth_from_frequency(frequencies: Array, *, spacing_m: float, wavelength_m: float) -> Array:
    r"""Azimuth of a ULA along :math:`y` (elevation 0) from its spatial frequency.

    :math:`\phi = \arcsin\big(\mu\lambda/(2\pi d)\big)`. Values outside the visible region
    (:math:`|\mu\lambda/(2\pi d)| > 1`, possible for :math:`d < \lambda/2` with noise) are
    clipped to :math:`\pm\pi/2`.

    Parameters
    ----------
    frequencies : array, real
        Spatial frequencies :math:`\mu` [rad/element].
    spacing_m, wavelength_m : float
        Element spacing :math:`d` and wavelength :math:`\lambda` [m].

    Returns
    -------
    array, same shape, real
        Azimuth [rad] in :math:`[-\pi/2, \pi/2]`.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import azimuth_from_frequency
    >>> mu = np.pi * np.sin(np.array([-0.4, 0.3]))      # half-wavelength ULA
    >>> np.round(azimuth_from_frequency(mu, spacing_m=0.5, wavelength_m=1.0), 3)
    array([-0.4,  0.3])
    """
    xp = get_xp(frequencies)
    d = check_float(spacing_m, "spacing_m", low=0.0, low_inclusive=False)
    lam = check_float(wavelength_m, "wavelength_m", low=0.0, low_inclusive=False)
    s = frequencies * (lam / (2 * math.pi * d))
    return xp.asin(xp.clip(s, -1.0, 1.0))


def delay_from_frequency(frequencies: Array, *, subcarrier_spacing_hz: float) -> Array:
    r"""Delay from the subcarrier-dimension frequency :math:`\mu = -2\pi\Delta f\tau`.

    The result is wrapped into the unambiguous interval :math:`[0, 1/\Delta f)` [s].

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import delay_from_frequency, frequency_from_delay
    >>> mu = frequency_from_delay(np.array([100e-9, 250e-9]), subcarrier_spacing_hz=120e3)
    >>> np.round(delay_from_frequency(mu, subcarrier_spacing_hz=120e3) * 1e9, 3)
    array([100., 250.])
    """
    xp = get_xp(frequencies)
    df = check_float(subcarrier_spacing_hz, "subcarrier_spacing_hz", low=0.0, low_inclusive=False)
    tau = -frequencies / (2 * math.pi * df)
    period = 1.0 / df
    return tau - xp.floor(tau / period) * period


def frequency_from_delay(delays_s: Array, *, subcarrier_spacing_hz: float) -> Array:
    r""":math:`\mu = -2\pi\Delta f\tau` wrapped into :math:`[-\pi, \pi)` [rad/subcarrier].

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import frequency_from_delay
    >>> np.round(frequency_from_delay(np.array([100e-9, 1e-6]), subcarrier_spacing_hz=120e3), 4)
    array([-0.0754, -0.754 ])
    """
    df = check_float(subcarrier_spacing_hz, "subcarrier_spacing_hz", low=0.0, low_inclusive=False)
    return _wrap(-2 * math.pi * df * delays_s)


def doppler_from_frequency(frequencies: Array, *, symbol_duration_s: float) -> Array:
    r"""Doppler shift :math:`f_D = \mu/(2\pi T_O)` [Hz] from the symbol-dimension frequency.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import doppler_from_frequency, frequency_from_doppler
    >>> t_sym = 8.92e-6                                  # OFDM symbol duration [s]
    >>> mu = frequency_from_doppler(np.array([-2000.0, 500.0]), symbol_duration_s=t_sym)
    >>> np.round(doppler_from_frequency(mu, symbol_duration_s=t_sym), 3)
    array([-2000.,   500.])
    """
    t = check_float(symbol_duration_s, "symbol_duration_s", low=0.0, low_inclusive=False)
    return frequencies / (2 * math.pi * t)


def frequency_from_doppler(doppler_hz: Array, *, symbol_duration_s: float) -> Array:
    r""":math:`\mu = 2\pi T_O f_D` wrapped into :math:`[-\pi, \pi)` [rad/symbol].

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import frequency_from_doppler
    >>> np.round(frequency_from_doppler(np.array([1000.0]), symbol_duration_s=1e-4), 4)
    array([0.6283])
    """
    t = check_float(symbol_duration_s, "symbol_duration_s", low=0.0, low_inclusive=False)
    return _wrap(2 * math.pi * t * doppler_hz)


def _wrap(mu):
    xp = get_xp(mu)
    return mu - 2 * math.pi * xp.floor((mu + math.pi) / (2 * math.pi))

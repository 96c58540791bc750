r"""Classic beamforming spectra for comparison figures: Bartlett (beamscan) and Capon (MVDR).

.. math::
    P_{\mathrm B}(\theta) = \frac{\mathbf a^H\hat{\mathbf R}\mathbf a}{\|\mathbf a\|^4},\qquad
    P_{\mathrm C}(\theta) = \frac{1}{\mathbf a^H\hat{\mathbf R}^{-1}\mathbf a}.

Both use the same grid machinery as :func:`estimators.music` (Horner-evaluated trigonometric
polynomial for a ULA / Vandermonde dimension, a fused steering kernel for arbitrary arrays, no
:math:`M\times G` steering matrix) and the same peak search and Newton refinement.
"""

from __future__ import annotations

import math

from sensing import Array, ArrayGeometry, check_bool, check_float, check_int, get_xp

from ._covariance import ct, prepare_data
from ._grid_search import (
    LineGrid,
    check_grid,
    optional_geometry,
    shape_back,
    ula_spacing,
)
from ._results import LineEstimate

__all__ = ["beamscan", "capon"]


def _spectrum_iv(xp, data, n_sources, geometry, wavelength_m, grid, elevation_rad, covariance,
                 smoothing, forward_backward, refine, return_spectrum):
    check_bool(refine, "refine")
    check_bool(return_spectrum, "return_spectrum")
    el0 = check_float(elevation_rad, "elevation_rad", low=-math.pi / 2, high=math.pi / 2)
    lam = optional_geometry(geometry, wavelength_m)
    if geometry is not None:
        if smoothing is not None and ula_spacing(geometry) is None:
            raise ValueError(f"`smoothing` needs a uniform linear array (ULA along y); got a {geometry.kind} array.")
    prep = prepare_data(xp, data, covariance=covariance, smoothing=smoothing, forward_backward=forward_backward)
    if geometry is not None and smoothing is None and prep.m != geometry.n_elements:
        raise ValueError(f"`data` has {prep.m} elements but `geometry` has {geometry.n_elements}.")
    if grid is None:
        grid = (xp.linspace(-math.pi / 2, math.pi / 2, 1801, dtype=xp.float64) if geometry is not None
                else xp.linspace(-math.pi, math.pi, 4096, endpoint=False, dtype=xp.float64))
    grid = check_grid(grid, "grid", xp)
    k = check_int(n_sources, "n_sources", low=1, high=grid.shape[0], why="one peak per source on the grid")
    cov = prep.cov if prep.cov is not None else (prep.data @ ct(xp, prep.data)) / prep.n_cols
    cov = 0.5 * (cov + ct(xp, cov))
    return prep, grid, k, cov, LineGrid(xp, grid, geometry, lam, el0, prep.m)


def _result(xp, prep, lg, k, theta, spec, return_spectrum):
    est, freqs, _ = lg.finish(theta)
    out = prep.out_real
    return LineEstimate(
        estimates=shape_back(xp.astype(est, out), prep.batch, xp),
        parameter=lg.parameter,
        n_sources=k,
        frequencies=None if freqs is None else shape_back(xp.astype(freqs, out), prep.batch, xp),
        spectrum=shape_back(xp.astype(spec, out), prep.batch, xp) if return_spectrum else None,
        grid=xp.astype(lg.grid, out),
    )


def beamscan(data: Array, *, n_sources: int, geometry: ArrayGeometry | None = None,
             wavelength_m: float | None = None, grid: Array | None = None, elevation_rad: float = 0.0,
             covariance: bool = False, smoothing: int | None = None, forward_backward: bool = False,
             refine: bool = True, return_spectrum: bool = True) -> LineEstimate:
    r"""Bartlett (conventional, beamscan) spectrum and its ``n_sources`` largest peaks.

    Parameters
    ----------
    data : array, shape (..., n_elements, n_snapshots) or (..., n_elements, n_elements)
        Snapshots or covariance (``covariance=True``); leading axes are independent problems.
    n_sources : int
        Number of peaks to report, :math:`\ge 1`.
    geometry, wavelength_m, grid, elevation_rad, covariance, smoothing, forward_backward, refine, return_spectrum
        As in :func:`estimators.music`.

    Returns
    -------
    LineEstimate
        ``spectrum`` is the normalised beamformer output power :math:`\mathbf a^H\hat{\mathbf R}\mathbf a/M^2`.

    Notes
    -----
    Resolution is limited to about one beamwidth (:math:`2/M` in :math:`\sin\phi` for a
    half-wavelength ULA); closer sources merge into one peak.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import steering_vector, ula
    >>> from estimators import beamscan
    >>> g = ula(8, 0.5)
    >>> rng = np.random.default_rng(0)
    >>> s = rng.standard_normal((2, 100)) + 1j * rng.standard_normal((2, 100))
    >>> x = steering_vector(g, np.array([-0.6, 0.5]), wavelength_m=1.0) @ s
    >>> est = beamscan(x, n_sources=2, geometry=g, wavelength_m=1.0, grid=np.linspace(-1.2, 1.2, 241))
    >>> np.round(est.estimates, 1), est.spectrum.shape
    (array([-0.6,  0.5]), (241,))
    """
    xp = get_xp(data, grid)
    prep, grid, k, cov, lg = _spectrum_iv(xp, data, n_sources, geometry, wavelength_m, grid, elevation_rad,
                                          covariance, smoothing, forward_backward, refine, return_spectrum)
    vals, vecs = xp.linalg.eigh(cov)
    u = vecs * xp.astype(xp.sqrt(xp.clip(vals, 0.0, None)), vecs.dtype)[:, None, :]   # R = U U^H
    m = prep.m
    spec = lg.power(u) / float(m * m)
    theta = lg.initial(lg.peaks(spec, k)[0])
    if refine:
        theta = lg.refine(theta, u, -1.0)
    return _result(xp, prep, lg, k, theta, spec, return_spectrum)


def capon(data: Array, *, n_sources: int, geometry: ArrayGeometry | None = None,
          wavelength_m: float | None = None, grid: Array | None = None, elevation_rad: float = 0.0,
          covariance: bool = False, smoothing: int | None = None, forward_backward: bool = False,
          diagonal_loading: float = 0.0, refine: bool = True, return_spectrum: bool = True) -> LineEstimate:
    r"""Capon (MVDR) spectrum :math:`1/(\mathbf a^H\hat{\mathbf R}^{-1}\mathbf a)` and its largest peaks.

    Parameters
    ----------
    data : array, shape (..., n_elements, n_snapshots) or (..., n_elements, n_elements)
        Snapshots or covariance (``covariance=True``).
    n_sources : int
        Number of peaks to report, :math:`\ge 1`.
    diagonal_loading : float, default=0
        Loading :math:`\delta` relative to the average element power:
        :math:`\hat{\mathbf R} + \delta\,\frac{\mathrm{tr}\hat{\mathbf R}}{M}\mathbf I`. Independently, eigenvalues
        below :math:`10^{-10}\lambda_{\max}` are raised to that floor, so rank-deficient (few
        snapshots, noiseless) covariances give a finite spectrum instead of a LAPACK error.
    geometry, wavelength_m, grid, elevation_rad, covariance, smoothing, forward_backward, refine, return_spectrum
        As in :func:`estimators.music`.

    Returns
    -------
    LineEstimate
        ``spectrum`` is the Capon power :math:`1/(\mathbf a^H\hat{\mathbf R}^{-1}\mathbf a)`.

    References
    ----------
    J. Capon, "High-resolution frequency-wavenumber spectrum analysis," Proc. IEEE, 57(8), 1969.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import steering_vector, ula
    >>> from estimators import capon
    >>> g = ula(8, 0.5)
    >>> rng = np.random.default_rng(0)
    >>> s = rng.standard_normal((2, 100)) + 1j * rng.standard_normal((2, 100))
    >>> x = steering_vector(g, np.array([-0.6, 0.5]), wavelength_m=1.0) @ s
    >>> x = x + 0.1 * (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape))
    >>> est = capon(x, n_sources=2, geometry=g, wavelength_m=1.0, grid=np.linspace(-1.2, 1.2, 241))
    >>> np.round(est.estimates, 2), est.spectrum.shape
    (array([-0.6,  0.5]), (241,))
    """
    xp = get_xp(data, grid)
    loading = check_float(diagonal_loading, "diagonal_loading", low=0.0)
    prep, grid, k, cov, lg = _spectrum_iv(xp, data, n_sources, geometry, wavelength_m, grid, elevation_rad,
                                          covariance, smoothing, forward_backward, refine, return_spectrum)
    m = prep.m
    vals, vecs = xp.linalg.eigh(cov)
    trace = xp.sum(vals, axis=-1, keepdims=True)
    top = xp.max(vals, axis=-1, keepdims=True)
    vals = xp.maximum(vals + loading * trace / m, xp.maximum(top, xp.full(top.shape, 1e-300, dtype=top.dtype)) * 1e-10)
    u = vecs * xp.astype(1.0 / xp.sqrt(vals), vecs.dtype)[:, None, :]               # R^{-1} = U U^H
    spec = 1.0 / lg.power(u)
    theta = lg.initial(lg.peaks(spec, k)[0])
    if refine:
        theta = lg.refine(theta, u, 1.0)
    return _result(xp, prep, lg, k, theta, spec, return_spectrum)

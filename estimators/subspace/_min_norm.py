r"""Min-Norm: spectral and root forms (Kumaresan and Tufts, 1983; Reddi, 1979).

The Min-Norm vector is the minimum-norm vector of the noise subspace with first entry 1,

.. math::
    \mathbf d = \frac{\boldsymbol\Pi_n\mathbf e_1}{\mathbf e_1^T\boldsymbol\Pi_n\mathbf e_1},\qquad
    \boldsymbol\Pi_n = \mathbf I - \mathbf E_s\mathbf E_s^H,

and the estimates are the :math:`K` deepest nulls of :math:`|\mathbf a(\theta)^H\mathbf d|^2`.
Compared with MUSIC (which weights every noise eigenvector equally) the spurious nulls are pushed
away from the unit circle, which lowers the resolution threshold for a ULA at the price of a
larger variance above it.

Both forms use the grid-search engine of the toolbox: the spectrum is
:math:`1/|\mathbf a^H\mathbf d|^2`, evaluated like MUSIC's with the one-column "subspace"
:math:`\mathbf d` (no :math:`M\times G` steering matrix), peaks are refined by Newton steps on
:math:`|\mathbf a^H\mathbf d|^2`; the root form roots :math:`D(w) = \sum_m d_m w^m` and keeps the
:math:`K` roots closest to the unit circle (:math:`\mu = -\arg w`).
"""

from __future__ import annotations

import math

from sensing import Array, ArrayGeometry, check_bool, check_choice, check_float, get_xp

from ._covariance import prepare_data
from ._grid_search import (
    LineGrid,
    check_grid,
    optional_geometry,
    shape_back,
    signal_subspace,
    ula_spacing,
)
from ._results import LineEstimate
from ._rootmusic import polynomial_roots

__all__ = ["min_norm"]

_METHODS = ("spectral", "root")


def min_norm_vector(u, xp):
    r""":math:`\mathbf d = \boldsymbol\Pi_n\mathbf e_1/(\mathbf e_1^T\boldsymbol\Pi_n\mathbf e_1)` from the
    signal subspace ``u`` (B, M, K) -> (B, M, 1) complex."""
    top = xp.conj(u[:, 0, :])                                       # U^H e_1, (B, K)
    d = -(u @ top[:, :, None])                                      # -U U^H e_1, (B, M, 1)
    e1 = xp.zeros_like(d)
    e1[:, 0, 0] = 1.0
    d = d + e1
    den = xp.real(d[:, :1, :])                                      # e_1^T Pi_n e_1 = 1 - ||U^H e_1||^2
    floor = xp.full(den.shape, 1e-12, dtype=den.dtype)
    return d / xp.astype(xp.maximum(den, floor), d.dtype)


def min_norm(data: Array, *, n_sources: int | None = None, geometry: ArrayGeometry | None = None,
             wavelength_m: float | None = None, method: str = "spectral", grid: Array | None = None,
             elevation_rad: float = 0.0, covariance: bool = False, smoothing: int | None = None,
             forward_backward: bool = False, refine: bool = True, subspace_method: str = "auto",
             return_spectrum: bool = True) -> LineEstimate:
    r"""Min-Norm direction / frequency estimation, spectral or root form.

    .. math::
        P_{\mathrm{MN}}(\theta) = \frac{1}{|\mathbf a(\theta)^H\mathbf d|^2},\qquad
        \mathbf d = \frac{\boldsymbol\Pi_n\mathbf e_1}{\mathbf e_1^T\boldsymbol\Pi_n\mathbf e_1}.

    Parameters
    ----------
    data : array, shape (..., n_elements, n_snapshots) or (..., n_elements, n_elements)
        Snapshots (or a covariance with ``covariance=True``); leading axes are independent
        problems.
    n_sources : int, optional
        :math:`K \in [1, M_s - 1]`; ``None``: MDL on the eigenvalues (snapshot input only).
    geometry : ArrayGeometry, optional
        The array. The spectral form takes any array (azimuth at ``elevation_rad``); the root form
        needs a ULA along :math:`y`. ``None``: the data are a Vandermonde dimension and the
        estimates are frequencies :math:`\mu` [rad/sample].
    wavelength_m : float
        Carrier wavelength [m]; required with ``geometry``.
    method : {"spectral", "root"}, default="spectral"
        Grid search of the null spectrum (with Newton refinement), or polynomial rooting.
    grid : array, shape (n_grid,), optional
        Spectral form only: strictly monotonic search grid, as in :func:`music`.
    elevation_rad : float, default=0
        Elevation of the azimuth cut [rad] (spectral form).
    covariance, smoothing, forward_backward, refine, subspace_method, return_spectrum
        As in :func:`music` (``refine`` and ``return_spectrum`` apply to the spectral form).

    Returns
    -------
    LineEstimate
        ``estimates`` (..., K) ascending; ``frequencies`` for uniform linear data; ``spectrum``
        (spectral form); ``eigenvalues``.

    Raises
    ------
    ValueError
        As :func:`music`; the root form on an array that is not a ULA along :math:`y`.
    TypeError
        Wrong argument types.

    References
    ----------
    R. Kumaresan and D. W. Tufts, "Estimating the angles of arrival of multiple plane waves,"
    IEEE Trans. Aerosp. Electron. Syst., 19(1), 1983. S. S. Reddi, "Multiple source
    location — a digital approach," IEEE Trans. Aerosp. Electron. Syst., 15(1), 1979.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import steering_vector, ula
    >>> from estimators import min_norm
    >>> g = ula(8, 0.5)
    >>> rng = np.random.default_rng(0)
    >>> s = rng.standard_normal((2, 100)) + 1j * rng.standard_normal((2, 100))
    >>> x = steering_vector(g, np.array([-0.4, 0.3]), wavelength_m=1.0) @ s
    >>> x = x + 0.05 * (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape))
    >>> np.round(min_norm(x, n_sources=2, geometry=g, wavelength_m=1.0).estimates, 2)
    array([-0.4,  0.3])
    >>> np.round(min_norm(x, n_sources=2, geometry=g, wavelength_m=1.0, method="root").estimates, 2)
    array([-0.4,  0.3])
    """
    xp = get_xp(data, grid)
    check_choice(method, "method", _METHODS)
    check_bool(refine, "refine")
    check_bool(return_spectrum, "return_spectrum")
    el0 = check_float(elevation_rad, "elevation_rad", low=-math.pi / 2, high=math.pi / 2)
    lam = optional_geometry(geometry, wavelength_m)
    d_ula = None if geometry is None else ula_spacing(geometry)
    if geometry is not None and d_ula is None and (smoothing is not None or method == "root"):
        what = "`smoothing`" if smoothing is not None else "method='root'"
        raise ValueError(f"{what} needs a uniform linear array along y (sensing.ula); got a {geometry.kind} array.")
    if method == "root" and grid is not None:
        raise ValueError("`grid` is used by method='spectral' only; got a grid with method='root'.")
    prep = prepare_data(xp, data, covariance=covariance, smoothing=smoothing, forward_backward=forward_backward)
    if geometry is not None and smoothing is None and prep.m != geometry.n_elements:
        raise ValueError(f"`data` has {prep.m} elements but `geometry` has {geometry.n_elements}.")
    k, u, vals = signal_subspace(prep, n_sources, subspace_method)
    d = min_norm_vector(u, xp)
    out = prep.out_real
    param = "frequency_rad" if geometry is None else "azimuth_rad"
    spectrum = None
    if method == "root":
        roots = polynomial_roots(xp.flip(d[:, :, 0], axis=-1))        # D(w) = sum_m d_m w^m, highest power first
        dist = xp.abs(1.0 - xp.abs(roots))
        pick = xp.argsort(dist, axis=-1, stable=True)[:, :k]
        w = xp.take_along_axis(roots, pick, axis=-1)
        freqs = xp.sort(-xp.atan2(xp.imag(w), xp.real(w)), axis=-1)
        est = freqs if geometry is None else xp.asin(xp.clip(freqs / (2 * math.pi * d_ula / lam), -1.0, 1.0))
        grid_out = None
    else:
        if grid is None:
            grid = (xp.linspace(-math.pi / 2, math.pi / 2, 1801, dtype=xp.float64) if geometry is not None
                    else xp.linspace(-math.pi, math.pi, 4096, endpoint=False, dtype=xp.float64))
        grid = check_grid(grid, "grid", xp)
        lg = LineGrid(xp, grid, geometry, lam, el0, prep.m)
        null = lg.power(d)
        spec = 1.0 / xp.maximum(null, xp.full(null.shape, 1e-13, dtype=null.dtype))
        theta = lg.initial(lg.peaks(spec, k)[0])
        if refine:
            theta = lg.refine(theta, d, 1.0)
        est, freqs, _ = lg.finish(theta)
        spectrum = shape_back(xp.astype(spec, out), prep.batch, xp) if return_spectrum else None
        grid_out = xp.astype(grid, out)
    return LineEstimate(
        estimates=shape_back(xp.astype(est, out), prep.batch, xp),
        parameter=param,
        n_sources=k,
        frequencies=None if freqs is None else shape_back(xp.astype(freqs, out), prep.batch, xp),
        spectrum=spectrum,
        grid=grid_out,
        eigenvalues=shape_back(xp.astype(vals, out), prep.batch, xp),
    )

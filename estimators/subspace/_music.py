r"""MUSIC: 1-D, 2-D (azimuth/elevation) and N-D (harmonic tensor) grid search with refinement.

.. math::
    P_{\mathrm{MU}}(\boldsymbol\theta) = \frac{1}{\mathbf a^H\mathbf E_n\mathbf E_n^H\mathbf a}
    = \frac{1}{\|\mathbf a\|^2 - \|\mathbf E_s^H\mathbf a\|^2}

(R. O. Schmidt, "Multiple emitter location and signal parameter estimation," IEEE Trans.
Antennas Propag. 34(3), 1986). The spectrum is evaluated in the signal-subspace form
(:math:`K` columns instead of :math:`M-K`) and never through a materialised
:math:`M\times G` steering matrix:

* ULA / Vandermonde dimension: :math:`\mathbf a^H\mathbf C\mathbf a` is a trigonometric polynomial
  whose coefficients are the diagonal sums of :math:`\mathbf C = \mathbf E_s\mathbf E_s^H`; it is
  evaluated by Horner's rule (numba kernel on NumPy, chunked ``xp`` matmul elsewhere);
* arbitrary arrays: a fused numba kernel computes the steering phases on the fly (NumPy), or
  chunks of the steering matrix are formed (other namespaces);
* uniform planar arrays (az/el) and N-D harmonic tensors: separable mode products with the
  per-dimension steering factors only.

Peaks are the largest local maxima of the grid spectrum; ``refine=True`` then polishes each by
damped Newton steps on :math:`\|\mathbf E_s^H\mathbf a(\boldsymbol\theta)\|^2` with analytic first and second
derivatives (off-grid estimates; exact on noiseless data).
"""

from __future__ import annotations

import math

import numpy as np

from sensing import (
    Array,
    ArrayGeometry,
    asarray_like,
    check_bool,
    check_float,
    get_xp,
)

from ._covariance import prepare_data, prepare_tensor
from ._grid_search import (
    GeometryModel,
    HarmonicModel,
    LineGrid,
    array_power,
    check_geometry,
    check_grid,
    find_peaks,
    grid_boundary,
    grid_step,
    lattice_coordinates,
    lattice_power,
    newton_refine,
    optional_geometry,
    separable_power,
    shape_back,
    signal_subspace,
    take_grid,
    ula_spacing,
    unravel,
    upa_power,
)
from ._results import LineEstimate, MultiEstimate

__all__ = ["music", "music_2d", "music_nd"]



# --- grids and geometry ---------------------------------------------------------------------------












# --- spectrum evaluation (no M x G steering matrix) ----------------------------------------------














# --- peak search ---------------------------------------------------------------------------------








# --- Newton refinement of a quadratic form in a(theta) -------------------------------------------










# --- shared driver ------------------------------------------------------------------------------






def _music_denominator(h, m):
    """||a||^2 - ||E_s^H a||^2, floored so that noiseless data give finite, sharp peaks."""
    return 1.0 / _floor(m - h, m)


def _floor(d, m):
    xp = get_xp(d)
    return xp.maximum(d, m * 1e-13)




# --- public estimators --------------------------------------------------------------------------


def music(data: Array, *, n_sources: int | None = None, geometry: ArrayGeometry | None = None,
          wavelength_m: float | None = None, grid: Array | None = None, elevation_rad: float = 0.0,
          covariance: bool = False, smoothing: int | None = None, forward_backward: bool = False,
          refine: bool = True, subspace_method: str = "auto", return_spectrum: bool = True) -> LineEstimate:
    r"""1-D MUSIC: azimuth of an arbitrary array, or the frequency of a Vandermonde dimension.

    .. math::
        \mathbf x(t) = \sum_{k=1}^{K}\mathbf a(\theta_k)s_k(t) + \mathbf n(t),\qquad
        P(\theta) = 1\big/\big(\|\mathbf a(\theta)\|^2 - \|\mathbf E_s^H\mathbf a(\theta)\|^2\big).

    Parameters
    ----------
    data : array, shape (..., n_elements, n_snapshots) or (..., n_elements, n_elements)
        Snapshots :math:`\mathbf X` (or a covariance with ``covariance=True``); leading axes are
        independent problems (e.g. Monte Carlo trials), processed without a Python loop.
    n_sources : int, optional
        :math:`K \in [1, M_s - 1]`. ``None``: MDL on the eigenvalues (snapshot input only; the
        whole batch must agree on one order).
    geometry : ArrayGeometry, optional
        The array (package convention: broadside = azimuth 0). A ULA along :math:`y` uses the
        fast Vandermonde path. ``None``: the data are a Vandermonde dimension with steering
        :math:`[e^{j\mu i}]_i` and the estimates are frequencies :math:`\mu` [rad/sample].
    wavelength_m : float
        Carrier wavelength [m]; required with ``geometry``.
    grid : array, shape (n_grid,), optional
        Strictly monotonic search grid: azimuth [rad] with ``geometry`` (default 1801 points on
        :math:`[-\pi/2, \pi/2]`), else :math:`\mu` [rad/sample] (default 4096 points on
        :math:`[-\pi, \pi)`).
    elevation_rad : float, default=0
        Elevation of the azimuth cut [rad] (arrays with a vertical extent).
    covariance : bool, default=False
        Whether ``data`` is a covariance matrix.
    smoothing : int, optional
        Forward spatial-smoothing subarray size :math:`M_s` (uniform linear data only); needed
        for coherent sources.
    forward_backward : bool, default=False
        Forward-backward averaging (centro-symmetric arrays).
    refine : bool, default=True
        Newton refinement of each grid peak (off-grid estimates).
    subspace_method : {"auto", "eigh", "iterative"}, default="auto"
        Signal-subspace solver: full ``eigh``, or block subspace iteration on the data matrix
        (chosen automatically for :math:`M \ge 128` and small :math:`K`).
    return_spectrum : bool, default=True
        Keep the grid spectrum in the result (set False for large batches).

    Returns
    -------
    LineEstimate
        ``estimates`` (..., K) ascending (azimuth [rad] or :math:`\mu`); ``frequencies`` for
        uniform linear data; ``spectrum`` (..., n_grid); ``eigenvalues``.

    Raises
    ------
    ValueError
        NaN/inf data, :math:`K \ge M_s` or more sources than data columns (rank-deficient
        covariance: use smoothing), empty or unsorted grid, smoothing on a non-uniform array.
    TypeError
        Wrong argument types.

    Warns
    -----
    SubspaceWarning
        When the :math:`K`-th eigenvalue does not rise above the noise (coherent sources without
        smoothing, or too-weak sources): the estimates may be spurious.

    Notes
    -----
    NumPy input runs the numba kernels; CuPy and other array-API namespaces run chunked ``xp``
    code. Results keep the input namespace; single-precision input gives float32 results (the
    numerics run in float64).

    References
    ----------
    R. O. Schmidt, "Multiple emitter location and signal parameter estimation," IEEE Trans.
    Antennas Propag., 34(3), 1986.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import steering_vector, ula
    >>> from estimators import music
    >>> g = ula(8, 0.5)
    >>> rng = np.random.default_rng(0)
    >>> s = rng.standard_normal((2, 100)) + 1j * rng.standard_normal((2, 100))
    >>> x = steering_vector(g, np.array([-0.4, 0.3]), wavelength_m=1.0) @ s
    >>> x = x + 0.05 * (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape))
    >>> est = music(x, n_sources=2, geometry=g, wavelength_m=1.0)
    >>> np.round(est.estimates, 2), est.spectrum.shape == est.grid.shape
    (array([-0.4,  0.3]), True)
    """
    xp = get_xp(data, grid)
    check_bool(refine, "refine")
    check_bool(return_spectrum, "return_spectrum")
    el0 = check_float(elevation_rad, "elevation_rad", low=-math.pi / 2, high=math.pi / 2)
    lam = optional_geometry(geometry, wavelength_m)
    if geometry is not None:
        if smoothing is not None and ula_spacing(geometry) is None:
            raise ValueError("`smoothing` needs a uniform linear array (ULA along y); got a "
                             f"{geometry.kind} array.")
    prep = prepare_data(xp, data, covariance=covariance, smoothing=smoothing, forward_backward=forward_backward)
    if geometry is not None and smoothing is None and prep.m != geometry.n_elements:
        raise ValueError(f"`data` has {prep.m} elements but `geometry` has {geometry.n_elements}.")
    if grid is None:
        grid = (xp.linspace(-math.pi / 2, math.pi / 2, 1801, dtype=xp.float64) if geometry is not None
                else xp.linspace(-math.pi, math.pi, 4096, endpoint=False, dtype=xp.float64))
    grid = check_grid(grid, "grid", xp)
    k, u, vals = signal_subspace(prep, n_sources, subspace_method)
    lg = LineGrid(xp, grid, geometry, lam, el0, prep.m)
    spec = _music_denominator(lg.power(u), prep.m)
    idx, counts = lg.peaks(spec, k)
    theta = lg.initial(idx)
    if refine:
        theta = lg.refine(theta, u, -1.0)
    est, freqs, order = lg.finish(theta)
    out = prep.out_real
    param = lg.parameter
    return LineEstimate(
        estimates=shape_back(xp.astype(est, out), prep.batch, xp),
        parameter=param,
        n_sources=k,
        frequencies=None if freqs is None else shape_back(xp.astype(freqs, out), prep.batch, xp),
        spectrum=shape_back(xp.astype(spec, out), prep.batch, xp) if return_spectrum else None,
        grid=xp.astype(grid, out),
        eigenvalues=shape_back(xp.astype(vals, out), prep.batch, xp),
        resolved=_resolved(counts, k, prep.batch, xp),
        peak_indices=shape_back(xp.take_along_axis(_as_xp(idx, xp), order, axis=-1), prep.batch, xp),
    )


def _as_xp(idx, xp):
    return asarray_like(idx, xp, dtype=xp.int64)


def _resolved(counts, k, batch, xp):
    """(batch) bool: at least k distinct local maxima (K sources resolved on the grid)."""
    return xp.reshape(_as_xp(counts, xp) >= k, batch)


def _peak_rows(theta, idx, gshape, xp):
    """Sort the rows of theta (B, K, R) by the first column, and the peaks' multi-indices alike."""
    ind = xp.stack([_as_xp(i, xp) for i in unravel(_as_xp(idx, xp), gshape, xp)], axis=-1)   # (B, K, R)
    if theta.shape[1] > 1:
        order = xp.argsort(theta[..., 0], axis=-1, stable=True)
        theta = xp.take_along_axis(theta, xp.broadcast_to(order[..., None], theta.shape), axis=1)
        ind = xp.take_along_axis(ind, xp.broadcast_to(order[..., None], ind.shape), axis=1)
    return theta, ind


def music_2d(data: Array, *, n_sources: int, geometry: ArrayGeometry, wavelength_m: float,
             azimuth_grid_rad: Array | None = None, elevation_grid_rad: Array | None = None,
             covariance: bool = False, forward_backward: bool = False, refine: bool = True,
             subspace_method: str = "auto", return_spectrum: bool = True) -> MultiEstimate:
    r"""2-D MUSIC over azimuth and elevation for a planar (or any 3-D) array.

    Parameters
    ----------
    data : array, shape (..., n_elements, n_snapshots) or (..., n_elements, n_elements)
        Snapshots or covariance (``covariance=True``).
    n_sources : int
        :math:`K \in [1, M-1]`.
    geometry : ArrayGeometry
        The array; a UPA (``sensing.upa``) uses the separable fast path.
    wavelength_m : float
        Carrier wavelength [m].
    azimuth_grid_rad, elevation_grid_rad : array, optional
        Strictly monotonic grids [rad]; default 181 points on :math:`[-\pi/2, \pi/2]` each.
    covariance, forward_backward, refine, subspace_method, return_spectrum
        As in :func:`music`.

    Returns
    -------
    MultiEstimate
        ``estimates`` (..., K, 2) = (azimuth, elevation) [rad], sorted by azimuth; ``spectrum``
        (..., n_az, n_el).

    Raises
    ------
    ValueError, TypeError
        As :func:`music`.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import steering_vector, upa
    >>> from estimators import music_2d
    >>> g = upa(4, 4, 0.5)
    >>> rng = np.random.default_rng(0)
    >>> a = steering_vector(g, np.array([-0.3, 0.4]), np.array([0.2, -0.3]), wavelength_m=1.0)
    >>> x = a @ (rng.standard_normal((2, 40)) + 1j * rng.standard_normal((2, 40)))
    >>> x = x + 0.05 * (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape))
    >>> grid = np.linspace(-1.0, 1.0, 41)
    >>> est = music_2d(x, n_sources=2, geometry=g, wavelength_m=1.0, azimuth_grid_rad=grid, elevation_grid_rad=grid)
    >>> np.round(est.estimates, 2)                       # rows: (azimuth, elevation)
    array([[-0.3,  0.2],
           [ 0.4, -0.3]])
    """
    xp = get_xp(data, azimuth_grid_rad, elevation_grid_rad)
    lam = check_geometry(geometry, wavelength_m)
    if np.linalg.matrix_rank(geometry.positions_m - geometry.positions_m[0], tol=1e-9 * max(lam, 1e-300)) < 2:
        raise ValueError(f"`geometry` must span two dimensions for azimuth and elevation; a {geometry.kind} "
                         "array on one line only sees the cone angle to its axis. Use estimators.music "
                         "(azimuth at a known elevation) for linear arrays.")
    check_bool(refine, "refine")
    check_bool(return_spectrum, "return_spectrum")
    prep = prepare_data(xp, data, covariance=covariance, smoothing=None, forward_backward=forward_backward)
    if prep.m != geometry.n_elements:
        raise ValueError(f"`data` has {prep.m} elements but `geometry` has {geometry.n_elements}.")
    az = check_grid(xp.linspace(-math.pi / 2, math.pi / 2, 181, dtype=xp.float64)
                    if azimuth_grid_rad is None else azimuth_grid_rad, "azimuth_grid_rad", xp)
    el = check_grid(xp.linspace(-math.pi / 2, math.pi / 2, 181, dtype=xp.float64)
                    if elevation_grid_rad is None else elevation_grid_rad, "elevation_grid_rad", xp)
    if n_sources is None:
        raise ValueError("`n_sources` is required for music_2d (use estimators.mdl first).")
    k, u, vals = signal_subspace(prep, n_sources, subspace_method)
    m = prep.m
    if geometry.kind == "upa" and _is_yz_upa(geometry):
        nr, nc = geometry.shape
        dr, dc = geometry.spacing_m
        h = upa_power(u, nr, nc, 2 * math.pi * dr / lam, 2 * math.pi * dc / lam, az, el, xp)
    elif (lat := lattice_coordinates(geometry.positions_m)) is not None:
        h = lattice_power(u, lat, 2 * math.pi / lam, az, el, xp)
    else:
        pos_k = geometry.positions_m * (2 * math.pi / lam)
        aa = xp.reshape(xp.broadcast_to(az[:, None], (az.shape[0], el.shape[0])), (-1,))
        ee = xp.reshape(xp.broadcast_to(el[None, :], (az.shape[0], el.shape[0])), (-1,))
        dirs = xp.stack([xp.cos(ee) * xp.cos(aa), xp.cos(ee) * xp.sin(aa), xp.sin(ee)], axis=-1)
        h = xp.reshape(array_power(u, pos_k, dirs, xp), (u.shape[0], az.shape[0], el.shape[0]))
    spec = _music_denominator(h, m)
    idx, counts = find_peaks(spec, k, xp, return_counts=True)
    ia, ie = unravel(idx, (az.shape[0], el.shape[0]), xp)
    theta = xp.stack([take_grid(az, ia, xp), take_grid(el, ie, xp)], axis=-1)
    if refine:
        theta = newton_refine(theta, GeometryModel(geometry, lam, xp), u, xp, sign=-1.0,
                              step=[grid_step(az, xp), grid_step(el, xp)],
                              lower=[float(xp.min(az)), float(xp.min(el))],
                              upper=[float(xp.max(az)), float(xp.max(el))])
    theta, ind = _peak_rows(theta, idx, (az.shape[0], el.shape[0]), xp)
    out = prep.out_real
    return MultiEstimate(
        estimates=shape_back(xp.astype(theta, out), prep.batch, xp),
        parameters=("azimuth_rad", "elevation_rad"),
        n_sources=k,
        spectrum=shape_back(xp.astype(spec, out), prep.batch, xp) if return_spectrum else None,
        grids=(xp.astype(az, out), xp.astype(el, out)),
        eigenvalues=shape_back(xp.astype(vals, out), prep.batch, xp),
        resolved=_resolved(counts, k, prep.batch, xp),
        peak_indices=shape_back(ind, prep.batch, xp),
    )


def _is_yz_upa(geometry) -> bool:
    nr, nc = geometry.shape
    dr, dc = geometry.spacing_m
    r, c = np.meshgrid(np.arange(nr), np.arange(nc), indexing="ij")
    ideal = np.zeros((nr * nc, 3))
    ideal[:, 1] = dc * c.ravel()
    ideal[:, 2] = dr * r.ravel()
    return bool(np.allclose(geometry.positions_m, ideal))




def music_nd(tensor: Array, *, n_sources: int, grids, subarray_shape=None, snapshots: bool = False,
             forward_backward: bool = False, covariance: bool = False, shape=None, refine: bool = True,
             subspace_method: str = "auto", return_spectrum: bool = True) -> MultiEstimate:
    r"""N-D MUSIC on a multidimensional harmonic tensor (e.g. antenna x subcarrier x symbol).

    .. math::
        \mathcal X[i_1, \dots, i_R] = \sum_{k=1}^{K} b_k\prod_{r=1}^{R}e^{j\mu_{r,k}i_r} + \mathcal N,

    with multidimensional smoothing (Hua, IEEE Trans. SP 40(9), 1992; Thakre et al., IEEE Trans. SP
    58(5), 2010) for single snapshots. The spectrum on
    the product grid is computed by mode products with the per-dimension Vandermonde factors
    (never the Kronecker steering matrix), chunked over the first grid dimension.

    Parameters
    ----------
    tensor : array, shape (..., M_1, ..., M_R[, n_snapshots]) or (..., P, P)
        The data tensor (``R = len(grids)``), a trailing snapshot axis with ``snapshots=True``,
        or a covariance of the C-order vectorisation with ``covariance=True`` (then ``shape``).
    n_sources : int
        :math:`K`.
    grids : sequence of R arrays
        Strictly monotonic frequency grids :math:`\mu_r` [rad/sample]. Map physical grids with
        :func:`estimators.frequency_from_delay` etc. (delay grids map to *decreasing* frequency
        grids, which is allowed).
    subarray_shape : sequence of int, optional
        Smoothing subarray sizes :math:`M_r^s` (default: no smoothing, then a single snapshot
        supports only :math:`K = 1`).
    snapshots : bool, default=False
        Whether the last axis of ``tensor`` holds independent snapshots.
    forward_backward : bool, default=False
        Forward-backward averaging of the smoothed data.
    covariance : bool, default=False
        ``tensor`` is a covariance (..., P, P) with :math:`P = \prod_r M_r`; needs ``shape``.
    shape : sequence of int, optional
        :math:`(M_1, \dots, M_R)` for ``covariance=True``.
    refine, subspace_method, return_spectrum
        As in :func:`music`.

    Returns
    -------
    MultiEstimate
        ``estimates`` (..., K, R) frequencies [rad/sample] sorted by the first dimension;
        ``spectrum`` (..., G_1, ..., G_R).

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import music_nd
    >>> n = [np.arange(d) for d in (6, 7, 5)]
    >>> t = sum(np.einsum("i,j,k->ijk", *[np.exp(1j * m * k) for m, k in zip(mu, n)])
    ...         for mu in [(0.4, -1.0, 0.7), (-0.9, 0.6, -1.5)])
    >>> grids = [np.linspace(-np.pi, np.pi, 48, endpoint=False)] * 3
    >>> est = music_nd(t, n_sources=2, grids=grids, subarray_shape=(4, 4, 3))
    >>> np.round(est.estimates, 3)                       # rows sorted by the first frequency
    array([[-0.9,  0.6, -1.5],
           [ 0.4, -1. ,  0.7]])
    """
    if not isinstance(grids, (list, tuple)) or len(grids) < 1:
        raise TypeError(f"`grids` must be a non-empty sequence of 1-D arrays (one per dimension); got {type(grids).__name__}.")
    xp = get_xp(tensor, *grids)
    check_bool(refine, "refine")
    check_bool(return_spectrum, "return_spectrum")
    check_bool(snapshots, "snapshots")
    check_bool(covariance, "covariance")
    r_dims = len(grids)
    gr = [check_grid(g, f"grids[{i}]", xp) for i, g in enumerate(grids)]
    prep, sub = prepare_tensor(xp, tensor, r_dims, subarray_shape=subarray_shape, snapshots=snapshots,
                               forward_backward=forward_backward, covariance=covariance, shape=shape)
    k, u, vals = signal_subspace(prep, n_sources, subspace_method)
    factors = [xp.exp(1j * xp.astype(xp.arange(ms, dtype=xp.float64)[:, None] * g[None, :], xp.complex128))
               for ms, g in zip(sub, gr)]
    ut = xp.reshape(u, (u.shape[0],) + tuple(sub) + (k,))
    h = separable_power(ut, factors, xp)
    spec = _music_denominator(h, prep.m)
    # a full-period frequency grid wraps; any other keeps its end points (a corner of a sub-grid
    # may hold a source)
    bnd = tuple("circular" if grid_boundary(g, xp) == "circular" else "open" for g in gr)
    idx, counts = find_peaks(spec, k, xp, boundary=bnd, return_counts=True)
    ind = unravel(idx, tuple(g.shape[0] for g in gr), xp)
    theta = xp.stack([take_grid(g, i, xp) for g, i in zip(gr, ind)], axis=-1)
    if refine:
        steps = [grid_step(g, xp) for g in gr]
        wrap = [b_ == "circular" for b_ in bnd]
        lower = [float(xp.min(g)) - (st if w else 0.0) for g, st, w in zip(gr, steps, wrap)]
        upper = [float(xp.max(g)) + (st if w else 0.0) for g, st, w in zip(gr, steps, wrap)]
        theta = newton_refine(theta, HarmonicModel(sub, xp), u, xp, sign=-1.0, step=steps, lower=lower, upper=upper)
        if any(wrap):              # peaks at a seam may cross it: back into [min(grid), min(grid) + 2 pi)
            g0 = asarray_like(np.array([float(xp.min(g)) for g in gr]), xp, dtype=xp.float64)
            wm = asarray_like(np.array(wrap), xp, dtype=xp.bool)
            theta = xp.where(wm, g0 + xp.remainder(theta - g0, 2 * math.pi), theta)
    theta, ind = _peak_rows(theta, idx, tuple(g.shape[0] for g in gr), xp)
    out = prep.out_real
    return MultiEstimate(
        estimates=shape_back(xp.astype(theta, out), prep.batch, xp),
        parameters=tuple("frequency_rad" for _ in range(r_dims)),
        n_sources=k,
        spectrum=shape_back(xp.astype(spec, out), prep.batch, xp) if return_spectrum else None,
        grids=tuple(xp.astype(g, out) for g in gr),
        eigenvalues=shape_back(xp.astype(vals, out), prep.batch, xp),
        resolved=_resolved(counts, k, prep.batch, xp),
        peak_indices=shape_back(ind, prep.batch, xp),
    )



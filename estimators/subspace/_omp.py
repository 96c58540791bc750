r"""Orthogonal matching pursuit on grid dictionaries, with off-grid Newton refinement.

Greedy sparse recovery of :math:`\mathbf Y \approx \mathbf A(\boldsymbol\theta)\mathbf G` (Pati et
al.; Tropp-Gilbert): at each step the atom most correlated with the residual,
:math:`\arg\max_g\|\mathbf R^H\mathbf a(\theta_g)\|^2` (summed over snapshots, i.e. simultaneous
OMP), joins the support and all gains are refitted by least squares. With ``refine=True`` the new
atom is polished off the grid by Newton steps on the same correlation, and every atom is then
re-polished cyclically against the residual plus its own contribution (Newtonized OMP,
Mamandipoor-Ramasamy-Madhow), which removes the grid bias.

Multidimensional (Kronecker) dictionaries :math:`\mathbf a = \mathbf a_1\otimes\cdots\otimes\mathbf a_R`
are never formed: the correlations are mode products of the residual tensor with the
per-dimension Vandermonde factors :math:`\mathcal R\times_1\mathbf A_1^H\cdots\times_R\mathbf A_R^H`
(Kronecker OMP: C. F. Caiafa and A. Cichocki, "Computing sparse representations of
multidimensional signals using Kronecker bases," Neural Computation 25(1), 2013), and only the
selected atoms are built for the refit.
"""

from __future__ import annotations

import math

from sensing import (
    Array,
    ArrayGeometry,
    check_array,
    check_bool,
    check_float,
    check_int,
    get_xp,
)

from ._covariance import as_work, ct, flatten_batch, real_dtype_for
from ._grid_search import (
    HarmonicModel,
    LineGrid,
    check_grid,
    grid_step,
    newton_refine,
    optional_geometry,
    separable_power,
    shape_back,
    take_grid,
    unravel,
)
from ._results import SparseEstimate

__all__ = ["omp"]

_FINAL_SWEEPS = 30
_FINAL_TOL = 1e-13     # Newton stop (rad) in the sweeps after the last atom


class _TensorGrid:
    """Kronecker dictionary over R Vandermonde dimensions (C-order vectorisation)."""

    def __init__(self, xp, grids, dims):
        self.xp, self.grids, self.dims = xp, grids, tuple(dims)
        self.model = HarmonicModel(dims, xp)
        self.factors = [xp.exp(1j * xp.astype(xp.arange(d, dtype=xp.float64)[:, None] * g[None, :], xp.complex128))
                        for d, g in zip(dims, grids)]

    def power(self, u):
        xp = self.xp
        t = xp.reshape(u, (u.shape[0],) + self.dims + (u.shape[-1],))
        h = separable_power(t, self.factors, xp)
        return xp.reshape(h, (u.shape[0], -1))

    def initial(self, idx):
        ind = unravel(idx, tuple(g.shape[0] for g in self.grids), self.xp)
        return self.xp.stack([take_grid(g, i, self.xp) for g, i in zip(self.grids, ind)], axis=-1)

    def refine(self, theta, u, sign, *, tol: float = 1e-9):
        xp = self.xp
        return newton_refine(theta, self.model, u, xp, sign=sign,
                             step=[grid_step(g, xp) for g in self.grids],
                             lower=[float(xp.min(g)) for g in self.grids],
                             upper=[float(xp.max(g)) for g in self.grids], tol=tol)

    def atoms(self, theta):
        phi = self.model(theta)[0]
        return self.xp.matrix_transpose(self.xp.exp(1j * self.xp.astype(phi, self.xp.complex128)))


def _lstsq(a, y, xp):
    """Gains G = argmin ||Y - A G|| for A (B, P, k), Y (B, P, N), with a tiny ridge for safety."""
    g = ct(xp, a) @ a
    k = g.shape[-1]
    ridge = 1e-12 * a.shape[-2] * xp.eye(k, dtype=g.dtype)
    return xp.linalg.solve(g + ridge, ct(xp, a) @ y)


def omp(data: Array, *, n_sources: int, grid=None, geometry: ArrayGeometry | None = None,
        wavelength_m: float | None = None, elevation_rad: float = 0.0, snapshots: bool = False,
        refine: bool = True, n_cycles: int = 2) -> SparseEstimate:
    r"""(Simultaneous, Kronecker) orthogonal matching pursuit with Newton refinement.

    Parameters
    ----------
    data : array
        * 1-D dictionary (``grid`` an array or ``None``): snapshots (..., n_elements, n_snapshots)
          (use a trailing axis of length 1 for one snapshot);
        * Kronecker dictionary (``grid`` a sequence of R arrays): a tensor
          (..., M_1, ..., M_R) or, with ``snapshots=True``, (..., M_1, ..., M_R, n_snapshots).
    n_sources : int
        Number of atoms :math:`K \ge 1` (at most the number of samples).
    grid : array or sequence of arrays, optional
        1-D: azimuth grid [rad] with ``geometry`` (default 1801 points on
        :math:`[-\pi/2, \pi/2]`) or frequency grid :math:`\mu` [rad/sample] without (default 1024
        points on :math:`[-\pi, \pi)`). Sequence: one strictly monotonic frequency grid per tensor
        dimension. Grids must be strictly monotonic and non-empty.
    geometry : ArrayGeometry, optional
        Array for a 1-D azimuth dictionary (a ULA along y uses the fast Vandermonde path).
    wavelength_m : float, optional
        Required with ``geometry``.
    elevation_rad : float, default=0
        Elevation of the azimuth cut [rad].
    snapshots : bool, default=False
        Kronecker mode only: whether the last axis of ``data`` holds snapshots.
    refine : bool, default=True
        Newton refinement of every atom off the grid.
    n_cycles : int, default=2
        Cyclic re-refinement sweeps over all atoms after each new atom; after the last atom the
        sweeps continue (up to 30) until no parameter moves by more than 1e-12.

    Returns
    -------
    SparseEstimate
        ``estimates`` (..., K) for a 1-D dictionary, (..., K, R) for a Kronecker one, sorted by
        the first parameter; ``gains`` (..., K, n_snapshots); ``residual_norm`` (...).

    Raises
    ------
    ValueError
        NaN/inf data, empty or unsorted grids, ``n_sources`` larger than the number of samples.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import steering_vector, ula
    >>> from estimators import omp
    >>> g = ula(8, 0.5)
    >>> rng = np.random.default_rng(0)
    >>> x = steering_vector(g, np.array([-0.4, 0.3]), wavelength_m=1.0) @ np.array([[1.0], [0.7j]])
    >>> x = x + 0.02 * (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape))
    >>> est = omp(x, n_sources=2, geometry=g, wavelength_m=1.0, grid=np.linspace(-1.2, 1.2, 121))
    >>> np.round(est.estimates, 2), np.round(np.abs(est.gains[:, 0]), 1)
    (array([-0.4,  0.3]), array([1. , 0.7]))
    """
    check_bool(refine, "refine")
    check_bool(snapshots, "snapshots")
    n_cycles = check_int(n_cycles, "n_cycles", low=0)
    tensor_mode = isinstance(grid, (list, tuple))
    if tensor_mode:
        if geometry is not None:
            raise ValueError("`geometry` is for 1-D dictionaries; a Kronecker dictionary (grid sequence) "
                             "is built on frequency grids.")
        xp = get_xp(data, *grid)
        r_dims = len(grid)
        if r_dims < 1:
            raise ValueError("`grid` must hold at least one grid.")
        grids = [check_grid(g, f"grid[{i}]", xp) for i, g in enumerate(grid)]
        x = check_array(data, "data", min_ndim=r_dims + (1 if snapshots else 0),
                        kind=("real floating", "complex floating"), xp=xp)
        n_snap = x.shape[-1] if snapshots else 1
        dims = tuple(x.shape[x.ndim - r_dims - (1 if snapshots else 0): x.ndim - (1 if snapshots else 0)])
        out_real = real_dtype_for(xp, x.dtype)
        w = as_work(x, xp)
        batch = tuple(w.shape[: w.ndim - r_dims - (1 if snapshots else 0)])
        y = xp.reshape(w, (math.prod(batch), math.prod(dims), n_snap))
        dico = _TensorGrid(xp, grids, dims)
        params = tuple("frequency_rad" for _ in range(r_dims))
    else:
        xp = get_xp(data, grid)
        el0 = check_float(elevation_rad, "elevation_rad", low=-math.pi / 2, high=math.pi / 2)
        lam = optional_geometry(geometry, wavelength_m)
        x = check_array(data, "data", min_ndim=2, kind=("real floating", "complex floating"), xp=xp)
        m = x.shape[-2]
        if geometry is not None and m != geometry.n_elements:
            raise ValueError(f"`data` has {m} elements but `geometry` has {geometry.n_elements}.")
        if grid is None:
            grid = (xp.linspace(-math.pi / 2, math.pi / 2, 1801, dtype=xp.float64) if geometry is not None
                    else xp.linspace(-math.pi, math.pi, 1024, endpoint=False, dtype=xp.float64))
        g1 = check_grid(grid, "grid", xp)
        out_real = real_dtype_for(xp, x.dtype)
        y, batch = flatten_batch(as_work(x, xp), xp, 2)
        dico = LineGrid(xp, g1, geometry, lam, el0, m)
        params = (dico.parameter,)
        r_dims = 1
    n_samples = y.shape[-2]
    k = check_int(n_sources, "n_sources", low=1, high=n_samples, why=f"{n_samples} samples per snapshot")
    bsz = y.shape[0]
    theta = xp.zeros((bsz, 0, r_dims), dtype=xp.float64)
    residual = y
    a = gains = None
    taken = None
    for it in range(k):
        h = dico.power(residual)
        if taken is None:
            n_atoms = int(h.shape[-1])
            if n_atoms < k:
                raise ValueError(f"`n_sources` must be <= the {n_atoms} grid point(s) of the dictionary "
                                 f"(one atom per source); got {k}. Use a finer grid.")
            taken = xp.zeros(h.shape, dtype=xp.bool)
        # an atom is selected once: exclude earlier picks (the refined residual need not be exactly
        # orthogonal to their grid columns)
        h = xp.where(taken, xp.full(h.shape, -xp.inf, dtype=h.dtype), h)
        idx = xp.argmax(h, axis=-1)[:, None]
        taken = taken | (xp.arange(n_atoms)[None, :] == idx)
        t_new = dico.initial(idx)
        if t_new.ndim == 2:
            t_new = t_new[..., None]
        if refine:
            t_new = dico.refine(t_new, residual, -1.0)
        theta = xp.concat([theta, t_new], axis=1)
        a = dico.atoms(theta)
        gains = _lstsq(a, y, xp)
        residual = y - a @ gains
        if refine and it > 0:
            # a few sweeps after each new atom; after the last one, sweep until the atoms settle
            # (the final sweeps polish each atom to rounding: a Newton step of 1e-9 rad, the default
            # stop, leaves a residual of ~1e-8 on noiseless data of unit-power sources)
            last = it == k - 1
            for cycle in range(n_cycles if not last else max(n_cycles, _FINAL_SWEEPS)):
                before = theta
                for j in range(it + 1):
                    yj = residual + a[:, :, j:j + 1] @ gains[:, j:j + 1, :]
                    tj = dico.refine(theta[:, j:j + 1, :], yj, -1.0, tol=_FINAL_TOL if last else 1e-9)
                    theta = xp.concat([theta[:, :j, :], tj, theta[:, j + 1:, :]], axis=1)
                    a = dico.atoms(theta)
                    gains = _lstsq(a, y, xp)
                    residual = y - a @ gains
                if last and cycle + 1 >= n_cycles and float(xp.max(xp.abs(theta - before))) <= 1e-12:
                    break
    order = xp.argsort(theta[..., 0], axis=-1, stable=True)
    theta = xp.take_along_axis(theta, xp.broadcast_to(order[..., None], theta.shape), axis=1)
    gains = xp.take_along_axis(gains, xp.broadcast_to(order[..., None], gains.shape), axis=1)
    if tensor_mode:
        est = theta
    else:
        est, _, _ = dico.finish(theta)
    res_norm = xp.sqrt(xp.sum(xp.real(residual * xp.conj(residual)), axis=(-2, -1)))
    cplx = xp.complex64 if out_real == xp.float32 else xp.complex128
    return SparseEstimate(
        estimates=shape_back(xp.astype(est, out_real), batch, xp),
        parameters=params,
        n_sources=k,
        gains=shape_back(xp.astype(gains, cplx), batch, xp),
        residual_norm=xp.reshape(xp.astype(res_norm, out_real), batch),
    )

r"""The grid-search engine of the subspace estimators.

What MUSIC, root-MUSIC, ESPRIT, OMP, beamscan/Capon and the Cramér–Rao bounds share:

* **grids and geometry**: grid checks, the ULA test (:func:`ula_spacing`) and the optional
  ``geometry``/``wavelength_m`` pair;
* **spectrum evaluation without an** :math:`M\times G` **steering matrix**: for a ULA or a
  Vandermonde dimension, :math:`\mathbf a^H\mathbf C\mathbf a` is a trigonometric polynomial whose
  coefficients are the diagonal sums of :math:`\mathbf C = \mathbf E_s\mathbf E_s^H`
  (:func:`lowrank_diag_sums`, :func:`trig_poly`); arbitrary arrays use a fused steering kernel
  (:func:`array_power`); uniform planar arrays and N-D harmonic tensors use separable mode
  products (:func:`upa_power`, :func:`separable_power`);
* **peak finding** on 1-D to N-D grids (:func:`find_peaks`);
* **the signal subspace** with model-order selection and the coherence check
  (:func:`signal_subspace`);
* **Newton refinement** of grid peaks on :math:`\|\mathbf E_s^H\mathbf a(\boldsymbol\theta)\|^2`
  with analytic derivatives (:func:`newton_refine`, models :class:`HarmonicModel` and
  :class:`GeometryModel`);
* :class:`LineGrid`, the 1-D search that ties these together.

NumPy input runs the numba kernels of :mod:`estimators.subspace._kernels`; other namespaces
run chunked ``xp`` code (each kernel's twin).
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np

from sensing import (
    ArrayGeometry,
    asarray_like,
    check_array,
    check_choice,
    check_float,
    is_numpy_namespace,
)

from ._covariance import (
    check_n_sources,
    check_subspace_support,
    ct,
    dominant_subspace,
    order_for_batch,
)
from ._kernels import (
    array_power_kernel,
    lattice_power_kernel,
    newton_geometry_kernel,
    newton_trig_kernel,
    top_peaks_kernel,
    trig_poly_kernel,
    upa_power_kernel,
)
from ._results import SubspaceWarning

_CHUNK = 1 << 22  # complex elements per temporary in the chunked xp paths (64 MiB)


_METHODS = ("auto", "eigh", "iterative")


def check_grid(grid, name: str, xp):
    """A non-empty, strictly monotonic, finite 1-D real grid in namespace ``xp`` (float64)."""
    g = check_array(grid, name, ndim=1, kind=("real floating", "integral"), xp=xp)
    if g.shape[0] < 1:
        raise ValueError(f"`{name}` must hold at least one grid point; got an empty grid.")
    g = xp.astype(g, xp.float64)
    if g.shape[0] > 1:
        d = g[1:] - g[:-1]
        if not (bool(xp.all(d > 0)) or bool(xp.all(d < 0))):
            raise ValueError(f"`{name}` must be strictly monotonic (sorted, no repeated points); "
                             "got an unsorted grid. Sort it first (e.g. numpy.sort / numpy.unique).")
    return g


def grid_step(g, xp) -> float:
    """Largest spacing between neighbouring grid points (0 for a single point)."""
    if g.shape[0] < 2:
        return 0.0
    return float(xp.max(xp.abs(g[1:] - g[:-1])))


def ula_spacing(geometry: ArrayGeometry) -> float | None:
    """Spacing d when the array is a ULA along +y with element m at y = m d, else None."""
    p = geometry.positions_m
    if p.shape[0] < 2:
        return None
    d = p[1, 1] - p[0, 1]
    if d <= 0:
        return None
    ideal = np.zeros_like(p)
    ideal[:, 1] = d * np.arange(p.shape[0])
    return float(d) if np.allclose(p, ideal, rtol=1e-9, atol=1e-12 * max(d, 1e-300)) else None


def optional_geometry(geometry, wavelength_m):
    """Wavelength for an optional ``geometry`` (None without one; ``wavelength_m`` is then refused)."""
    if geometry is None:
        if wavelength_m is not None:
            raise ValueError("`wavelength_m` is used only with `geometry` (to map frequencies to angles); "
                             f"got wavelength_m={wavelength_m!r} and geometry=None.")
        return None
    return check_geometry(geometry, wavelength_m)


def check_geometry(geometry, wavelength_m):
    if not isinstance(geometry, ArrayGeometry):
        raise TypeError(f"`geometry` must be a sensing.ArrayGeometry (sensing.ula/upa/custom_array); "
                        f"got {type(geometry).__name__}.")
    return check_float(wavelength_m, "wavelength_m", low=0.0, low_inclusive=False)


def diag_sums(c, xp):
    """Diagonal sums c_l = sum_i C[i, i+l], l = 0..M-1, of a batch of matrices (B, M, M)."""
    bsz, m = c.shape[0], c.shape[-1]
    i = np.arange(m)
    lag = np.arange(m)
    mask = (i[None, :] + lag[:, None]) < m
    idx = np.where(mask, i[None, :] * (m + 1) + lag[:, None], 0).reshape(-1)
    flat = xp.reshape(c, (bsz, m * m))
    vals = xp.reshape(xp.take(flat, asarray_like(idx, xp, dtype=xp.int64), axis=1), (bsz, m, m))
    maskx = asarray_like(mask, xp, dtype=c.dtype)
    return xp.sum(vals * maskx, axis=-1)


def lowrank_diag_sums(u, xp):
    """Diagonal sums of C = U U^H from U (B, M, r) by FFT autocorrelation (no M x M matrix).

    c_l = sum_k sum_i U[i, k] conj(U[i+l, k]) = conj(ifft(sum_k |fft(U_k, n)|^2))[l], n >= 2M - 1.
    """
    m = u.shape[-2]
    n = 1 << (2 * m - 1).bit_length()
    f = xp.fft.fft(u, n=n, axis=-2)                                   # (B, n, r)
    p = xp.sum(xp.real(f * xp.conj(f)), axis=-1)                      # (B, n)
    s = xp.fft.ifft(xp.astype(p, xp.complex128), axis=-1)[:, :m]
    return xp.conj(s)


def trig_poly(c, mu, xp):
    """q(mu) = c_0 + 2 Re sum_l c_l e^{j l mu} for c (B, M) on mu (G,) -> (B, G) float64."""
    bsz, m = c.shape
    n_g = mu.shape[0]
    if is_numpy_namespace(xp):
        out = np.empty((bsz, n_g), dtype=np.float64)
        trig_poly_kernel(np.ascontiguousarray(c, dtype=np.complex128),
                         np.ascontiguousarray(mu, dtype=np.float64), out)
        return out
    lags = xp.astype(xp.arange(1, m, dtype=xp.float64), xp.complex128)
    step = max(1, _CHUNK // max(m, 1))
    parts = []
    for lo in range(0, n_g, step):
        mu_c = xp.astype(mu[lo:min(lo + step, n_g)], xp.complex128)
        e = xp.exp(1j * (mu_c[:, None] * lags[None, :]))          # (Gc, M-1)
        parts.append(xp.real(c[:, :1]) + 2.0 * xp.real(c[:, 1:] @ xp.matrix_transpose(e)))
    return xp.concat(parts, axis=-1)


def array_power(u, pos_k, dirs, xp):
    """h[b, g] = sum_k |a(u_g)^H U[b, :, k]|^2 for an arbitrary array (B, M, r) -> (B, G)."""
    bsz = u.shape[0]
    n_g = dirs.shape[0]
    if is_numpy_namespace(xp):
        out = np.empty((bsz, n_g), dtype=np.float64)
        array_power_kernel(np.ascontiguousarray(u, dtype=np.complex128), np.ascontiguousarray(pos_k),
                           np.ascontiguousarray(dirs, dtype=np.float64), out)
        return out
    m = u.shape[-2]
    step = max(1, _CHUNK // max(m, 1))
    posx = asarray_like(pos_k, xp, dtype=xp.float64)
    parts = []
    for lo in range(0, n_g, step):
        ph = xp.astype(dirs[lo:min(lo + step, n_g)] @ xp.matrix_transpose(posx), xp.complex128)   # (Gc, M)
        g = xp.exp(-1j * ph) @ u                                                        # (B, Gc, r)
        parts.append(xp.sum(xp.real(g * xp.conj(g)), axis=-1))
    return xp.concat(parts, axis=-1)


def lattice_coordinates(positions, rtol: float = 1e-9):
    r"""Whether the elements lie on a complete rectangular-index lattice in some plane.

    Positions (M, 3) [any unit] equal to :math:`\mathbf p_0 + i\,\mathbf v_1 + j\,\mathbf v_2`,
    :math:`i < n_1`, :math:`j < n_2`, every lattice point once (any orientation of the plane,
    any element order, also oblique lattices). The steps are the two successive minima of the
    differences to the first element (the shortest one, then the shortest one not parallel to
    it; in 2-D these form a basis of the lattice they generate), checked by exact integer
    reconstruction. Returns ``(order, n1, n2, v1, v2)`` with ``order[m] = i_m * n2 + j_m``, or
    ``None`` (not planar, not a lattice, incomplete, or fewer than 2 points per direction).
    """
    pos = np.asarray(positions, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 3 or pos.shape[0] < 4:
        return None
    d = pos - pos[0]
    scale = float(np.max(np.linalg.norm(d, axis=1)))
    if scale == 0.0:
        return None
    tol = rtol * scale
    nrm = np.linalg.norm(d, axis=1)
    cand = np.flatnonzero(nrm > tol)
    v1 = d[cand[np.argmin(nrm[cand])]]
    perp = np.linalg.norm(np.cross(d, v1), axis=1) / np.linalg.norm(v1)
    cand2 = np.flatnonzero(perp > tol)
    if cand2.size == 0:
        return None
    v2 = d[cand2[np.argmin(nrm[cand2])]]
    basis = np.stack([v1, v2], axis=1)                                     # (3, 2)
    coef, *_ = np.linalg.lstsq(basis, d.T, rcond=None)                     # (2, M)
    ij = np.rint(coef)
    if np.max(np.abs(basis @ ij - d.T)) > tol:
        return None
    ij = (ij - ij.min(axis=1, keepdims=True)).astype(np.int64)
    n1, n2 = int(ij[0].max()) + 1, int(ij[1].max()) + 1
    order = ij[0] * n2 + ij[1]
    if n1 < 2 or n2 < 2 or n1 * n2 != pos.shape[0] or np.unique(order).size != order.size:
        return None
    return order, n1, n2, v1, v2


def lattice_power(u, lattice, k_wave, az, el, xp, *, use_kernel: bool = True):
    r"""Separable az/el power of a lattice array (:func:`lattice_coordinates`) -> (B, G_az, G_el).

    With :math:`\mathbf a_m = e^{jk\mathbf p_m\cdot\mathbf d}` and
    :math:`\mathbf p_m = \mathbf p_0 + i\mathbf v_1 + j\mathbf v_2`, :math:`\mathbf a = e^{jk\mathbf p_0\cdot\mathbf d}
    \,\mathbf a_1(\alpha)\otimes\mathbf a_2(\beta)`, :math:`\alpha = k\mathbf v_1\cdot\mathbf d`,
    :math:`\beta = k\mathbf v_2\cdot\mathbf d`; the common phase drops out of the power.
    NumPy input (with ``use_kernel``) runs
    :func:`~estimators.subspace._kernels.lattice_power_kernel`: two exponentials per grid point
    and a nested Horner over the two lattice indices. Other namespaces (and ``use_kernel=False``,
    the kernel's twin) take :math:`n_1 + n_2` exponentials per point and contract the second
    lattice index by one matrix product for all points of a chunk.
    """
    order, n1, n2, v1, v2 = lattice
    bsz, m, r = u.shape
    inv = np.argsort(order)
    if use_kernel and is_numpy_namespace(xp):
        ul = np.ascontiguousarray(np.reshape(np.take(np.asarray(u, dtype=np.complex128), inv, axis=1),
                                             (bsz, n1, n2, r)))
        ce, se = np.cos(el), np.sin(el)
        ca, sa = np.cos(az), np.sin(az)
        alpha = np.ascontiguousarray(k_wave * (ce[:, None] * (float(v1[0]) * ca + float(v1[1]) * sa)[None, :]
                                               + (float(v1[2]) * se)[:, None]))             # (G_el, G_az)
        beta = np.ascontiguousarray(k_wave * (ce[:, None] * (float(v2[0]) * ca + float(v2[1]) * sa)[None, :]
                                              + (float(v2[2]) * se)[:, None]))
        if max(float(np.max(np.abs(alpha), initial=0.0)), float(np.max(np.abs(beta), initial=0.0))) < 1e5:
            out = np.empty((bsz, az.shape[0], el.shape[0]))
            lattice_power_kernel(ul, alpha, beta, out)
            return out
    ul = xp.take(u, asarray_like(inv, xp, dtype=xp.int64), axis=1)          # lattice order i * n2 + j
    ut = xp.reshape(xp.moveaxis(xp.reshape(ul, (bsz, n1, n2, r)), 2, 0), (n2, bsz * n1 * r))
    g_az, g_el = az.shape[0], el.shape[0]
    aa = xp.reshape(xp.broadcast_to(az[:, None], (g_az, g_el)), (-1,))
    ee = xp.reshape(xp.broadcast_to(el[None, :], (g_az, g_el)), (-1,))
    dx, dy, dz = xp.cos(ee) * xp.cos(aa), xp.cos(ee) * xp.sin(aa), xp.sin(ee)
    alpha = k_wave * (float(v1[0]) * dx + float(v1[1]) * dy + float(v1[2]) * dz)
    beta = k_wave * (float(v2[0]) * dx + float(v2[1]) * dy + float(v2[2]) * dz)
    i1 = xp.astype(xp.arange(n1, dtype=xp.float64), xp.complex128)
    i2 = xp.astype(xp.arange(n2, dtype=xp.float64), xp.complex128)
    n_g = g_az * g_el
    step = max(1, _CHUNK // max(bsz * n1 * r, n2, 1))
    parts = []
    for lo in range(0, n_g, step):
        hi = min(lo + step, n_g)
        e2 = xp.exp(-1j * (xp.astype(beta[lo:hi], xp.complex128)[:, None] * i2[None, :]))    # (Gc, n2)
        w = xp.reshape(e2 @ ut, (hi - lo, bsz, n1, r))
        e1 = xp.exp(-1j * (xp.astype(alpha[lo:hi], xp.complex128)[:, None] * i1[None, :]))   # (Gc, n1)
        g = xp.sum(e1[:, None, :, None] * w, axis=2)                                        # (Gc, B, r)
        parts.append(xp.sum(xp.real(g * xp.conj(g)), axis=-1))
    h = xp.concat(parts, axis=0) if len(parts) > 1 else parts[0]                            # (G, B)
    return xp.reshape(xp.matrix_transpose(h), (bsz, g_az, g_el))


def separable_power(u, factors, xp):
    """h = sum_k |(A_1 (x) ... (x) A_R)^H u_k|^2 on the product grid, by mode products.

    u: (B, M_1, ..., M_R, r) complex; factors: list of (M_r, G_r) steering factors.
    Returns (B, G_1, ..., G_R) float64. Chunked over the first grid dimension.
    """
    bsz = u.shape[0]
    r_dims = len(factors)
    sizes = [f.shape[1] for f in factors]
    dims = [f.shape[0] for f in factors]
    # largest intermediate per first-grid point: (B, G_2..G_s, M_{s+1}..M_R, r) over the stages
    per_g1 = bsz * u.shape[-1] * max(math.prod(sizes[1:s]) * math.prod(dims[s:]) for s in range(1, r_dims + 1))
    step = max(1, _CHUNK // max(per_g1, 1))
    parts = []
    for lo in range(0, sizes[0], step):
        t = u
        for r in range(r_dims):
            fac = factors[0][:, lo:min(lo + step, sizes[0])] if r == 0 else factors[r]
            t = xp.moveaxis(t, r + 1, -1)                     # (..., M_r)
            t = t @ xp.conj(fac)                             # (..., G_r)
            t = xp.moveaxis(t, -1, r + 1)
        parts.append(xp.sum(xp.real(t * xp.conj(t)), axis=-1))
    return xp.concat(parts, axis=1) if len(parts) > 1 else parts[0]


def upa_power(u, nr, nc, kdr, kdc, az, el, xp):
    """Separable az/el power of a UPA in the yz plane (element m = row*nc + col).

    a = a_row(el) (x) a_col(az, el), a_row[r] = exp(j kdr r sin el),
    a_col[c] = exp(j kdc c cos el sin az). Returns (B, G_az, G_el) float64.
    """
    bsz, r = u.shape[0], u.shape[-1]
    ut = xp.reshape(u, (bsz, nr, nc * r))
    if is_numpy_namespace(xp):             # fused kernel: one exp per grid point, Horner over columns
        rows_np = np.arange(nr)
        ar = np.exp(-1j * kdr * np.sin(el)[:, None] * rows_np[None, :])                   # (Ge, nr)
        w = np.ascontiguousarray(np.reshape(ar @ ut, (bsz, el.shape[0], nc, r)))           # (B, Ge, nc, r)
        mu_col = np.ascontiguousarray(kdc * np.cos(el)[:, None] * np.sin(az)[None, :])
        out = np.empty((bsz, az.shape[0], el.shape[0]))
        upa_power_kernel(w, mu_col, out)
        return out
    rows = xp.astype(xp.arange(nr, dtype=xp.float64), xp.complex128)
    cols = xp.astype(xp.arange(nc, dtype=xp.float64), xp.complex128)
    g_el, g_az = el.shape[0], az.shape[0]
    step = max(1, _CHUNK // max(bsz * g_az * max(nc, r), 1))
    parts = []
    for lo in range(0, g_el, step):
        el_c = el[lo:min(lo + step, g_el)]
        ar = xp.exp(-1j * (xp.astype(kdr * xp.sin(el_c), xp.complex128)[:, None] * rows[None, :]))  # conj, (Ge, nr)
        w = xp.reshape(ar @ ut, (bsz, el_c.shape[0], nc, r))                                        # (B, Ge, nc, r)
        mu_c = kdc * (xp.cos(el_c)[:, None] * xp.sin(az)[None, :])                                 # (Ge, Ga)
        ac = xp.exp(-1j * (xp.astype(mu_c, xp.complex128)[:, :, None] * cols[None, None, :]))     # (Ge, Ga, nc)
        g = ac @ w                                                                                  # (B, Ge, Ga, r)
        parts.append(xp.sum(xp.real(g * xp.conj(g)), axis=-1))
    p = xp.concat(parts, axis=1) if len(parts) > 1 else parts[0]                                   # (B, Ge, Ga)
    return xp.moveaxis(p, 1, 2)


_BOUNDARIES = {"open": 0, "interior": 1, "circular": 2}


def find_peaks(spec, k: int, xp, *, use_kernel: bool = True, boundary=None, return_counts: bool = False):
    """Flat indices (B, k) of the k largest local maxima of spec (B, G_1, ..., G_R).

    Plateaus count once (the first point). ``boundary`` gives per grid dimension (a sequence of R
    names, or one name for all; default ``"open"``) what lies beyond its ends:

    * ``"open"``: nothing (:math:`-\\infty`), so an end point that is not below its one inner
      neighbour is a maximum -- the N-D searches, where a corner of a sub-grid may hold a source;
    * ``"interior"``: an end point is never a local maximum (it has a neighbour on one side only;
      on an azimuth grid ending at :math:`\\pm 90^\\circ` the spectrum of a ULA is always
      stationary there, :math:`d\\sin\\theta/d\\theta = 0`, without a source);
    * ``"circular"``: the grid is one full period (e.g. :math:`\\mu \\in [-\\pi, \\pi)`) and the
      neighbours wrap around.

    Dimensions with fewer than 3 points are always ``"open"``. When there are fewer than k local
    maxima the remaining indices are the largest other grid points (and a :class:`SubspaceWarning`
    says so). ``return_counts=True`` also returns the number of local maxima per problem (B,).
    NumPy input runs :func:`~estimators.subspace._kernels.top_peaks_kernel` first (this vectorised
    form is its twin, and takes over when some problem has fewer than k local maxima).
    """
    bsz = spec.shape[0]
    gshape = tuple(spec.shape[1:])
    r_dims = len(gshape)
    if k > math.prod(gshape):
        raise ValueError(f"`n_sources` must be an integer in [1, {math.prod(gshape)}] (one peak per source on "
                         f"the search grid of {math.prod(gshape)} point(s)); got {k}. Use a finer grid.")
    if boundary is None or isinstance(boundary, str):
        boundary = (boundary or "open",) * r_dims
    if len(boundary) != r_dims:
        raise ValueError(f"`boundary` needs one entry per grid dimension ({r_dims}); got {len(boundary)}.")
    for b_ in boundary:
        check_choice(b_, "boundary", tuple(_BOUNDARIES))
    modes = [(_BOUNDARIES[b_] if n >= 3 else 0) for b_, n in zip(boundary, gshape)]
    if use_kernel and is_numpy_namespace(xp) and k > 0 and bsz > 0:
        offs = [o for o in itertools.product((-1, 0, 1), repeat=r_dims) if any(o)]
        strides = [math.prod(gshape[r + 1:]) for r in range(r_dims)]
        out = np.zeros((bsz, k), dtype=np.int64)
        counts = np.zeros(bsz, dtype=np.int64)
        top_peaks_kernel(np.ascontiguousarray(np.reshape(spec, (bsz, -1)), dtype=np.float64),
                         np.asarray(gshape, dtype=np.int64), np.asarray(offs, dtype=np.int64),
                         np.asarray([sum(o * st for o, st in zip(off, strides)) for off in offs], dtype=np.int64),
                         np.asarray([off < (0,) * r_dims for off in offs], dtype=np.bool_),
                         np.asarray(modes, dtype=np.int64), np.asarray(strides, dtype=np.int64), k, out, counts)
        if bool(np.all(counts >= k)):
            return (out, counts) if return_counts else out
    pad = spec
    for ax in range(1, r_dims + 1):
        shp = list(pad.shape)
        shp[ax] = 1
        if modes[ax - 1] == 2:
            n_ax = pad.shape[ax]
            first = pad[(slice(None),) * ax + (slice(0, 1),)]
            last = pad[(slice(None),) * ax + (slice(n_ax - 1, n_ax),)]
            pad = xp.concat([last, pad, first], axis=ax)
        else:
            slab = xp.full(tuple(shp), -xp.inf, dtype=spec.dtype)
            pad = xp.concat([slab, pad, slab], axis=ax)
    is_peak = xp.ones(spec.shape, dtype=xp.bool)
    for off in itertools.product((-1, 0, 1), repeat=r_dims):
        if all(o == 0 for o in off):
            continue
        sl = (slice(None),) + tuple(slice(1 + o, 1 + o + n) for o, n in zip(off, gshape))
        nb = pad[sl]
        earlier = off < tuple([0] * r_dims)
        is_peak = is_peak & ((spec > nb) if earlier else (spec >= nb))
    for r, mode in enumerate(modes):
        if mode == 1:
            ends = np.ones(gshape[r], dtype=bool)
            ends[1:-1] = False
            shp = [1] * (r_dims + 1)
            shp[r + 1] = gshape[r]
            is_peak = is_peak & ~xp.reshape(asarray_like(ends, xp, dtype=xp.bool), tuple(shp))
    flat = xp.reshape(spec, (bsz, -1))
    pk = xp.reshape(is_peak, (bsz, -1))
    counts = xp.sum(xp.astype(pk, xp.int64), axis=-1)
    n_short = int(xp.sum(xp.astype(counts < k, xp.int64)))
    if n_short:
        warnings.warn(f"the spectrum has fewer than n_sources = {k} local maxima in {n_short} of {bsz} "
                      "problem(s): the extra estimates are the largest non-peak grid points and may repeat "
                      "a resolved source (unresolved sources, or `n_sources` too large).",
                      SubspaceWarning, stacklevel=4)
    span = xp.max(flat, axis=-1, keepdims=True) - xp.min(flat, axis=-1, keepdims=True) + 1.0
    score = xp.where(pk, flat, flat - span)
    if is_numpy_namespace(xp) and 0 < k < score.shape[-1]:
        part = np.argpartition(-score, k - 1, axis=-1)[:, :k]          # O(G) instead of a sort
        sub = np.take_along_axis(score, part, axis=-1)
        idx = np.take_along_axis(part, np.argsort(-sub, axis=-1, kind="stable"), axis=-1)
    else:
        idx = xp.argsort(score, axis=-1, descending=True, stable=True)[:, :k]
    return (idx, counts) if return_counts else idx


def grid_boundary(grid, xp) -> str:
    """``"circular"`` for a uniform grid of one full period (G steps of 2 pi / G), else ``"interior"``."""
    n = grid.shape[0]
    if n < 3:
        return "open"
    d = grid[1:] - grid[:-1]
    step = float(xp.mean(d))
    uniform = float(xp.max(xp.abs(d - step))) <= 1e-9 * abs(step)
    return "circular" if uniform and abs(abs(step) * n - 2 * math.pi) <= 1e-9 * 2 * math.pi else "interior"


def unravel(flat_idx, gshape, xp):
    """(B, k) flat indices -> list of R index arrays (B, k)."""
    out = []
    for r in range(len(gshape)):
        stride = math.prod(gshape[r + 1:])
        out.append((flat_idx // stride) % gshape[r])
    return out


def take_grid(grid, idx, xp):
    """grid (G,), idx (B, k) -> (B, k) values."""
    return xp.reshape(xp.take(grid, xp.reshape(idx, (-1,)), axis=0), idx.shape)


class HarmonicModel:
    """a = a_1(mu_1) (x) ... (x) a_R(mu_R) (C order): phase sum_r mu_r i_r."""

    def __init__(self, dims, xp):
        grids = np.meshgrid(*[np.arange(d, dtype=np.float64) for d in dims], indexing="ij")
        self.idx = asarray_like(np.stack([g.reshape(-1) for g in grids]), xp, dtype=xp.float64)  # (R, M)
        self.xp = xp

    def __call__(self, theta):
        xp = self.xp
        phi = theta @ self.idx                                     # (B, K, M)
        d1 = xp.broadcast_to(self.idx, theta.shape[:2] + tuple(self.idx.shape))
        return phi, d1, None


class GeometryModel:
    """a_m = exp(j k p_m . u(az, el)); theta = [az] (fixed elevation) or [az, el]."""

    def __init__(self, geometry, wavelength_m, xp, *, elevation=None):
        self.pos = asarray_like(geometry.positions_m * (2 * math.pi / wavelength_m), xp, dtype=xp.float64)
        self.el = elevation
        self.xp = xp

    def __call__(self, theta):
        xp = self.xp
        az = theta[..., 0]
        el = theta[..., 1] if self.el is None else xp.full(az.shape, self.el, dtype=az.dtype)
        ca, sa, ce, se = xp.cos(az), xp.sin(az), xp.cos(el), xp.sin(el)
        z = xp.zeros_like(az)
        u = xp.stack([ce * ca, ce * sa, se], axis=-1)
        pt = xp.matrix_transpose(self.pos)                              # (3, M)
        phi = u @ pt
        u_az = xp.stack([-ce * sa, ce * ca, z], axis=-1)
        u_azaz = xp.stack([-ce * ca, -ce * sa, z], axis=-1)
        if self.el is not None:
            d1 = (u_az @ pt)[:, :, None, :]
            d2 = (u_azaz @ pt)[:, :, None, None, :]
            return phi, d1, d2
        u_el = xp.stack([-se * ca, -se * sa, ce], axis=-1)
        u_azel = xp.stack([se * sa, -se * ca, z], axis=-1)
        u_elel = xp.stack([-ce * ca, -ce * sa, -se], axis=-1)
        p_az, p_el = u_az @ pt, u_el @ pt
        p_azaz, p_azel, p_elel = u_azaz @ pt, u_azel @ pt, u_elel @ pt
        d1 = xp.stack([p_az, p_el], axis=2)
        d2 = xp.stack([xp.stack([p_azaz, p_azel], axis=2), xp.stack([p_azel, p_elel], axis=2)], axis=2)
        return phi, d1, d2


def _quad(theta, model, uc, sign, xp, derivs):
    """sign * ||U^H a(theta)||^2 (and its gradient and Hessian) for theta (B, K, R)."""
    phi, d1, d2 = model(theta)
    a = xp.exp(1j * xp.astype(phi, xp.complex128))                   # (B, K, M)
    g = a @ uc                                                        # (B, K, r)
    h = xp.sum(xp.real(g * xp.conj(g)), axis=-1)
    if not derivs:
        return sign * h
    d1c = xp.astype(d1, xp.complex128)
    da = 1j * d1c * a[:, :, None, :]                                  # (B, K, R, M)
    g1 = da @ uc[:, None, :, :]                                       # (B, K, R, r)
    second = -(d1c[:, :, :, None, :] * d1c[:, :, None, :, :])
    if d2 is not None:
        second = second + 1j * xp.astype(d2, xp.complex128)
    d2a = second * a[:, :, None, None, :]                             # (B, K, R, R, M)
    g2 = d2a @ uc[:, None, None, :, :]                                # (B, K, R, R, r)
    grad = 2.0 * xp.sum(xp.real(xp.conj(g)[:, :, None, :] * g1), axis=-1)
    t1 = g1 @ ct(xp, g1)                                              # (B, K, R, R)
    t2 = xp.sum(xp.conj(g)[:, :, None, None, :] * g2, axis=-1)
    hess = 2.0 * xp.real(t1 + t2)
    return sign * h, sign * grad, sign * hess


def newton_refine(theta, model, u, xp, *, sign: float, step, lower, upper, n_iter: int = 8,
                  tol: float = 1e-9, use_kernel: bool = True, diag_sums=None):
    r"""Minimise sign * ||U^H a(theta)||^2 from theta (B, K, R) by safeguarded Newton steps.

    Steps are clipped to ``step`` (per parameter, the grid spacing), taken only where the Hessian
    is positive definite, and halved up to three times until the objective does not increase.
    For NumPy input, an array-geometry model and a narrow subspace (<= 16 columns; wider ones are
    faster through BLAS) the numba kernel
    :func:`~estimators.subspace._kernels.newton_geometry_kernel` runs the same iteration per
    source (this vectorised form is its twin; the kernel removes the per-iteration Python
    overhead). A one-dimensional Vandermonde model runs
    :func:`~estimators.subspace._kernels.newton_trig_kernel` on the diagonal sums of
    :math:`\mathbf U\mathbf U^H` (``diag_sums``, computed from ``u`` when not given): O(M) per
    evaluation instead of O(M r), and no Python loop.
    """
    if theta.shape[1] == 0 or theta.shape[0] == 0:
        return theta
    if (use_kernel and is_numpy_namespace(xp) and isinstance(model, HarmonicModel)
            and model.idx.shape[0] == 1):
        c = lowrank_diag_sums(u, xp) if diag_sums is None else diag_sums
        out = newton_trig_kernel(np.ascontiguousarray(theta[..., 0], dtype=np.float64),
                                 np.ascontiguousarray(c, dtype=np.complex128), float(sign),
                                 float(np.asarray(step, dtype=np.float64).reshape(-1)[0]),
                                 float(np.asarray(lower, dtype=np.float64).reshape(-1)[0]),
                                 float(np.asarray(upper, dtype=np.float64).reshape(-1)[0]), int(n_iter), float(tol))
        return out[..., None]
    if use_kernel and is_numpy_namespace(xp) and isinstance(model, GeometryModel) and u.shape[-1] <= 16:
        return newton_geometry_kernel(
            np.ascontiguousarray(theta, dtype=np.float64), 0.0 if model.el is None else float(model.el),
            np.ascontiguousarray(model.pos), np.ascontiguousarray(np.conj(u)), float(sign),
            np.asarray(step, dtype=np.float64).reshape(-1), np.asarray(lower, dtype=np.float64).reshape(-1),
            np.asarray(upper, dtype=np.float64).reshape(-1), int(n_iter), float(tol))
    uc = xp.conj(u)
    stepx = asarray_like(np.asarray(step, dtype=np.float64), xp, dtype=xp.float64)
    lo = asarray_like(np.asarray(lower, dtype=np.float64), xp, dtype=xp.float64)
    hi = asarray_like(np.asarray(upper, dtype=np.float64), xp, dtype=xp.float64)
    for _ in range(n_iter):
        f0, grad, hess = _quad(theta, model, uc, sign, xp, True)
        r_dims = theta.shape[-1]
        if r_dims == 1:
            hd = hess[..., 0, 0]
            pd = hd > 0
            delta = -(grad[..., 0] / xp.where(pd, hd, xp.ones_like(hd)))[..., None]
        else:
            eye = xp.eye(r_dims, dtype=xp.float64)
            pd = xp.min(xp.linalg.eigvalsh(hess), axis=-1) > 0
            safe = xp.where(pd[..., None, None], hess, eye + xp.zeros_like(hess))
            delta = xp.linalg.solve(safe, grad[..., None])[..., 0] * -1.0
        delta = xp.where(pd[..., None], delta, xp.zeros_like(delta))
        delta = xp.clip(delta, -stepx, stepx)
        accepted = xp.zeros_like(delta)
        pending = xp.ones(f0.shape, dtype=xp.bool)
        for _half in range(4):
            cand = xp.clip(theta + delta, lo, hi)
            f1 = _quad(cand, model, uc, sign, xp, False)
            ok = pending & (f1 <= f0)
            accepted = xp.where(ok[..., None], cand - theta, accepted)
            pending = pending & ~ok
            if not bool(xp.any(pending)):
                break
            delta = 0.5 * delta
        theta = theta + accepted
        if float(xp.max(xp.abs(accepted))) <= tol:   # quadratic convergence: done
            break
    return theta


def signal_subspace(prep, n_sources, subspace_method):
    """Order selection (if needed), the leading eigenvectors and the coherence warning."""
    xp = prep.xp
    check_choice(subspace_method, "subspace_method", _METHODS)
    if n_sources is None:
        if prep.n_cols is None:
            raise ValueError("`n_sources`=None (MDL) needs snapshots; with covariance=True pass `n_sources`.")
        vecs_all, vals, _ = dominant_subspace(xp, prep.m - 1, data=prep.data, method="eigh")
        k = order_for_batch(xp, vals, prep.n_cols)
        if k == 0:
            raise ValueError("MDL detected no source above the noise (K = 0); pass `n_sources` to force an estimate.")
        k = check_n_sources(k, prep.m, prep.n_cols)
        u = vecs_all[..., :k]
        noise = xp.sum(vals[..., k:], axis=-1) / max(prep.m - k, 1)
    else:
        k = check_n_sources(n_sources, prep.m, prep.n_cols)
        u, vals, noise = dominant_subspace(xp, k, data=prep.data, cov=prep.cov, method=subspace_method)
    check_subspace_support(xp, vals, noise, k, n_elements=prep.m, n_columns=prep.n_cols)
    return k, u, vals


def shape_back(x, batch, xp):
    return xp.reshape(x, batch + tuple(x.shape[1:]))


class LineGrid:
    r"""A 1-D search: grid power evaluation, Newton model and mapping back to the parameter.

    ``geometry=None``: Vandermonde dimension of ``m`` samples, grid in :math:`\mu`; a ULA along
    y: the grid is azimuth, searched as :math:`\mu = kd\cos\vartheta_0\sin\phi`; any other
    array: azimuth at elevation ``el0`` with the fused steering kernel.
    """

    def __init__(self, xp, grid, geometry, lam, el0, m):
        self.xp, self.grid, self.geometry = xp, grid, geometry
        self._sums = (None, None)        # (subspace, its diagonal sums) of the last Vandermonde power()
        d_ula = None if geometry is None else ula_spacing(geometry)
        self.harmonic = geometry is None or d_ula is not None
        if self.harmonic:
            self.scale = 1.0 if geometry is None else 2 * math.pi * d_ula / lam * math.cos(el0)
            self.search = grid if geometry is None else self.scale * xp.sin(grid)
            self.model = HarmonicModel((m,), xp)
        else:
            self.pos_k = geometry.positions_m * (2 * math.pi / lam)
            self.dirs = xp.stack([math.cos(el0) * xp.cos(grid), math.cos(el0) * xp.sin(grid),
                                  xp.full(grid.shape, math.sin(el0), dtype=xp.float64)], axis=-1)
            self.search = grid
            self.model = GeometryModel(geometry, lam, xp, elevation=el0)
        # a full-period grid (mu in [-pi, pi), or azimuth all round) wraps; any other 1-D grid has
        # end points that are not local maxima (+-90 deg of a ULA is always stationary)
        self.boundary = grid_boundary(grid, xp)

    def power(self, u):
        """sum_k |a(theta_g)^H u[:, :, k]|^2 on the grid, (B, G) float64."""
        if self.harmonic:
            c = lowrank_diag_sums(u, self.xp)
            self._sums = (u, c)                                 # reused by refine() on the same u
            return trig_poly(c, self.search, self.xp)
        return array_power(u, self.pos_k, self.dirs, self.xp)

    def peaks(self, spec, k):
        """Grid indices (B, k) of the k largest local maxima and the number of maxima (B,)."""
        return find_peaks(spec, k, self.xp, boundary=self.boundary, return_counts=True)

    def initial(self, idx):
        return take_grid(self.search, idx, self.xp)[..., None]

    def refine(self, theta, u, sign, *, tol: float = 1e-9):
        if self.search.shape[0] < 2:
            return theta
        xp = self.xp
        step = grid_step(self.search, xp)
        lo, hi = float(xp.min(self.search)), float(xp.max(self.search))
        wrap = self.boundary == "circular" and self.search is self.grid
        if wrap:                      # a peak at the seam may move across it: refine, then wrap back
            lo, hi = lo - step, hi + step
        out = newton_refine(theta, self.model, u, xp, sign=sign, step=[step], lower=[lo], upper=[hi],
                            tol=tol, diag_sums=self._sums[1] if self._sums[0] is u else None)
        if wrap:
            g0 = float(xp.min(self.search))
            out = g0 + xp.remainder(out - g0, 2 * math.pi)
        return out

    def atoms(self, theta):
        """Steering vectors (B, M, K) of the parameters theta (B, K, 1)."""
        phi = self.model(theta)[0]
        return self.xp.matrix_transpose(self.xp.exp(1j * self.xp.astype(phi, self.xp.complex128)))

    def finish(self, theta):
        """theta (B, K, 1) -> (estimates sorted, frequencies or None, order used)."""
        xp = self.xp
        t = theta[..., 0]
        order = xp.argsort(t, axis=-1, stable=True)
        t = xp.take_along_axis(t, order, axis=-1)
        if not self.harmonic:
            return t, None, order
        if self.geometry is None:
            return t, t, order
        return xp.asin(xp.clip(t / self.scale, -1.0, 1.0)), t, order

    @property
    def parameter(self):
        return "frequency_rad" if self.geometry is None else "azimuth_rad"


def sort_rows(theta, xp):
    """Sort (B, K, R) rows by the first column (ascending)."""
    if theta.shape[1] <= 1:
        return theta
    order = xp.argsort(theta[..., 0], axis=-1, stable=True)                  # (B, K)
    idx = xp.broadcast_to(order[..., None], theta.shape)
    return xp.take_along_axis(theta, idx, axis=1)

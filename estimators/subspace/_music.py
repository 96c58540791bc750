r"""MUSIC: 1-D, 2-D (azimuth/elevation) and N-D (harmonic tensor) grid search with refinement.

.. math::
    P_{\mathrm{MU}}(\boldsymbol\theta) = \frac{1}{\mathbf a^H\mathbf E_n\mathbf E_n^H\mathbf a}
    = \frac{1}{\|\mathbf a\|^2 - \|\mathbf E_s^H\mathbf a\|^2}

(Schmidt; REFERENCES.md 3.1). The spectrum is evaluated in the signal-subspace form
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

import itertools
import math
import warnings

import numpy as np

from sensing import (
    Array,
    ArrayGeometry,
    asarray_like,
    check_array,
    check_bool,
    check_choice,
    check_float,
    get_xp,
    is_numpy_namespace,
)

from ._covariance import (
    as_work,
    check_n_sources,
    check_subspace_support,
    ct,
    dominant_subspace,
    order_for_batch,
    prepare_data,
    smoothed_matrix,
    real_dtype_for,
    _check_shape_seq,
)
from ._results import LineEstimate, MultiEstimate, SubspaceWarning
from ._kernels import (
    array_power_kernel,
    newton_geometry_kernel,
    newton_trig_kernel,
    top_peaks_kernel,
    trig_poly_kernel,
    upa_power_kernel,
)

__all__ = ["music", "music_2d", "music_nd"]

_CHUNK = 1 << 22  # complex elements per temporary in the chunked xp paths (64 MiB)
_METHODS = ("auto", "eigh", "iterative")


# --- grids and geometry ---------------------------------------------------------------------------


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


# --- spectrum evaluation (no M x G steering matrix) ----------------------------------------------


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


# --- peak search ---------------------------------------------------------------------------------


def find_peaks(spec, k: int, xp, *, use_kernel: bool = True):
    """Flat indices (B, k) of the k largest local maxima of spec (B, G_1, ..., G_R).

    Plateaus count once (the first point). When there are fewer than k local maxima the
    remaining indices are the largest other grid points. NumPy input runs
    :func:`~estimators._subspace_kernels.top_peaks_kernel` first (this vectorised form is its
    twin, and takes over when some problem has fewer than k local maxima).
    """
    bsz = spec.shape[0]
    gshape = tuple(spec.shape[1:])
    r_dims = len(gshape)
    if k > math.prod(gshape):
        raise ValueError(f"`n_sources` must be an integer in [1, {math.prod(gshape)}] (one peak per source on "
                         f"the search grid of {math.prod(gshape)} point(s)); got {k}. Use a finer grid.")
    if use_kernel and is_numpy_namespace(xp) and k > 0 and bsz > 0:
        offs = [o for o in itertools.product((-1, 0, 1), repeat=r_dims) if any(o)]
        strides = [math.prod(gshape[r + 1:]) for r in range(r_dims)]
        out = np.zeros((bsz, k), dtype=np.int64)
        counts = np.zeros(bsz, dtype=np.int64)
        top_peaks_kernel(np.ascontiguousarray(np.reshape(spec, (bsz, -1)), dtype=np.float64),
                         np.asarray(gshape, dtype=np.int64), np.asarray(offs, dtype=np.int64),
                         np.asarray([sum(o * st for o, st in zip(off, strides)) for off in offs], dtype=np.int64),
                         np.asarray([off < (0,) * r_dims for off in offs], dtype=np.bool_), k, out, counts)
        if bool(np.all(counts >= k)):
            return out
    pad = spec
    for ax in range(1, r_dims + 1):
        shp = list(pad.shape)
        shp[ax] = 1
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
    flat = xp.reshape(spec, (bsz, -1))
    pk = xp.reshape(is_peak, (bsz, -1))
    n_short = int(xp.sum(xp.astype(xp.sum(xp.astype(pk, xp.int64), axis=-1) < k, xp.int64)))
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
        return np.take_along_axis(part, np.argsort(-sub, axis=-1, kind="stable"), axis=-1)
    order = xp.argsort(score, axis=-1, descending=True, stable=True)
    return order[:, :k]


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


# --- Newton refinement of a quadratic form in a(theta) -------------------------------------------


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
    faster through BLAS here) the numba kernel
    :func:`~estimators._subspace_kernels.newton_geometry_kernel` runs the same iteration per
    source (this vectorised form is its twin; the kernel removes ~2 ms of Python overhead per
    2-D MUSIC call on an 8x8 UPA). A one-dimensional Vandermonde model runs
    :func:`~estimators._subspace_kernels.newton_trig_kernel` on the diagonal sums of
    :math:`\mathbf U\mathbf U^H` (``diag_sums``, computed from ``u`` when not given): O(M) per
    evaluation instead of O(M r), and no Python loop (1.2 ms -> 0.05 ms per M = 256 MUSIC call).
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


# --- shared driver ------------------------------------------------------------------------------


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


def _shape_back(x, batch, xp):
    return xp.reshape(x, batch + tuple(x.shape[1:]))


def _music_denominator(h, m):
    """||a||^2 - ||E_s^H a||^2, floored so that noiseless data give finite, sharp peaks."""
    return 1.0 / _floor(m - h, m)


def _floor(d, m):
    xp = get_xp(d)
    return xp.maximum(d, m * 1e-13)


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

    def power(self, u):
        """sum_k |a(theta_g)^H u[:, :, k]|^2 on the grid, (B, G) float64."""
        if self.harmonic:
            c = lowrank_diag_sums(u, self.xp)
            self._sums = (u, c)                                 # reused by refine() on the same u
            return trig_poly(c, self.search, self.xp)
        return array_power(u, self.pos_k, self.dirs, self.xp)

    def initial(self, idx):
        return take_grid(self.search, idx, self.xp)[..., None]

    def refine(self, theta, u, sign):
        if self.search.shape[0] < 2:
            return theta
        xp = self.xp
        return newton_refine(theta, self.model, u, xp, sign=sign, step=[grid_step(self.search, xp)],
                             lower=[float(xp.min(self.search))], upper=[float(xp.max(self.search))],
                             diag_sums=self._sums[1] if self._sums[0] is u else None)

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
    theta = lg.initial(find_peaks(spec, k, xp))
    if refine:
        theta = lg.refine(theta, u, -1.0)
    est, freqs, _ = lg.finish(theta)
    out = prep.out_real
    param = lg.parameter
    return LineEstimate(
        estimates=_shape_back(xp.astype(est, out), prep.batch, xp),
        parameter=param,
        n_sources=k,
        frequencies=None if freqs is None else _shape_back(xp.astype(freqs, out), prep.batch, xp),
        spectrum=_shape_back(xp.astype(spec, out), prep.batch, xp) if return_spectrum else None,
        grid=xp.astype(grid, out),
        eigenvalues=_shape_back(xp.astype(vals, out), prep.batch, xp),
    )


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
    else:
        pos_k = geometry.positions_m * (2 * math.pi / lam)
        aa = xp.reshape(xp.broadcast_to(az[:, None], (az.shape[0], el.shape[0])), (-1,))
        ee = xp.reshape(xp.broadcast_to(el[None, :], (az.shape[0], el.shape[0])), (-1,))
        dirs = xp.stack([xp.cos(ee) * xp.cos(aa), xp.cos(ee) * xp.sin(aa), xp.sin(ee)], axis=-1)
        h = xp.reshape(array_power(u, pos_k, dirs, xp), (u.shape[0], az.shape[0], el.shape[0]))
    spec = _music_denominator(h, m)
    idx = find_peaks(spec, k, xp)
    ia, ie = unravel(idx, (az.shape[0], el.shape[0]), xp)
    theta = xp.stack([take_grid(az, ia, xp), take_grid(el, ie, xp)], axis=-1)
    if refine:
        theta = newton_refine(theta, GeometryModel(geometry, lam, xp), u, xp, sign=-1.0,
                              step=[grid_step(az, xp), grid_step(el, xp)],
                              lower=[float(xp.min(az)), float(xp.min(el))],
                              upper=[float(xp.max(az)), float(xp.max(el))])
    theta = sort_rows(theta, xp)
    out = prep.out_real
    return MultiEstimate(
        estimates=_shape_back(xp.astype(theta, out), prep.batch, xp),
        parameters=("azimuth_rad", "elevation_rad"),
        n_sources=k,
        spectrum=_shape_back(xp.astype(spec, out), prep.batch, xp) if return_spectrum else None,
        grids=(xp.astype(az, out), xp.astype(el, out)),
        eigenvalues=_shape_back(xp.astype(vals, out), prep.batch, xp),
    )


def _is_yz_upa(geometry) -> bool:
    nr, nc = geometry.shape
    dr, dc = geometry.spacing_m
    r, c = np.meshgrid(np.arange(nr), np.arange(nc), indexing="ij")
    ideal = np.zeros((nr * nc, 3))
    ideal[:, 1] = dc * c.ravel()
    ideal[:, 2] = dr * r.ravel()
    return bool(np.allclose(geometry.positions_m, ideal))


def sort_rows(theta, xp):
    """Sort (B, K, R) rows by the first column (ascending)."""
    if theta.shape[1] <= 1:
        return theta
    order = xp.argsort(theta[..., 0], axis=-1, stable=True)                  # (B, K)
    idx = xp.broadcast_to(order[..., None], theta.shape)
    return xp.take_along_axis(theta, idx, axis=1)


def music_nd(tensor: Array, *, n_sources: int, grids, subarray_shape=None, snapshots: bool = False,
             forward_backward: bool = False, covariance: bool = False, shape=None, refine: bool = True,
             subspace_method: str = "auto", return_spectrum: bool = True) -> MultiEstimate:
    r"""N-D MUSIC on a multidimensional harmonic tensor (e.g. antenna x subcarrier x symbol).

    .. math::
        \mathcal X[i_1, \dots, i_R] = \sum_{k=1}^{K} b_k\prod_{r=1}^{R}e^{j\mu_{r,k}i_r} + \mathcal N,

    with multidimensional smoothing (REFERENCES.md 5.4) for single snapshots. The spectrum on
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
    idx = find_peaks(spec, k, xp)
    ind = unravel(idx, tuple(g.shape[0] for g in gr), xp)
    theta = xp.stack([take_grid(g, i, xp) for g, i in zip(gr, ind)], axis=-1)
    if refine:
        theta = newton_refine(theta, HarmonicModel(sub, xp), u, xp, sign=-1.0,
                              step=[grid_step(g, xp) for g in gr],
                              lower=[float(xp.min(g)) for g in gr], upper=[float(xp.max(g)) for g in gr])
    theta = sort_rows(theta, xp)
    out = prep.out_real
    return MultiEstimate(
        estimates=_shape_back(xp.astype(theta, out), prep.batch, xp),
        parameters=tuple("frequency_rad" for _ in range(r_dims)),
        n_sources=k,
        spectrum=_shape_back(xp.astype(spec, out), prep.batch, xp) if return_spectrum else None,
        grids=tuple(xp.astype(g, out) for g in gr),
        eigenvalues=_shape_back(xp.astype(vals, out), prep.batch, xp),
    )


def prepare_tensor(xp, tensor, r_dims, *, subarray_shape, snapshots, forward_backward, covariance, shape):
    """Validate an R-D harmonic tensor (or covariance), smooth it, flatten the batch."""
    from ._covariance import Prepared, flatten_batch, _check_square

    if covariance:
        if shape is None:
            raise ValueError("`shape` (the tensor dimensions M_1..M_R) is required with covariance=True.")
        dims = _check_shape_seq(shape, "shape")
        if len(dims) != r_dims:
            raise ValueError(f"`shape` must have {r_dims} entries (one per dimension); got {len(dims)}.")
        r = _check_square(tensor, "tensor", xp)
        if r.shape[-1] != math.prod(dims):
            raise ValueError(f"`tensor` must be ({math.prod(dims)}, {math.prod(dims)}) for shape {dims}; "
                             f"got {tuple(r.shape)}.")
        if subarray_shape is not None:
            raise ValueError("`subarray_shape` (smoothing) needs the data tensor, not a covariance.")
        out_real = real_dtype_for(xp, r.dtype)
        w = as_work(r, xp)
        w = 0.5 * (w + ct(xp, w))
        if forward_backward:
            w = 0.5 * (w + xp.flip(xp.conj(w), axis=(-2, -1)))
        w, batch = flatten_batch(w, xp, 2)
        return Prepared(xp, None, w, batch, w.shape[-1], None, out_real), dims
    x = check_array(tensor, "tensor", min_ndim=r_dims + (1 if snapshots else 0),
                    kind=("real floating", "complex floating"), xp=xp)
    n_extra = 1 if snapshots else 0
    dims = tuple(x.shape[x.ndim - r_dims - n_extra: x.ndim - n_extra])
    if min(dims) < 1:
        raise ValueError(f"`tensor` has an empty dimension: shape {tuple(x.shape)}.")
    sub = dims if subarray_shape is None else _check_shape_seq(subarray_shape, "subarray_shape")
    if len(sub) != r_dims:
        raise ValueError(f"`subarray_shape` must have {r_dims} entries; got {len(sub)}.")
    for i, (s, d) in enumerate(zip(sub, dims)):
        if s > d:
            raise ValueError(f"`subarray_shape[{i}]` must be in [1, {d}]; got {s}.")
    out_real = real_dtype_for(xp, x.dtype)
    w = smoothed_matrix(as_work(x, xp), dims, sub, xp, snapshots=snapshots)
    if forward_backward:
        w = xp.concat([w, xp.flip(xp.conj(w), axis=-2)], axis=-1)
    w, batch = flatten_batch(w, xp, 2)
    return Prepared(xp, w, None, batch, w.shape[-2], w.shape[-1], out_real), tuple(sub)

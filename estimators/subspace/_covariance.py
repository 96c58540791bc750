r"""Covariance estimation, forward-backward averaging and (multidimensional) spatial smoothing.

Also the internal signal-subspace solver shared by MUSIC, root-MUSIC and ESPRIT
(:func:`_dominant_subspace`): a full Hermitian eigendecomposition, or block subspace iteration
with Rayleigh-Ritz directly on the data matrix for large arrays (no :math:`M\times M` covariance
and no :math:`O(M^3)` tridiagonal reduction), both batched over leading axes.

Conventions
-----------
* Snapshots: ``(..., n_elements, n_snapshots)``; covariance: ``(..., n_elements, n_elements)``,
  :math:`\hat{\mathbf R} = \frac1N\mathbf X\mathbf X^H`.
* Exchange matrix :math:`\mathbf\Pi` (ones on the anti-diagonal): forward-backward averaging is
  :math:`\mathbf R_{fb} = \frac12(\mathbf R + \mathbf\Pi\mathbf R^*\mathbf\Pi)` (Pillai and Kwon,
  IEEE Trans. ASSP 37(1), 1989).
* Multidimensional data: a tensor ``(..., M_1, ..., M_R)`` (optionally with a trailing snapshot
  axis). Its vectorisation in this module is NumPy's C order (last dimension fastest), so the
  steering vector of a harmonic component is :math:`\mathbf a_1\otimes\cdots\otimes\mathbf a_R`
  (a column-major vectorisation, common in the literature, gives the opposite Kronecker order;
  only consistency matters).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from sensing import Array, asarray_like, check_array, check_bool, check_int, get_xp
from sensing import is_numpy_namespace as is_numpy

from ._results import SubspaceWarning

__all__ = [
    "sample_covariance",
    "forward_backward",
    "spatial_smoothing",
    "multidimensional_smoothing",
]

_DATA_KINDS = ("real floating", "complex floating")


# --- small array helpers (array-API only) -------------------------------------------------------


def ct(xp, x):
    """Conjugate transpose of the last two axes in namespace ``xp``."""
    return xp.conj(xp.matrix_transpose(x))


def complex_dtype_for(xp, dtype):
    """complex64 for single-precision input, complex128 otherwise."""
    if dtype in (xp.float32, xp.complex64):
        return xp.complex64
    return xp.complex128


def real_dtype_for(xp, dtype):
    """float32 for single-precision input, float64 otherwise."""
    if dtype in (xp.float32, xp.complex64):
        return xp.float32
    return xp.float64


def as_work(x, xp):
    """Promote data to complex128 for the numerics (results are cast back by the callers)."""
    return xp.astype(x, xp.complex128, copy=False)


def flatten_batch(x, xp, n_core: int):
    """Reshape ``(..., core)`` to ``(B, core)``; returns the array and the batch shape."""
    batch = tuple(x.shape[: x.ndim - n_core])
    core = tuple(x.shape[x.ndim - n_core:])
    return xp.reshape(x, (math.prod(batch),) + core), batch


# --- public covariance helpers ------------------------------------------------------------------


def sample_covariance(snapshots: Array) -> Array:
    r"""Sample covariance :math:`\hat{\mathbf R} = \frac1N\mathbf X\mathbf X^H`.

    Parameters
    ----------
    snapshots : array, shape (..., n_elements, n_snapshots), real or complex
        Array snapshots :math:`\mathbf X`, leading axes are independent problems.

    Returns
    -------
    array, shape (..., n_elements, n_elements), complex
        Hermitian; complex64 for single-precision input, complex128 otherwise; same namespace.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import sample_covariance
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((4, 200)) + 1j * rng.standard_normal((4, 200))
    >>> r = sample_covariance(x)
    >>> r.shape, bool(np.allclose(r, r.conj().T))
    ((4, 4), True)
    >>> float(np.round(np.real(np.trace(r)) / 4, 0))     # per-element power of the unit-variance parts
    2.0
    """
    xp = get_xp(snapshots)
    x = check_array(snapshots, "snapshots", min_ndim=2, kind=_DATA_KINDS, xp=xp)
    if x.shape[-1] < 1 or x.shape[-2] < 1:
        raise ValueError(f"`snapshots` must have at least one element and one snapshot; got shape {tuple(x.shape)}.")
    x = xp.astype(x, complex_dtype_for(xp, x.dtype))
    return (x @ ct(xp, x)) / x.shape[-1]


def forward_backward(covariance: Array) -> Array:
    r"""Forward-backward average :math:`\frac12(\mathbf R + \mathbf\Pi\mathbf R^*\mathbf\Pi)`.

    Parameters
    ----------
    covariance : array, shape (..., n, n), real or complex
        Covariance matrices (centro-symmetric arrays: a ULA, a URA, or any Vandermonde
        dimension, also Kronecker-structured ones in C order).

    Returns
    -------
    array, shape (..., n, n), complex
        Persymmetric and Hermitian when the input is Hermitian.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import forward_backward, sample_covariance
    >>> rng = np.random.default_rng(0)
    >>> r = sample_covariance(rng.standard_normal((4, 50)) + 1j * rng.standard_normal((4, 50)))
    >>> rfb = forward_backward(r)
    >>> j = np.eye(4)[::-1]                              # exchange matrix
    >>> bool(np.allclose(rfb, j @ rfb.conj() @ j)), bool(np.allclose(rfb, rfb.conj().T))
    (True, True)
    """
    xp = get_xp(covariance)
    r = check_square(covariance, "covariance", xp)
    r = xp.astype(r, complex_dtype_for(xp, r.dtype))
    return 0.5 * (r + xp.flip(xp.conj(r), axis=(-2, -1)))


def spatial_smoothing(data: Array, *, subarray_size: int, covariance: bool = False,
                      forward_backward: bool = False) -> Array:
    r"""Spatially smoothed covariance of a uniform linear array (Shan-Wax-Kailath).

    .. math::
        \mathbf R_{ss} = \frac1L\sum_{l=0}^{L-1}\mathbf R_{[l:l+M_s,\ l:l+M_s]},\qquad L = M - M_s + 1,

    computed from snapshots as :math:`\frac{1}{LN}\sum_l\mathbf X_l\mathbf X_l^H` with the
    subarray snapshots :math:`\mathbf X_l = \mathbf X[l:l+M_s, :]` (one snapshot gives the
    Hankel matrix of Shan, Wax and Kailath, IEEE Trans. ASSP 33(4), 1985). With
    ``forward_backward`` the result is further averaged
    as :math:`\frac12(\mathbf R_{ss} + \mathbf\Pi\mathbf R_{ss}^*\mathbf\Pi)` (Pillai-Kwon).

    Parameters
    ----------
    data : array, shape (..., n_elements, n_snapshots) or (..., n_elements, n_elements)
        Snapshots, or a covariance when ``covariance=True``.
    subarray_size : int
        Subarray size :math:`M_s \in [1, M]`. Up to :math:`L` (forward) or :math:`2L`
        (forward-backward) coherent sources become resolvable; :math:`K \le M_s - 1`.
    covariance : bool, default=False
        Whether ``data`` is a covariance matrix.
    forward_backward : bool, default=False
        Also apply forward-backward averaging.

    Returns
    -------
    array, shape (..., subarray_size, subarray_size), complex

    Examples
    --------
    Two coherent sources (identical signals) make the covariance rank one; smoothing over
    subarrays of 6 of the 8 elements restores rank two, so MUSIC resolves both:

    >>> import numpy as np
    >>> from sensing import steering_vector, ula
    >>> from estimators import music, spatial_smoothing
    >>> g = ula(8, 0.5)
    >>> s = np.exp(2j * np.pi * np.random.default_rng(0).random(50))
    >>> x = steering_vector(g, np.array([-0.3, 0.4]), wavelength_m=1.0) @ np.vstack([s, s])
    >>> r = spatial_smoothing(x, subarray_size=6)
    >>> r.shape, int(np.sum(np.linalg.eigvalsh(r) > 1e-6 * np.abs(r).max()))
    ((6, 6), 2)
    >>> np.round(music(r, n_sources=2, covariance=True, geometry=ula(6, 0.5), wavelength_m=1.0).estimates, 3)
    array([-0.3,  0.4])
    """
    xp = get_xp(data)
    check_bool(covariance, "covariance")
    check_bool(forward_backward, "forward_backward")
    if covariance:
        r = check_square(data, "data", xp)
        m = r.shape[-1]
        ms = check_int(subarray_size, "subarray_size", low=1, high=m,
                       why=f"a subarray of the {m}-element array")
        r = xp.astype(r, complex_dtype_for(xp, r.dtype))
        n_sub = m - ms + 1
        out = r[..., 0:ms, 0:ms]
        for l in range(1, n_sub):  # loop over subarray shifts (<= M), not over problems
            out = out + r[..., l:l + ms, l:l + ms]
        out = out / n_sub
    else:
        x = check_array(data, "data", min_ndim=2, kind=_DATA_KINDS, xp=xp)
        m = x.shape[-2]
        ms = check_int(subarray_size, "subarray_size", low=1, high=m,
                       why=f"a subarray of the {m}-element array")
        xs = smoothed_snapshots(xp.astype(x, complex_dtype_for(xp, x.dtype)), ms, xp)
        out = (xs @ ct(xp, xs)) / xs.shape[-1]
    if forward_backward:
        out = 0.5 * (out + xp.flip(xp.conj(out), axis=(-2, -1)))
    return out


def multidimensional_smoothing(tensor: Array, *, subarray_shape, snapshots: bool = False,
                               forward_backward: bool = False) -> Array:
    r"""Smoothed data matrix of a multidimensional (single-snapshot) harmonic tensor.

    For :math:`\mathcal X \in \mathbb C^{M_1\times\cdots\times M_R}` and subarray sizes
    :math:`M_r^s` (:math:`L_r = M_r - M_r^s + 1` shifts per dimension), every shift combination
    :math:`(l_1, \dots, l_R)` contributes the column
    ``X[l1:l1+Ms1, ..., lR:lR+MsR].reshape(-1)`` (Hua, IEEE Trans. SP 40(9), 1992; Thakre et al.,
    IEEE Trans. SP 58(5), 2010; C-order vectorisation).
    The smoothed covariance is :math:`\mathbf X_{ss}\mathbf X_{ss}^H/n_{cols}`.

    Parameters
    ----------
    tensor : array, shape (..., M_1, ..., M_R) or (..., M_1, ..., M_R, n_snapshots)
        The measurement tensor, e.g. an OFDM channel estimate (antenna, subcarrier, symbol);
        leading axes are independent problems. ``R = len(subarray_shape)``.
    subarray_shape : sequence of int
        :math:`(M_1^s, \dots, M_R^s)`, each in :math:`[1, M_r]`.
    snapshots : bool, default=False
        Whether the last axis holds independent snapshots (they multiply the columns).
    forward_backward : bool, default=False
        Append the backward columns :math:`\mathbf\Pi\mathbf X_{ss}^*` (doubles the columns).

    Returns
    -------
    array, shape (..., prod(M_r^s), prod(L_r) * n_snapshots [* 2]), complex
        Columns ordered shift-major then snapshot; namespace and precision of the input.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import multidimensional_smoothing
    >>> t = np.exp(1j * 0.4 * np.arange(6))[:, None] * np.exp(-1j * 0.9 * np.arange(5))[None, :]
    >>> x = multidimensional_smoothing(t, subarray_shape=(4, 3))
    >>> x.shape                                          # (4*3, (6-4+1)*(5-3+1))
    (12, 9)
    >>> int(np.linalg.matrix_rank(x, tol=1e-8))          # one harmonic -> rank one
    1
    """
    xp = get_xp(tensor)
    shape = check_shape_seq(subarray_shape, "subarray_shape")
    check_bool(snapshots, "snapshots")
    check_bool(forward_backward, "forward_backward")
    r = len(shape)
    x = check_array(tensor, "tensor", min_ndim=r + (1 if snapshots else 0), kind=_DATA_KINDS, xp=xp)
    dims = tuple(x.shape[x.ndim - r - (1 if snapshots else 0): x.ndim - (1 if snapshots else 0)])
    for i, (ms, m) in enumerate(zip(shape, dims)):
        if ms > m:
            raise ValueError(f"`subarray_shape[{i}]` must be in [1, {m}] (tensor dimension {i} has "
                             f"{m} samples); got {ms}.")
    x = xp.astype(x, complex_dtype_for(xp, x.dtype))
    xs = smoothed_matrix(x, dims, shape, xp, snapshots=snapshots)
    if forward_backward:
        xs = xp.concat([xs, xp.flip(xp.conj(xs), axis=-2)], axis=-1)
    return xs


# --- internal building blocks -------------------------------------------------------------------


def check_square(r, name, xp):
    r = check_array(r, name, min_ndim=2, kind=_DATA_KINDS, xp=xp)
    if r.shape[-1] != r.shape[-2] or r.shape[-1] < 1:
        raise ValueError(f"`{name}` must be square in its last two axes (a covariance); got shape {tuple(r.shape)}.")
    return r


def check_shape_seq(shape, name):
    if isinstance(shape, (int, np.integer)) or not hasattr(shape, "__len__") or len(shape) == 0:
        raise TypeError(f"`{name}` must be a non-empty sequence of integers; got {shape!r}.")
    return tuple(check_int(s, f"{name}[{i}]", low=1) for i, s in enumerate(shape))


def smoothed_snapshots(x, ms: int, xp):
    """(..., M, N) -> (..., Ms, L*N): the subarray snapshots side by side (no scaling)."""
    m, n = x.shape[-2], x.shape[-1]
    n_sub = m - ms + 1
    idx = (np.arange(ms)[:, None] + np.arange(n_sub)[None, :]).reshape(-1)
    xs = xp.take(x, asarray_like(idx, xp, dtype=xp.int64), axis=x.ndim - 2)  # (..., Ms*L, N)
    return xp.reshape(xs, tuple(x.shape[:-2]) + (ms, n_sub * n))


def smoothed_matrix(x, dims, sub, xp, *, snapshots: bool):
    """Multidimensional smoothing: tensor (..., *dims[, N]) -> (..., prod(sub), prod(L)[*N])."""
    r = len(dims)
    strides = [math.prod(dims[i + 1:]) for i in range(r)]
    rows = np.zeros(1, dtype=np.int64)
    cols = np.zeros(1, dtype=np.int64)
    for d, s, st in zip(dims, sub, strides):
        rows = (rows[:, None] + st * np.arange(s)[None, :]).reshape(-1)
        cols = (cols[:, None] + st * np.arange(d - s + 1)[None, :]).reshape(-1)
    idx = (rows[:, None] + cols[None, :]).reshape(-1)
    n_snap = x.shape[-1] if snapshots else 1
    batch = tuple(x.shape[: x.ndim - r - (1 if snapshots else 0)])
    flat = xp.reshape(x, batch + (math.prod(dims), n_snap))
    xs = xp.take(flat, asarray_like(idx, xp, dtype=xp.int64), axis=len(batch))
    return xp.reshape(xs, batch + (rows.size, cols.size * n_snap))


def subspace_iteration_ok(m: int, k: int) -> bool:
    """Whether block subspace iteration pays off over a full eigendecomposition."""
    return m >= 128 and 4 * (2 * k + 4) <= m


def dominant_subspace(xp, k: int, *, data=None, cov=None, method: str = "auto"):
    r"""Leading ``k`` eigenvectors of :math:`\mathbf R` (batched).

    Parameters
    ----------
    data : array (B, M, C), optional
        Data matrix with :math:`\mathbf R = \mathbf X\mathbf X^H / C` (real or complex).
    cov : array (B, M, M), optional
        The covariance itself (exactly one of ``data``/``cov``).
    method : {"auto", "eigh", "iterative"}
        ``"iterative"``: block subspace iteration with Rayleigh-Ritz (block k+2, a fixed
        Gaussian sketch as the start, so results are deterministic), stopping when every Ritz
        residual :math:`\|\mathbf R\mathbf v_i - \theta_i\mathbf v_i\| \le 10^{-10}\theta_1`; a
        full ``eigh`` takes over when it has not converged after 60 iterations.

    Returns
    -------
    vecs : (B, M, k), descending eigenvalue order
    vals : (B, M) all eigenvalues (eigh) or (B, k) the leading ones (iterative), descending
    noise : (B,) mean of the eigenvalues beyond the k-th, :math:`(\mathrm{tr}\mathbf R - \sum_{i\le k}\lambda_i)/(M-k)`
    """
    m = (data if data is not None else cov).shape[-2]
    if method == "auto":
        method = "iterative" if subspace_iteration_ok(m, k) else "eigh"
    if method == "iterative":
        out = _subspace_iteration(xp, k, data=data, cov=cov)
        if out is not None:
            return out
    vals, vecs = _across_problems(_covariance_eigh, xp, data, cov)
    vals = xp.flip(vals, axis=-1)
    vecs = xp.flip(vecs, axis=-1)[..., :k]
    noise = xp.sum(vals[..., k:], axis=-1) / max(m - k, 1)
    return vecs, vals, noise


def _covariance_eigh(xp, data, cov):
    """eigh of the (Hermitian-symmetrised) covariance, formed from ``data`` when ``cov`` is None."""
    if cov is None:
        cov = (data @ ct(xp, data)) / data.shape[-1]
    cov = 0.5 * (cov + ct(xp, cov))
    return xp.linalg.eigh(cov)


_POOL: list = [None, 0]          # a lazily created thread pool and its size


def _across_problems(fn, xp, *arrays, min_per_worker: int = 64):
    """``fn(xp, *arrays)`` on chunks of the leading (problem) axis in threads, for NumPy batches.

    NumPy's batched ``matmul`` and ``linalg`` loops release the GIL, so a batch of small problems
    (1000 covariances and eigendecompositions of 16 x 16) splits across cores
    (one BLAS thread per problem, parallel across problems); the number of workers is numba's thread
    count (``NUMBA_NUM_THREADS``, the same knob as the kernels), so one thread means the plain
    serial call. Results are identical to the serial call (each problem is computed alone).
    ``None`` entries of ``arrays`` are passed through; ``fn`` returns a tuple of batched arrays.
    """
    import numba

    lead = next(a for a in arrays if a is not None)
    n_workers = min(numba.get_num_threads(), lead.shape[0] // min_per_worker)
    if n_workers < 2 or not is_numpy(xp):
        return fn(xp, *arrays)
    if _POOL[1] != n_workers:
        from concurrent.futures import ThreadPoolExecutor

        if _POOL[0] is not None:
            _POOL[0].shutdown(wait=False)
        _POOL[0], _POOL[1] = ThreadPoolExecutor(n_workers, thread_name_prefix="subspace"), n_workers
    bounds = np.linspace(0, lead.shape[0], n_workers + 1).astype(int)
    parts = list(_POOL[0].map(lambda lo_hi: fn(xp, *[None if a is None else a[lo_hi[0]:lo_hi[1]] for a in arrays]),
                              zip(bounds[:-1], bounds[1:])))
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(len(parts[0])))


def _subspace_iteration(xp, k, *, data=None, cov=None, tol=1e-10, max_iter=60):
    a = data if data is not None else cov
    m = a.shape[-2]
    # Block k + 2: the rate is lambda_{b+1}/lambda_k and the noise eigenvalues beyond the signal
    # are nearly flat, so a wider block hardly converges faster but costs more per product
    # (docs/performance.md).
    b = min(m, k + 2)
    dtype = a.dtype
    sketch_rows = a.shape[-1]
    omega = np.random.default_rng(0x5EED).standard_normal((sketch_rows, b))
    omega = asarray_like(omega, xp, dtype=real_dtype_for(xp, dtype))
    omega = xp.astype(omega, dtype)
    if data is not None:
        scale = 1.0 / data.shape[-1]
        xh = ct(xp, data)                                 # once, not per iteration
        trace = scale * xp.sum(xp.real(data * xp.conj(data)), axis=(-2, -1))
        y = data @ omega
    else:
        trace = xp.sum(xp.real(xp.linalg.diagonal(cov)), axis=-1)
        y = cov @ omega
    v = xp.linalg.qr(y).Q
    for _ in range(max_iter):
        if data is not None:
            w = xh @ v                                    # (B, C, b)
            g = scale * (ct(xp, w) @ w)                   # V^H R V
        else:
            w = cov @ v                                   # R V
            g = ct(xp, v) @ w
        g = 0.5 * (g + ct(xp, g))
        theta, s = xp.linalg.eigh(g)
        theta = xp.flip(theta, axis=-1)
        s = xp.flip(s, axis=-1)
        if data is not None:
            y = scale * (data @ (w @ s))                  # R V S
        else:
            y = w @ s
        ritz = v @ s
        res = y[..., :k] - ritz[..., :k] * xp.astype(theta[..., None, :k], dtype)
        res = xp.sqrt(xp.sum(xp.real(res * xp.conj(res)), axis=-2))      # (B, k)
        top = xp.abs(theta[..., :1])
        if bool(xp.all(res <= tol * top + 1e-300)):
            vals = theta[..., :k]
            noise = xp.clip(trace - xp.sum(vals, axis=-1), 0.0, None) / max(m - k, 1)
            return ritz[..., :k], vals, noise
        v = xp.linalg.qr(y).Q
    return None


def check_subspace_support(xp, vals, noise, k: int, *, n_elements: int, n_columns: int | None):
    """Warn (:class:`SubspaceWarning`) when the k-th eigenvalue does not rise above the noise.

    The threshold is the Marchenko-Pastur edge :math:`\\hat\\sigma^2(1 + \\sqrt{M/N})^2` of a
    noise-only sample covariance (``n_columns`` = number of data columns). A given covariance
    (``n_columns=None``) has no known :math:`N`; there the spread of the noise eigenvalues stands
    in for it: :math:`\\lambda_K` is flagged when it lies no further above the largest noise
    eigenvalue than the noise bulk is wide, :math:`\\lambda_K - \\lambda_{K+1} \\le
    \\lambda_{K+1} - \\lambda_M` (needs all eigenvalues and :math:`M - K \\ge 2`), or at the
    noise level itself (an exact covariance: the bulk has no width).
    """
    if k < 1:
        return
    edge = 1.0 + 1e-8 if not n_columns else (1.0 + math.sqrt(n_elements / n_columns)) ** 2
    lam_k = vals[..., k - 1]
    bad = lam_k <= edge * noise
    if not n_columns and vals.shape[-1] == n_elements and n_elements - k >= 2:
        top, bottom = vals[..., k], vals[..., n_elements - 1]
        bad = bad | (lam_k - top <= top - bottom)
    if bool(xp.any(bad)):
        n_bad = int(xp.sum(xp.astype(bad, xp.int64)))
        warnings.warn(
            f"signal eigenvalue #{k} (the smallest of K = {k}) does not rise above the noise level in {n_bad} of "
            f"{math.prod(bad.shape) or 1} problem(s): sources may be coherent (use smoothing / "
            "forward_backward) or too weak, or `n_sources` is too large; estimates may be spurious.",
            SubspaceWarning, stacklevel=3)


# --- data preparation shared by the estimators --------------------------------------------------


class Prepared:
    """Flattened work data of one estimator call (internal)."""

    __slots__ = ("data", "cov", "batch", "m", "n_cols", "out_real", "xp")

    def __init__(self, xp, data, cov, batch, m, n_cols, out_real):
        self.xp, self.data, self.cov, self.batch = xp, data, cov, batch
        self.m, self.n_cols, self.out_real = m, n_cols, out_real


def _check_not_all_zero(x, xp, covariance: bool) -> None:
    """An identically zero problem has no signal subspace: say so instead of returning arbitrary
    angles or failing inside LAPACK."""
    if x.ndim < 2 or math.prod(x.shape) == 0:
        return
    a = xp.abs(x)
    flat = xp.reshape(a, (-1, math.prod(x.shape[-2:])))
    n_zero = int(xp.sum(xp.astype(xp.max(flat, axis=-1) == 0, xp.int64)))
    if n_zero:
        what = "covariance" if covariance else "snapshots"
        raise ValueError(f"`data` must not be identically zero: {n_zero} of {flat.shape[0]} problem(s) hold all-zero "
                         f"{what}, which have no signal subspace.")


def prepare_data(xp, data, *, covariance: bool, smoothing, forward_backward: bool) -> Prepared:
    """Validate snapshots/covariance, apply 1-D smoothing and FB averaging, flatten the batch.

    Everything is promoted to complex128 for the numerics; ``out_real`` remembers the real dtype
    of the results (float32 for single-precision input).
    """
    check_bool(covariance, "covariance")
    check_bool(forward_backward, "forward_backward")
    if covariance:
        x = check_square(data, "data", xp)
    else:
        x = check_array(data, "data", min_ndim=2, kind=_DATA_KINDS, xp=xp)
        if x.shape[-1] < 1 or x.shape[-2] < 1:
            raise ValueError(f"`data` must hold at least one element and one snapshot; got shape {tuple(x.shape)}.")
    out_real = real_dtype_for(xp, x.dtype)
    _check_not_all_zero(x, xp, covariance)
    m_full = x.shape[-1] if covariance else x.shape[-2]
    ms = m_full
    if smoothing is not None:
        ms = check_int(smoothing, "smoothing", low=2, high=m_full,
                       why=f"a subarray size of the {m_full}-element uniform array")
    w = as_work(x, xp)
    if covariance:
        if ms != m_full:
            n_sub = m_full - ms + 1
            acc = w[..., 0:ms, 0:ms]
            for l in range(1, n_sub):
                acc = acc + w[..., l:l + ms, l:l + ms]
            w = acc / n_sub
        w = 0.5 * (w + ct(xp, w))
        if forward_backward:
            w = 0.5 * (w + xp.flip(xp.conj(w), axis=(-2, -1)))
        w, batch = flatten_batch(w, xp, 2)
        return Prepared(xp, None, w, batch, ms, None, out_real)
    if ms != m_full:
        w = smoothed_snapshots(w, ms, xp)
    if forward_backward:
        w = xp.concat([w, xp.flip(xp.conj(w), axis=-2)], axis=-1)
    w, batch = flatten_batch(w, xp, 2)
    return Prepared(xp, w, None, batch, ms, w.shape[-1], out_real)


def check_n_sources(n_sources, m: int, n_cols: int | None, *, limit: int | None = None,
                    why: str = "the noise subspace must not be empty") -> int:
    """Validate the number of sources against the array size and the data rank."""
    hi = m - 1 if limit is None else limit
    k = check_int(n_sources, "n_sources", low=1, high=max(hi, 1), why=f"{m} (sub)array elements; {why}")
    if k > hi:
        raise ValueError(f"`n_sources` must be an integer in [1, {hi}] ({m} (sub)array elements; {why}); got {k}.")
    if n_cols is not None and k > n_cols:
        raise ValueError(
            f"`n_sources` = {k} exceeds the rank of the data ({n_cols} snapshot column(s)): the "
            "covariance is rank-deficient. Use more snapshots, spatial smoothing (`smoothing=`) or "
            "`forward_backward=True`.")
    return k


def order_for_batch(xp, vals, n_cols: int, method: str = "mdl") -> int:
    """Model order by MDL/AIC for every problem of a batch; they must agree (one K per call)."""
    from ._order import criterion_from_eigenvalues

    crit = criterion_from_eigenvalues(xp, vals, n_cols, method)
    ks = xp.argmin(crit, axis=-1)
    k_min, k_max = int(xp.min(ks)), int(xp.max(ks))
    if k_min != k_max:
        raise ValueError(
            f"`n_sources`=None: {method.upper()} chose different orders across the batch "
            f"({k_min}..{k_max}); pass `n_sources` explicitly or call per problem.")
    return k_min


def prepare_tensor(xp, tensor, r_dims, *, subarray_shape, snapshots, forward_backward, covariance, shape):
    """Validate an R-D harmonic tensor (or covariance), smooth it, flatten the batch."""
    if covariance:
        if shape is None:
            raise ValueError("`shape` (the tensor dimensions M_1..M_R) is required with covariance=True.")
        dims = check_shape_seq(shape, "shape")
        if len(dims) != r_dims:
            raise ValueError(f"`shape` must have {r_dims} entries (one per dimension); got {len(dims)}.")
        r = check_square(tensor, "tensor", xp)
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
    sub = dims if subarray_shape is None else check_shape_seq(subarray_shape, "subarray_shape")
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


def unitary_q(n: int) -> np.ndarray:
    r"""The sparse unitary left-Π-real matrix :math:`\mathbf Q_n` of Unitary ESPRIT, (n, n) complex.

    :math:`\mathbf Q_n^H\mathbf A` is real for any centro-Hermitian :math:`\mathbf A`; it maps the
    forward-backward averaged covariance to a real symmetric matrix (M. Haardt and J. A. Nossek,
    "Unitary ESPRIT," IEEE Trans. Signal Process., 43(5), 1995, Sec. II).
    """
    h = n // 2
    eye = np.eye(h)
    pi = eye[::-1]
    q = np.zeros((n, n), dtype=np.complex128)
    q[:h, :h] = eye
    q[:h, n - h:] = 1j * eye
    q[n - h:, :h] = pi
    q[n - h:, n - h:] = -1j * pi
    if n % 2:
        q[h, h] = math.sqrt(2.0)
    return q / math.sqrt(2.0)

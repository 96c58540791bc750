r"""The ESPRIT family: standard (LS/TLS), Unitary ESPRIT, and R-D (2-D/3-D) ESPRIT with pairing.

Shift invariance of a Vandermonde dimension :math:`r` (Roy and Kailath, IEEE Trans. ASSP 37(7),
1989):
:math:`\mathbf J_1^{(r)}\mathbf A\boldsymbol\Phi_r = \mathbf J_2^{(r)}\mathbf A`,
:math:`\boldsymbol\Phi_r = \mathrm{diag}(e^{j\mu_{r,k}})`, with :math:`\mathbf J_1` selecting the
first and :math:`\mathbf J_2` the last :math:`M_r-1` samples of dimension :math:`r`. Since
:math:`\mathbf E_s = \mathbf A\mathbf T`,

* **standard ESPRIT**: :math:`\mathbf J_1\mathbf E_s\boldsymbol\Psi_r \approx \mathbf J_2\mathbf E_s`,
  :math:`\hat\mu_{r,k} = \arg\lambda_k(\boldsymbol\Psi_r)`;
* **Unitary ESPRIT** (Haardt-Nossek): with the left-:math:`\Pi`-real matrices
  :math:`\mathbf Q`, the real signal subspace of :math:`\mathcal T(\mathbf X)` (forward-backward
  averaging built in) and the real selection matrices
  :math:`\mathbf K_{1} = 2\mathrm{Re}\{\mathbf Q_m^H\mathbf J_2\mathbf Q_M\}`,
  :math:`\mathbf K_{2} = 2\mathrm{Im}\{\mathbf Q_m^H\mathbf J_2\mathbf Q_M\}`, solve
  :math:`\mathbf K_1\mathbf E_s\boldsymbol\Upsilon_r \approx \mathbf K_2\mathbf E_s` and take
  :math:`\hat\mu = 2\arctan\omega` of the eigenvalues :math:`\omega` of :math:`\boldsymbol\Upsilon_r`.

For R-D data (C-order vectorisation, :math:`\mathbf a = \mathbf a_1\otimes\cdots\otimes\mathbf a_R`)
the selection and the :math:`\mathbf Q` transforms are mode products with the small
per-dimension matrices (never :math:`\prod_r M_r`-sized ones). **Pairing**: all
:math:`\boldsymbol\Upsilon_r = \mathbf T\boldsymbol\Omega_r\mathbf T^{-1}` share their eigenvectors
(Zoltowski, Haardt and Mathews, IEEE Trans. SP 44(2), 1996; Haardt and Nossek, IEEE Trans. SP
46(1), 1998), so the frequencies of one source stay together across dimensions by
either of

* ``pairing="schur"`` (default): the simultaneous Schur decomposition of Haardt and Nossek --
  one unitary (real orthogonal for Unitary ESPRIT) :math:`\mathbf Q` from Jacobi sweeps that
  jointly upper-triangularise all :math:`\boldsymbol\Upsilon_r` (:mod:`estimators.subspace._schur_kernels`),
  :math:`\omega_{r,k} = [\mathbf Q^H\boldsymbol\Upsilon_r\mathbf Q]_{kk}`; no eigenvector matrix
  is inverted, and every dimension contributes to the common basis;
* ``pairing="eig"``: :math:`\mathbf T` from one complex eigendecomposition of the fixed
  combination :math:`\sum_r e^{j1.1(r-1)}\boldsymbol\Upsilon_r` (for :math:`R = 2` the
  :math:`\boldsymbol\Upsilon_1 + e^{j1.1}\boldsymbol\Upsilon_2` form of Zoltowski-Haardt-Mathews) and
  :math:`\omega_{r,k} = [\mathbf T^{-1}\boldsymbol\Upsilon_r\mathbf T]_{kk}`. It fails when two
  sources have (nearly) equal eigenvalues of the combination although they differ in every
  dimension (:math:`\mathbf T` ill-conditioned): possible for :math:`R = 3` Unitary ESPRIT and for
  standard ESPRIT already with :math:`R = 2`.

With :math:`\hat\mu = 2\arctan\mathrm{Re}\,\omega` (Unitary ESPRIT) or :math:`\arg\omega` (standard).

Frequency convention: see :mod:`estimators.subspace._results` (OFDM delay :math:`\mu = -2\pi\Delta f\tau`,
Doppler :math:`\mu = 2\pi T_Of_D`). Numerical namespaces: the subspace and the shift equations
run in the input's namespace; the final :math:`K\times K` non-Hermitian eigenproblems (and the
Schur pairing sweeps) of other namespaces than NumPy run on the host and their results move
back (see ``_eig``), so every array-API namespace works and keeps its array type.
"""

from __future__ import annotations

import math

import numpy as np

from sensing import (
    Array,
    ArrayGeometry,
    asarray_like,
    check_array,
    check_bool,
    check_choice,
    check_int,
    get_xp,
    is_numpy_namespace,
    to_numpy,
)

from ._covariance import (
    Prepared,
    check_n_sources,
    check_shape_seq,
    check_subspace_support,
    ct,
    dominant_subspace,
    order_for_batch,
    prepare_data,
    prepare_tensor,
    real_dtype_for,
    unitary_q,
)
from ._grid_search import optional_geometry, shape_back, sort_rows, ula_spacing
from ._results import LineEstimate, MultiEstimate
from ._schur_kernels import MAX_SWEEPS, RTOL, ssd_kernel, ssd_sweeps_xp
from ._smoothed_fft import fft_path_pays, smoothed_subspace_fft

__all__ = ["esprit", "unitary_esprit", "esprit_nd"]

_LSQ = ("ls", "tls")
_LSQ_LINE = ("ls", "tls", "sls")
_SLS_KAPPA = 1.0
_PAIRINGS = ("schur", "eig")
_PAIR_PHASE = 1.1


def _eig(a, xp, *, vectors: bool):
    """General (non-Hermitian) eigendecomposition of a batch of small matrices.

    The matrices are K x K (K = number of sources). Other namespaces than NumPy solve them on the
    host with LAPACK and move the result back: CuPy 14's ``eig`` handles a batch one matrix at a
    time, so a batch of small problems is faster on the host, and the array API has no general
    eigensolver at all.
    """
    if is_numpy_namespace(xp):
        a = np.asarray(a)
        return np.linalg.eig(a) if vectors else np.linalg.eigvals(a)
    host = to_numpy(a)
    if vectors:
        w, v = np.linalg.eig(host)
        return asarray_like(w, xp), asarray_like(v, xp)
    return asarray_like(np.linalg.eigvals(host), xp)


def _mode_apply(e, dims, r, mat, xp):
    """Mode-r product of e (B, P, K) (C-order dims) with mat (m_r, M_r) -> (B, P', K)."""
    bsz, k = e.shape[0], e.shape[-1]
    t = xp.reshape(e, (bsz,) + tuple(dims) + (k,))
    t = xp.moveaxis(t, r + 1, -1)                                  # (B, ..., K, M_r)
    t = t @ xp.matrix_transpose(mat)                               # (B, ..., K, m_r)
    t = xp.moveaxis(t, -1, r + 1)
    return xp.reshape(t, (bsz, -1, k))


def _solve_shift(e1, e2, xp, method):
    """Psi with e1 Psi ~= e2 (LS or TLS), batched; e1, e2: (B, m, K)."""
    k = e1.shape[-1]
    if method == "ls":
        g = ct(xp, e1) @ e1
        return xp.linalg.solve(g, ct(xp, e1) @ e2)
    c = xp.concat([e1, e2], axis=-1)                              # (B, m, 2K)
    if c.shape[-2] < 2 * k:
        # fewer equations than unknowns (2K > M - 1): the economy SVD would return only m right
        # singular vectors; zero rows change none of them and complete V to 2K x 2K (the extra
        # ones span the exact null space of C, which belongs to the K smallest)
        c = xp.concat([c, xp.zeros((c.shape[0], 2 * k - c.shape[-2], 2 * k), dtype=c.dtype)], axis=-2)
    _, _, vh = xp.linalg.svd(c, full_matrices=False)
    v = ct(xp, vh)                                                 # (B, 2K, 2K)
    v12, v22 = v[:, :k, k:], v[:, k:, k:]
    # Psi = -V12 V22^{-1}  <=>  Psi^H = -(V22^H)^{-1} V12^H
    return -ct(xp, xp.linalg.solve(ct(xp, v22), ct(xp, v12)))


def _kron(a, b, xp):
    """Batched Kronecker product: a (..., p, q), b (..., r, s) -> (..., p r, q s)."""
    p, q = a.shape[-2:]
    r, s_ = b.shape[-2:]
    t = a[..., :, None, :, None] * b[..., None, :, None, :]
    return xp.reshape(t, t.shape[:-4] + (p * r, q * s_))


def _solve_shift_sls(u, s1, s2, xp, kappa: float = _SLS_KAPPA):
    r"""Structured least squares (Haardt 1997): one Gauss-Newton step from the LS solution.

    Minimises :math:`\|[\mathbf S_1(\mathbf E+\Delta\mathbf E)\boldsymbol\Psi - \mathbf S_2(\mathbf E+\Delta\mathbf E);\;
    \kappa\Delta\mathbf E]\|_F` over :math:`\boldsymbol\Psi` and :math:`\Delta\mathbf E`, linearised at
    :math:`(\boldsymbol\Psi_{LS}, \mathbf 0)`; row-major vectorisation,
    :math:`\mathrm{vec}(\mathbf A\mathbf X\mathbf B) = (\mathbf A\otimes\mathbf B^T)\mathrm{vec}(\mathbf X)`.
    u: (B, M, K); s1, s2: (m, M) selection matrices (J_1, J_2, or K_1, K_2 for Unitary ESPRIT).
    """
    bsz, m_full, k = u.shape
    e1, e2 = s1 @ u, s2 @ u                                        # (B, m, K)
    psi = _solve_shift(e1, e2, xp, "ls")
    res = e1 @ psi - e2                                            # (B, m, K)
    m = e1.shape[-2]
    eye_k = xp.eye(k, dtype=u.dtype)
    f1 = _kron(e1, xp.broadcast_to(eye_k, (bsz, k, k)), xp)       # d/d vec(dPsi)      (B, mK, K^2)
    f2 = (_kron(xp.broadcast_to(s1, (bsz,) + tuple(s1.shape)), xp.matrix_transpose(psi), xp)
          - xp.broadcast_to(_kron(s2, eye_k, xp), (bsz, m * k, m_full * k)))   # d/d vec(dE)
    jac = xp.concat([f1, f2], axis=-1)
    reg = xp.concat([xp.zeros((m_full * k, k * k), dtype=u.dtype),
                     kappa * xp.eye(m_full * k, dtype=u.dtype)], axis=-1)
    a = xp.concat([jac, xp.broadcast_to(reg, (bsz,) + tuple(reg.shape))], axis=-2)
    rhs = -xp.concat([xp.reshape(res, (bsz, m * k, 1)), xp.zeros((bsz, m_full * k, 1), dtype=u.dtype)], axis=-2)
    # normal equations: the kappa block makes A full column rank
    step = xp.linalg.solve(ct(xp, a) @ a, ct(xp, a) @ rhs)
    return psi + xp.reshape(step[:, : k * k, 0], (bsz, k, k))


def _core(prep: Prepared, dims, k_arg, *, unitary: bool, method: str, subspace_method: str, fft_tensor=None,
          fft_fb: bool = False, pairing: str = "eig"):
    """Signal subspace -> per-dimension shift matrices -> paired frequencies (B, K, R).

    With ``fft_tensor`` (the flattened-batch single-snapshot tensor, NumPy) the subspace of the
    (forward-backward) smoothed covariance comes from :func:`smoothed_subspace_fft`
    (matrix-free); for Unitary ESPRIT its real basis is span(Q^H U_s), since Q^H R_fb Q is real.
    """
    xp = prep.xp
    p = math.prod(dims)
    if min(dims) < 2:
        raise ValueError(f"ESPRIT needs at least 2 samples in every dimension (shift invariance); "
                         f"got (sub)array shape {tuple(dims)}.")
    limit = min((d - 1) * p // d for d in dims)
    if fft_tensor is not None:
        n_cols = prep.n_cols
        k = check_n_sources(k_arg, p, n_cols, limit=limit,
                            why="shift invariance needs K <= (M_r - 1) * prod(others) in every dimension")
        u, vals, noise = smoothed_subspace_fft(fft_tensor, tuple(dims), k, forward_backward=unitary or fft_fb)
        check_subspace_support(xp, vals, noise, k, n_elements=p, n_columns=n_cols)
        if unitary:
            # Q^H R_fb Q is real: its signal subspace is span(Q^H u), which has a real basis
            w = u
            for r, d in enumerate(dims):
                w = _mode_apply(w, dims, r, np.conj(unitary_q(d)).T, xp)
            left, _, _ = np.linalg.svd(np.concatenate([w.real, w.imag], axis=-1), full_matrices=False)
            u = np.ascontiguousarray(left[..., :k])
        return k, *_shift_freqs(xp, u, dims, unitary, method, pairing), vals
    from_mdl = k_arg is None
    if k_arg is None:
        if prep.n_cols is None:
            raise ValueError("`n_sources`=None (MDL) needs snapshots; with covariance=True pass `n_sources`.")
        _, vals_all, _ = dominant_subspace(xp, 1, data=prep.data, method="eigh")
        k_arg = order_for_batch(xp, vals_all, prep.n_cols)
        if k_arg == 0:
            raise ValueError("MDL detected no source above the noise (K = 0); pass `n_sources` to force an estimate.")
    n_cols = None if prep.n_cols is None else prep.n_cols * (2 if unitary else 1)
    try:
        k = check_n_sources(k_arg, p, n_cols, limit=limit,
                            why="shift invariance needs K <= (M_r - 1) * prod(others) in every dimension")
    except ValueError as exc:
        if not from_mdl:
            raise
        raise ValueError(f"MDL (n_sources=None) estimated K = {k_arg} sources, more than this (sub)array "
                         f"{tuple(dims)} can resolve ({exc}); pass `n_sources` or larger subarrays.") from exc
    qs = [unitary_q(d) for d in dims]
    if unitary:
        if prep.data is not None:
            w = prep.data
            for r, q in enumerate(qs):
                w = _mode_apply(w, dims, r, asarray_like(q.conj().T, xp, dtype=xp.complex128), xp)
            # sqrt(2) [Re W, Im W] spans T(X) and has Gram matrix Q^H R_fb Q * n_cols
            real = math.sqrt(2.0) * xp.concat([xp.real(w), xp.imag(w)], axis=-1)
            u, vals, noise = dominant_subspace(xp, k, data=real, method=subspace_method)
        else:
            qf = np.ones((1, 1), dtype=np.complex128)
            for q in qs:
                qf = np.kron(qf, q)
            qx = asarray_like(qf, xp, dtype=xp.complex128)
            g = xp.real(ct(xp, qx) @ prep.cov @ qx)
            u, vals, noise = dominant_subspace(xp, k, cov=0.5 * (g + xp.matrix_transpose(g)), method=subspace_method)
    else:
        u, vals, noise = dominant_subspace(xp, k, data=prep.data, cov=prep.cov, method=subspace_method)
    check_subspace_support(xp, vals, noise, k, n_elements=p, n_columns=n_cols)
    return k, *_shift_freqs(xp, u, dims, unitary, method, pairing), vals


def _shift_freqs(xp, u, dims, unitary, method, pairing="eig"):
    """Shift-invariance equations per dimension on the signal subspace u, then pairing."""
    r_dims = len(dims)
    qs = [unitary_q(d) for d in dims] if unitary else None
    mats = []
    for r, d in enumerate(dims):
        if unitary:
            j2 = np.eye(d)[1:]
            core = unitary_q(d - 1).conj().T @ j2 @ qs[r]
            k1 = asarray_like(2.0 * core.real, xp, dtype=xp.float64)
            k2 = asarray_like(2.0 * core.imag, xp, dtype=xp.float64)
            if method == "sls":
                mats.append(_solve_shift_sls(u, k1, k2, xp))
                continue
            e1, e2 = _mode_apply(u, dims, r, k1, xp), _mode_apply(u, dims, r, k2, xp)
        else:
            j1 = asarray_like(np.eye(d)[:-1], xp, dtype=u.dtype)
            j2 = asarray_like(np.eye(d)[1:], xp, dtype=u.dtype)
            if method == "sls":
                mats.append(_solve_shift_sls(u, j1, j2, xp))
                continue
            e1, e2 = _mode_apply(u, dims, r, j1, xp), _mode_apply(u, dims, r, j2, xp)
        mats.append(_solve_shift(e1, e2, xp, method))
    if r_dims == 1:
        lam = _eig(mats[0], xp, vectors=False)
        freqs = (2.0 * xp.atan(xp.real(lam)) if unitary else xp.atan2(xp.imag(lam), xp.real(lam)))[..., None]
    elif pairing == "eig":
        comb = mats[0] + 0j
        for r in range(1, r_dims):
            comb = comb + complex(math.cos(_PAIR_PHASE * r), math.sin(_PAIR_PHASE * r)) * mats[r]
        _, t = _eig(comb, xp, vectors=True)
        cols = []
        for r in range(r_dims):
            diag = xp.linalg.diagonal(xp.linalg.solve(t, xp.astype(mats[r], xp.complex128) @ t))
            cols.append(_to_freq(diag, unitary, xp))
        freqs = xp.stack(cols, axis=-1)
    else:
        diag = schur_pairing(mats, xp, real=unitary)                     # (B, R, K)
        freqs = xp.stack([_to_freq(diag[:, r, :], unitary, xp) for r in range(r_dims)], axis=-1)
    return (sort_rows(freqs, xp),)


def _to_freq(diag, unitary, xp):
    """Frequencies from eigenvalues: 2 arctan(omega) (Unitary ESPRIT) or arg(lambda)."""
    return 2.0 * xp.atan(xp.real(diag)) if unitary else xp.atan2(xp.imag(diag), xp.real(diag))


def schur_pairing(mats, xp, *, real: bool, init: bool = True, use_kernel: bool = True,
                  max_sweeps: int = MAX_SWEEPS, rtol: float = RTOL):
    r"""Paired eigenvalues of R shift matrices by a simultaneous Schur decomposition.

    Each :math:`\boldsymbol\Upsilon_r` (B, K, K) is scaled to unit Frobenius norm (the joint
    criterion is then scale-free, e.g. across delay and Doppler), the common basis is
    initialised with the Schur vectors of the fixed combination of the ``"eig"`` pairing
    (QR of its eigenvectors; real for Unitary ESPRIT: real and imaginary parts of complex
    eigenvector pairs) unless ``init`` is False, and Jacobi sweeps (:mod:`estimators.subspace._schur_kernels`:
    numba, on the host for other namespaces; the vectorised twin with ``use_kernel=False``) minimise
    :math:`\sum_r\|\mathrm{tril}_{-1}(\mathbf Q^H\boldsymbol\Upsilon_r\mathbf Q)\|_F^2`.
    Returns the diagonals (B, R, K), complex, in the original scale, in one common order.
    """
    if use_kernel and not is_numpy_namespace(xp):
        # K x K matrices: the sweeps run on the host (numba kernel) and the diagonals move back;
        # the vectorised twin is kernel-launch bound on a GPU
        host = [to_numpy(m) for m in mats]
        diag = schur_pairing(host, get_xp(host[0]), real=real, init=init, use_kernel=True,
                             max_sweeps=max_sweeps, rtol=rtol)
        return asarray_like(diag, xp)
    r_dims = len(mats)
    stack = xp.stack([xp.astype(m, xp.complex128) for m in mats], axis=1)        # (B, R, K, K)
    k = stack.shape[-1]
    nrm = xp.sqrt(xp.sum(xp.real(stack) ** 2 + xp.imag(stack) ** 2, axis=(-2, -1)))
    nrm = xp.where(nrm > 0, nrm, xp.ones_like(nrm))
    stack = stack / xp.astype(nrm, xp.complex128)[..., None, None]
    if init:
        if real:
            comb = stack[:, 0, ...]
            for r in range(1, r_dims):
                comb = comb + math.cos(_PAIR_PHASE * r) * stack[:, r, ...]
            lam, t = _eig(xp.real(comb), xp, vectors=True)
            t = xp.where((xp.imag(lam) >= 0)[:, None, :], xp.real(t), xp.imag(t))   # real span of pairs
            q0, _ = xp.linalg.qr(xp.astype(t, xp.float64))
            q0 = xp.astype(q0, xp.complex128)
        else:
            comb = stack[:, 0, ...]
            for r in range(1, r_dims):
                comb = comb + complex(math.cos(_PAIR_PHASE * r), math.sin(_PAIR_PHASE * r)) * stack[:, r, ...]
            _, t = _eig(comb, xp, vectors=True)
            q0, _ = xp.linalg.qr(xp.astype(t, xp.complex128))
        stack = ct(xp, q0)[:, None, ...] @ stack @ q0[:, None, ...]
    else:
        q0 = xp.broadcast_to(xp.eye(k, dtype=xp.complex128), (stack.shape[0], k, k))
    if use_kernel and is_numpy_namespace(xp):
        a = np.array(stack, dtype=np.complex128, order="C", copy=True)
        q = np.array(q0, dtype=np.complex128, order="C", copy=True)
        ssd_kernel(a, q, bool(real), int(max_sweeps), float(rtol), np.zeros(a.shape[0], dtype=np.int64))
    else:
        a, q, _ = ssd_sweeps_xp(stack, q0, xp, real=bool(real), max_sweeps=max_sweeps, rtol=rtol)
    return xp.linalg.diagonal(a) * xp.astype(nrm, xp.complex128)[..., None]


def _fft_path(xp, tensor, r_dims, subarray_shape, n_sources, snapshots, covariance, subspace_method):
    """(Prepared, subarray, flattened tensor) for the matrix-free smoothed subspace, or None.

    Taken for ``subspace_method="fft"``, or with ``"auto"`` when the explicit smoothed matrix
    would hold at least 2**22 entries; it needs NumPy input, one snapshot, a given
    ``subarray_shape`` and ``n_sources`` (MDL needs every eigenvalue).
    """
    if subspace_method not in ("auto", "fft"):
        return None
    usable = (is_numpy_namespace(xp) and not covariance and not snapshots and subarray_shape is not None
              and n_sources is not None)
    if not usable:
        if subspace_method == "fft":
            raise ValueError("`subspace_method`='fft' needs a NumPy single-snapshot tensor, `subarray_shape` "
                             "and `n_sources`; use 'auto' otherwise.")
        return None
    x = check_array(tensor, "tensor", min_ndim=r_dims, kind=("real floating", "complex floating"), xp=xp)
    dims = tuple(int(d) for d in x.shape[x.ndim - r_dims:])
    sub = check_shape_seq(subarray_shape, "subarray_shape")
    if len(sub) != r_dims:
        raise ValueError(f"`subarray_shape` must have {r_dims} entries; got {len(sub)}.")
    for i, (s_, d) in enumerate(zip(sub, dims)):
        if not 1 <= s_ <= d:
            raise ValueError(f"`subarray_shape[{i}]` must be in [1, {d}]; got {s_}.")
    if subspace_method == "auto" and not fft_path_pays(dims, sub):
        return None
    batch = tuple(x.shape[: x.ndim - r_dims])
    flat = np.ascontiguousarray(np.reshape(np.asarray(x, dtype=np.complex128), (-1,) + dims))
    n_cols = math.prod(d - s_ + 1 for d, s_ in zip(dims, sub))
    prep = Prepared(xp, None, None, batch, math.prod(sub), n_cols, real_dtype_for(xp, x.dtype))
    return prep, tuple(sub), flat


def _line_result(prep, k, freqs, vals, geometry, lam, d_ula):
    xp = prep.xp
    f = freqs[..., 0]
    if geometry is None:
        est = f
    else:
        est = xp.asin(xp.clip(f / (2 * math.pi * d_ula / lam), -1.0, 1.0))
    out = prep.out_real
    return LineEstimate(
        estimates=shape_back(xp.astype(est, out), prep.batch, xp),
        parameter="frequency_rad" if geometry is None else "azimuth_rad",
        n_sources=k,
        frequencies=shape_back(xp.astype(f, out), prep.batch, xp),
        eigenvalues=shape_back(xp.astype(vals, out), prep.batch, xp),
    )


def _line_iv(xp, data, geometry, wavelength_m, covariance, smoothing, forward_backward, method):
    check_choice(method, "method", _LSQ_LINE)
    check_bool(covariance, "covariance")
    check_bool(forward_backward, "forward_backward")
    d_ula = None
    lam = optional_geometry(geometry, wavelength_m)
    if geometry is not None:
        d_ula = ula_spacing(geometry)
        if d_ula is None:
            raise ValueError(f"ESPRIT needs a uniform linear array along y (sensing.ula); got a "
                             f"{geometry.kind} array. Use estimators.music for arbitrary arrays.")
    prep = prepare_data(xp, data, covariance=covariance, smoothing=smoothing, forward_backward=False)
    dims = (prep.m,)
    if geometry is not None and smoothing is None and dims[0] != geometry.n_elements:
        raise ValueError(f"`data` has {dims[0]} elements but `geometry` has {geometry.n_elements}.")
    return prep, dims, lam, d_ula


def esprit(data: Array, *, n_sources: int | None = None, geometry: ArrayGeometry | None = None,
           wavelength_m: float | None = None, covariance: bool = False, smoothing: int | None = None,
           forward_backward: bool = False, method: str = "ls", subspace_method: str = "auto") -> LineEstimate:
    r"""Standard (complex) ESPRIT for a ULA or any Vandermonde dimension.

    Parameters
    ----------
    data : array, shape (..., n_elements, n_snapshots) or (..., n_elements, n_elements)
        Snapshots (or a covariance with ``covariance=True``); leading axes are independent
        problems.
    n_sources : int, optional
        :math:`K \in [1, M_s-1]`; ``None``: MDL (snapshot input, one order per batch).
    geometry : ArrayGeometry, optional
        ULA along :math:`y`: ``estimates`` become azimuths [rad]; ``None``: frequencies
        :math:`\mu` [rad/sample] (Roy-Kailath; :math:`\hat\mu = \arg\lambda(\boldsymbol\Psi)`,
        :math:`+\mu` for steering :math:`[e^{j\mu i}]`).
    wavelength_m : float, optional
        Required with ``geometry``.
    covariance : bool, default=False
        Whether ``data`` is a covariance.
    smoothing : int, optional
        Spatial-smoothing subarray size :math:`M_s`.
    forward_backward : bool, default=False
        Forward-backward averaging.
    method : {"ls", "tls", "sls"}, default="ls"
        Least squares or total least squares for the shift equation (:func:`unitary_esprit`:
        default "tls", see there), or structured least squares (SLS, Haardt 1997): one
        Gauss-Newton step from the LS solution of
        :math:`\min_{\boldsymbol\Psi,\Delta\mathbf E}\|[\mathbf J_1(\mathbf E_s+\Delta\mathbf E)\boldsymbol\Psi
        - \mathbf J_2(\mathbf E_s+\Delta\mathbf E);\;\kappa\Delta\mathbf E]\|_F`, :math:`\kappa = 1`, which
        keeps the overlap of the two subarrays (the same rows of :math:`\mathbf E_s` perturbed
        alike on both sides). Monte Carlo, 400 trials, RMSE / stochastic CRB per source, two
        uncorrelated sources: M = 10, N = 50, 5 dB, azimuths (0.10, 0.25) rad: LS 1.33 / 1.41,
        TLS 1.33 / 1.40, SLS 1.07 / 1.13; M = 16, N = 100, 0 dB, (0, 0.08) rad: LS 1.57 / 1.57,
        SLS 1.21 / 1.17. Cost: a dense :math:`(2M-1)K\times(M+K)K` least-squares step per
        problem (M = 64, K = 3: about 35 ms against 9 ms for LS).
    subspace_method : {"auto", "eigh", "iterative"}, default="auto"
        Signal-subspace solver.

    Returns
    -------
    LineEstimate
        ``estimates`` and ``frequencies`` (..., K) ascending.

    Raises
    ------
    ValueError
        NaN/inf, :math:`K \ge M_s`, rank-deficient data, non-ULA geometry.
    TypeError
        Wrong argument types.

    References
    ----------
    R. Roy and T. Kailath, "ESPRIT - estimation of signal parameters via rotational invariance
    techniques," IEEE Trans. ASSP, 37(7), 1989.
    M. Haardt, "Structured least squares to improve the performance of ESPRIT-type algorithms,"
    IEEE Trans. Signal Process., 45(3), pp. 792-799, 1997 (``method="sls"``).

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import steering_vector, ula
    >>> from estimators import esprit
    >>> g = ula(8, 0.5)
    >>> rng = np.random.default_rng(0)
    >>> s = rng.standard_normal((2, 100)) + 1j * rng.standard_normal((2, 100))
    >>> x = steering_vector(g, np.array([-0.4, 0.3]), wavelength_m=1.0) @ s
    >>> x = x + 0.05 * (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape))
    >>> est = esprit(x, n_sources=2, geometry=g, wavelength_m=1.0)
    >>> np.round(est.estimates, 2), np.round(est.frequencies, 2)   # azimuth [rad], mu = pi sin(az)
    (array([-0.4,  0.3]), array([-1.22,  0.93]))
    """
    xp = get_xp(data)
    prep, dims, lam, d_ula = _line_iv(xp, data, geometry, wavelength_m, covariance, smoothing,
                                      forward_backward, method)
    if forward_backward:
        prep = _fb(prep)
    k, freqs, vals = _core(prep, dims, n_sources, unitary=False, method=method, subspace_method=subspace_method)
    return _line_result(prep, k, freqs, vals, geometry, lam, d_ula)


def _fb(prep: Prepared) -> Prepared:
    xp = prep.xp
    if prep.data is not None:
        d = xp.concat([prep.data, xp.flip(xp.conj(prep.data), axis=-2)], axis=-1)
        return Prepared(xp, d, None, prep.batch, prep.m, d.shape[-1], prep.out_real)
    c = 0.5 * (prep.cov + xp.flip(xp.conj(prep.cov), axis=(-2, -1)))
    return Prepared(xp, None, c, prep.batch, prep.m, None, prep.out_real)


def unitary_esprit(data: Array, *, n_sources: int | None = None, geometry: ArrayGeometry | None = None,
                   wavelength_m: float | None = None, covariance: bool = False, smoothing: int | None = None,
                   method: str = "tls", subspace_method: str = "auto") -> LineEstimate:
    r"""Unitary ESPRIT (real-valued, forward-backward averaging built in) for a ULA / Vandermonde dimension.

    Parameters are those of :func:`esprit` (without ``forward_backward``, which is inherent).
    Real-valued arithmetic after the :math:`\mathcal T(\cdot)` transform;
    :math:`\hat\mu = 2\arctan\omega`. Complex eigenvalues of :math:`\boldsymbol\Upsilon` (sources
    not resolved) are replaced by their real parts.

    ``method`` defaults to ``"tls"`` (by measurement). The eigenvalues :math:`\omega = \tan(\mu/2)`
    of :math:`\mathbf K_1\mathbf E_s\boldsymbol\Upsilon = \mathbf K_2\mathbf E_s` diverge as
    :math:`|\mu|\to\pi`, where :math:`\mathbf K_1\mathbf E_s` loses rank along that source; the
    LS solve then degrades, while TLS treats both sides alike (a rotation of the pair
    :math:`(\mathbf K_1, \mathbf K_2)` only shifts :math:`\mu/2`) and is unaffected. Monte Carlo,
    M = 64, N = 200, 0 dB per source, 300 trials, RMSE / stochastic CRB per source: at
    :math:`\mu = (-2.9, 0.3, 3.0)` LS 62 / 3.7 / 105, TLS 3.5 / 3.4 / 3.7 (standard LS ESPRIT
    3.6 / 3.5 / 3.9); at :math:`\mu = (-1, 0.2, 1.4)` LS 5.3 / 3.7 / 7.1, TLS 3.8 / 3.7 / 3.5.
    ``method="sls"`` (structured least squares, Haardt 1997, see :func:`esprit`) applies to the
    real equation with :math:`\mathbf K_1, \mathbf K_2` in place of :math:`\mathbf J_1, \mathbf J_2`; it
    starts from the LS solution and still recovers near :math:`|\mu| = \pi`: in the case above
    (150 trials) RMSE 5.0e-4 / 7.2e-4 / 3.8e-4 rad against TLS 12.7e-4 / 10.5e-4 / 11.6e-4.

    Returns
    -------
    LineEstimate

    References
    ----------
    M. Haardt and J. A. Nossek, "Unitary ESPRIT: how to obtain increased estimation accuracy with
    a reduced computational burden," IEEE Trans. Signal Process., 43(5), 1995.
    M. Haardt, "Structured least squares to improve the performance of ESPRIT-type algorithms,"
    IEEE Trans. Signal Process., 45(3), 1997.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import steering_vector, ula
    >>> from estimators import unitary_esprit
    >>> g = ula(8, 0.5)
    >>> rng = np.random.default_rng(0)
    >>> s = rng.standard_normal((2, 100)) + 1j * rng.standard_normal((2, 100))
    >>> x = steering_vector(g, np.array([-0.4, 0.3]), wavelength_m=1.0) @ s
    >>> x = x + 0.05 * (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape))
    >>> np.round(unitary_esprit(x, n_sources=2, geometry=g, wavelength_m=1.0).estimates, 2)
    array([-0.4,  0.3])
    """
    xp = get_xp(data)
    prep, dims, lam, d_ula = _line_iv(xp, data, geometry, wavelength_m, covariance, smoothing, False, method)
    k, freqs, vals = _core(prep, dims, n_sources, unitary=True, method=method, subspace_method=subspace_method)
    return _line_result(prep, k, freqs, vals, geometry, lam, d_ula)


def esprit_nd(tensor: Array, *, n_sources: int | None = None, n_dims: int | None = None,
              subarray_shape=None, snapshots: bool = False, covariance: bool = False, shape=None,
              unitary: bool = True, forward_backward: bool = False, method: str | None = None,
              subspace_method: str = "auto", pairing: str = "schur") -> MultiEstimate:
    r"""R-D (e.g. 3-D antenna x subcarrier x symbol) ESPRIT with automatic pairing.

    .. math::
        \mathcal X[i_1, \dots, i_R] = \sum_{k=1}^K b_k\prod_{r=1}^R e^{j\mu_{r,k}i_r} + \mathcal N

    Single snapshots are smoothed first (multidimensional smoothing: Hua, IEEE Trans. SP 40(9), 1992;
    Thakre et al., IEEE Trans. SP 58(5), 2010). For an
    OFDM channel tensor ``H[antenna, subcarrier, symbol]`` the three columns of ``estimates``
    are the spatial frequency :math:`2\pi\frac{d}{\lambda}\sin\phi`, the delay frequency
    :math:`-2\pi\Delta f\tau` and the Doppler frequency :math:`2\pi T_Of_D`; map them with
    :func:`estimators.azimuth_from_frequency`, :func:`estimators.delay_from_frequency` and
    :func:`estimators.doppler_from_frequency`.

    Parameters
    ----------
    tensor : array, shape (..., M_1, ..., M_R[, n_snapshots]) or (..., P, P)
        Data tensor (leading axes = independent problems), or a covariance of its C-order
        vectorisation with ``covariance=True`` (needs ``shape``).
    n_sources : int, optional
        :math:`K`; ``None``: MDL on the smoothed data (one order per batch).
    n_dims : int, optional
        :math:`R`; default ``len(subarray_shape)``, else ``len(shape)``, else every non-snapshot
        axis of ``tensor`` (no batch).
    subarray_shape : sequence of int, optional
        Smoothing subarray sizes :math:`M_r^s` (default: no smoothing). For one snapshot choose
        e.g. :math:`M_r^s \approx M_r/2 + 1` in the dimensions with many samples.
    snapshots : bool, default=False
        Whether the last axis of ``tensor`` holds independent snapshots.
    covariance : bool, default=False
        ``tensor`` is a covariance.
    shape : sequence of int, optional
        :math:`(M_1, \dots, M_R)` with ``covariance=True``.
    unitary : bool, default=True
        R-D Unitary ESPRIT (real-valued, forward-backward built in); False: standard complex
        R-D ESPRIT.
    forward_backward : bool, default=False
        Forward-backward averaging for the standard variant (ignored when ``unitary``).
    method : {"ls", "tls"}, optional
        Shift-equation solver; default ``"tls"`` for the unitary variant and ``"ls"`` for the
        standard one, by measurement (as :func:`unitary_esprit`): the real equations have
        eigenvalues :math:`\tan(\mu_r/2)`, and LS degrades as :math:`|\mu_r|\to\pi`. Monte Carlo,
        RMSE / standard LS ESPRIT's on the same trials: R = 1, M = 64, N = 200, 0 dB,
        :math:`\mu = (-2.9, 0.3, 3.0)`, 60 trials: LS 19 / 1.0 / 29, TLS 1.0 / 1.0 / 1.0; 2-D
        10 x 10 single snapshot, (6, 6) subarrays, 0 dB per element, three sources each with a
        :math:`|\mu_r| \ge 2.9`, 150 trials, at those four entries: LS 1.5 / 2.2 / 1.9 / 1.4, TLS 1.0 /
        1.0 / 1.0 / 1.0. (Unitary still trails standard ESPRIT by about 1.4-1.6x at the two
        inner entries :math:`\mu = 0.4, 0.3` of that case, with LS and TLS alike.)
    subspace_method : {"auto", "eigh", "iterative", "fft"}, default="auto"
        Signal-subspace solver. "fft" (NumPy, one snapshot, ``subarray_shape`` and ``n_sources``
        given) never forms the smoothed matrix: the leading eigenvectors of the
        (forward–backward) smoothed covariance come from FFT correlations with the tensor and
        SciPy's Lanczos solver (:mod:`estimators.subspace._smoothed_fft`); results equal the explicit
        path's. "auto"
        takes it when the smoothed matrix would hold ≥ 2**22 entries (e.g. 16×64×64 with
        9×16×16 subarrays: 44 M entries), else subspace iteration for large matrices.
    pairing : {"schur", "eig"}, default="schur"
        How the per-dimension frequencies are paired (module notes): the simultaneous Schur
        decomposition (Haardt-Nossek) or the eigenvectors of one fixed combination of the shift
        matrices. Ignored for R = 1. "schur" is the default by measurement (Monte Carlo, 200
        trials per case, Gaussian sources, RMSE over all K x R frequencies): never less accurate
        than "eig" beyond Monte-Carlo noise, more accurate near threshold for standard ESPRIT
        (2-D 6x6, K=3, N=10, -5 dB: RMSE 0.170 vs 0.193 rad), and consistent where "eig" is not
        -- two sources whose combination eigenvalues coincide (3-D Unitary, 20 dB: 0.0019 vs
        0.067 rad; 2-D standard, 20 dB: 0.0028 vs 0.074 rad). With NumPy the sweeps are a numba
        kernel (3-5 sweeps for K <= 4), a small part of an ``esprit_nd`` call. Other namespaces
        (CuPy) run the sweeps on the host too: the K x K matrices move to the CPU and the
        diagonals back (the vectorised batched sweep, kept as the kernel's twin, is
        kernel-launch bound on a GPU).

    Returns
    -------
    MultiEstimate
        ``estimates`` (..., K, R) frequencies [rad/sample], rows sorted by the first dimension.

    Raises
    ------
    ValueError
        NaN/inf, too many sources for the (sub)array or data columns, a dimension with < 2 samples,
        an unknown ``pairing``.
    TypeError
        Wrong argument types.

    References
    ----------
    M. Haardt and J. A. Nossek, "Simultaneous Schur decomposition of several nonsymmetric matrices
    to achieve automatic pairing in multidimensional harmonic retrieval problems," IEEE Trans.
    Signal Process., 46(1), 1998. M. D. Zoltowski, M. Haardt and C. P. Mathews, IEEE Trans. Signal
    Process., 44(2), 1996. A. Thakre, M. Haardt, F. Roemer and K. Giridhar, IEEE Trans. Signal
    Process., 58(5), 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import esprit_nd
    >>> n = [np.arange(d) for d in (6, 7, 5)]
    >>> t = sum(np.einsum("i,j,k->ijk", *[np.exp(1j * m * k) for m, k in zip(mu, n)])
    ...         for mu in [(0.4, -1.0, 0.7), (-0.9, 0.6, -1.5)])
    >>> est = esprit_nd(t, n_sources=2, subarray_shape=(4, 4, 3))
    >>> np.round(est.estimates, 3)                       # paired (mu_1, mu_2, mu_3) per source
    array([[-0.9,  0.6, -1.5],
           [ 0.4, -1. ,  0.7]])
    """
    xp = get_xp(tensor)
    check_bool(unitary, "unitary")
    check_bool(snapshots, "snapshots")
    check_bool(covariance, "covariance")
    check_bool(forward_backward, "forward_backward")
    if method is None:
        method = "tls" if unitary else "ls"
    check_choice(method, "method", _LSQ)
    check_choice(pairing, "pairing", _PAIRINGS)
    if n_dims is None:
        if subarray_shape is not None and hasattr(subarray_shape, "__len__"):
            n_dims = len(subarray_shape)
        elif covariance and shape is not None and hasattr(shape, "__len__"):
            n_dims = len(shape)
        elif covariance:
            raise ValueError("`shape` (the tensor dimensions M_1..M_R) is required with covariance=True.")
        else:
            n_dims = len(getattr(tensor, "shape", ())) - (1 if snapshots else 0)
    r_dims = check_int(n_dims, "n_dims", low=1)
    check_choice(subspace_method, "subspace_method", ("auto", "eigh", "iterative", "fft"))
    fft = _fft_path(xp, tensor, r_dims, subarray_shape, n_sources, snapshots, covariance, subspace_method)
    if fft is not None:
        prep, dims, flat = fft
        k, freqs, vals = _core(prep, dims, n_sources, unitary=unitary, method=method,
                               subspace_method=subspace_method, fft_tensor=flat, fft_fb=forward_backward,
                               pairing=pairing)
    else:
        prep, dims = prepare_tensor(xp, tensor, r_dims, subarray_shape=subarray_shape, snapshots=snapshots,
                                    forward_backward=False, covariance=covariance, shape=shape)
        if forward_backward and not unitary:
            prep = _fb(prep)
        k, freqs, vals = _core(prep, dims, n_sources, unitary=unitary, method=method,
                               subspace_method=subspace_method, pairing=pairing)
    out = prep.out_real
    return MultiEstimate(
        estimates=shape_back(xp.astype(freqs, out), prep.batch, xp),
        parameters=tuple("frequency_rad" for _ in range(r_dims)),
        n_sources=k,
        eigenvalues=shape_back(xp.astype(vals, out), prep.batch, xp),
    )

r"""PLAIN stage 3: input-based fusion of the per-mode candidates.

Tensor-OMP (default) or Tensor-LS over the Kronecker product of the per-mode candidate
dictionaries, on the compressed tensor, giving paired triples and their gains
(arXiv:2503.21242, Sec. III-C); the analytic compression factor is then removed from the gains
(:func:`physical_gains`).
"""

from __future__ import annotations

import math

import numpy as np

from sensing import (
    asarray_like,
    is_numpy_namespace,
    to_numpy,
)

from ._plain_compression import CompressedTensor
from ._plain_kernels import (
    tensor_omp_kernel,
)
from ._tensor_algebra import multi_mode_product


def dictionary(xp, omegas: np.ndarray, n: int, dtype):
    """[exp(j omega_c i)]_{i, c}, shape (n, K), in namespace xp."""
    a = np.exp(1j * np.outer(np.arange(n), omegas))
    return xp.astype(asarray_like(a, xp), dtype)


def _pinv(xp, a):
    return xp.linalg.pinv(a)


def tensor_ls(xp, y, dicts, n_sel: int):
    pinvs = [None] + [_pinv(xp, a) for a in dicts]
    core = multi_mode_product(xp, y, pinvs, 0)                                       # (S', K1, K2, K3)
    p = xp.mean(xp.abs(core) ** 2, axis=0)
    k1, k2, k3 = (int(s) for s in p.shape)
    flat = to_numpy(xp.reshape(p, (-1,)))
    n_sel = min(n_sel, flat.size)
    top = np.argsort(-flat, kind="stable")[:n_sel]
    idx = np.stack(np.unravel_index(top, (k1, k2, k3)), axis=-1)
    core_flat = xp.reshape(core, (core.shape[0], -1))
    sel = asarray_like(top, xp, dtype=xp.int64)
    gains = xp.take(core_flat, sel, axis=1)                              # (S', P)
    # residual: input minus the selected objects (sparse CP reconstruction)
    atoms = [xp.take(a, asarray_like(idx[:, m], xp, dtype=xp.int64), axis=1) for m, a in enumerate(dicts)]
    recon = _cp_objects(xp, gains, atoms)
    return idx, gains, xp.take(xp.reshape(p, (-1,)), sel), y - recon


def _cp_objects(xp, gains, atoms):
    """sum_p gains[s, p] a_p o d_p o v_p, shape (S', N1, N2, N3)."""
    a, d, v = atoms
    dv = xp.reshape(d[:, None, :] * v[None, :, :], (-1, a.shape[1]))    # (N2 N3, P)
    s = gains.shape[0]
    out = (a[None, :, :] * gains[:, None, :]) @ xp.matrix_transpose(dv)  # (S', N1, N2 N3)
    return xp.reshape(out, (s, a.shape[0], d.shape[0], v.shape[0]))


_OMP_MAX_COND = 1e6
"""The numba Tensor-OMP (inverse refits) runs when every candidate Gram has a condition number up to
this; inverse and pseudo-inverse then differ by rounding only (relative ~cond * eps <= 2e-10)."""


def tensor_omp(xp, y, dicts, n_sel: int):
    r"""Tensor-OMP with a Tucker least-squares refit on the unique selected atoms (PLAIN's default fusion).

    Same iterates as the definition (:func:`_tensor_omp_direct`), computed in the candidate
    domain: with :math:`\mathcal C_0 = \mathcal H'\times_m\hat{\mathbf A}_m^H` (once) and the
    dictionary Grams :math:`\mathbf G_m = \hat{\mathbf A}_m^H\hat{\mathbf A}_m`, the refit is
    :math:`\mathcal B = \mathcal C_0[U_1, U_2, U_3]\times_m(\mathbf G_m[U_m, U_m])^{+}` (because
    :math:`\mathbf A^{+} = (\mathbf A^H\mathbf A)^{+}\mathbf A^H`) and the residual correlation is
    :math:`\mathcal C_0 - \mathcal B\times_m\mathbf G_m[:, U_m]`; only the final residual touches
    the full tensor.

    On NumPy the selection loop is one numba kernel (:func:`_plain_kernels.tensor_omp_kernel`,
    inverse refits; it declines Grams with a condition number above :data:`_OMP_MAX_COND`), else
    :func:`_tensor_omp_xp` (pseudo-inverse refits, any namespace; the kernel's twin).
    """
    ks = tuple(int(a.shape[1]) for a in dicts)
    n_sel = min(n_sel, math.prod(ks))
    c0 = multi_mode_product(xp, y, [None] + list(dicts), 0, conj_transpose=True)          # (S', K1, K2, K3)
    grams = [xp.conj(xp.matrix_transpose(a)) @ a for a in dicts]
    if is_numpy_namespace(xp) and y.dtype == np.complex128 and n_sel > 0:
        ok, sel, uniq, counts, core = tensor_omp_kernel(np.ascontiguousarray(c0), *grams, n_sel, _OMP_MAX_COND)
        if ok and sel.shape[0]:
            sel_t = [tuple(int(i) for i in t) for t in sel]
            uniq_l = [[int(i) for i in uniq[m, :counts[m]]] for m in range(3)]
            ids = [np.asarray(u, dtype=np.int64) for u in uniq_l]
            resid = y - multi_mode_product(xp, core, [None] + [a[:, i] for a, i in zip(dicts, ids)], 0)
            return _omp_outputs(xp, core, sel_t, uniq_l, resid)
    return _tensor_omp_xp(xp, y, dicts, n_sel, c0, grams)


def _tensor_omp_xp(xp, y, dicts, n_sel: int, c0=None, grams=None):
    """Namespace-generic Tensor-OMP selection loop with pseudo-inverse refits (see :func:`tensor_omp`)."""
    ks = tuple(int(a.shape[1]) for a in dicts)
    n_sel = min(n_sel, math.prod(ks))
    if c0 is None:
        c0 = multi_mode_product(xp, y, [None] + list(dicts), 0, conj_transpose=True)      # (S', K1, K2, K3)
    if grams is None:
        grams = [xp.conj(xp.matrix_transpose(a)) @ a for a in dicts]
    corr = c0
    sel: list[tuple[int, int, int]] = []
    uniq: list[list[int]] = [[], [], []]
    core = None
    for _ in range(n_sel):
        if not _pick_next(xp, corr, ks, sel, uniq):
            break
        ids = [asarray_like(np.asarray(u), xp, dtype=xp.int64) for u in uniq]
        sub = c0
        for m in range(3):
            sub = xp.take(sub, ids[m], axis=m + 1)
        g_uu = [xp.take(xp.take(g, i, axis=0), i, axis=1) for g, i in zip(grams, ids)]
        core = multi_mode_product(xp, sub, [None] + [xp.linalg.pinv(g) for g in g_uu], 0)  # (S', |U1|, |U2|, |U3|)
        corr = c0 - multi_mode_product(xp, core, [None] + [xp.take(g, i, axis=1) for g, i in zip(grams, ids)], 0)
    if not sel:
        return np.zeros((0, 3), np.int64), xp.zeros((y.shape[0], 0), dtype=y.dtype), \
            xp.zeros((0,), dtype=xp.float64), y
    ids = [asarray_like(np.asarray(u), xp, dtype=xp.int64) for u in uniq]
    resid = y - multi_mode_product(xp, core, [None] + [xp.take(a, i, axis=1) for a, i in zip(dicts, ids)], 0)
    return _omp_outputs(xp, core, sel, uniq, resid)


def _pick_next(xp, corr, ks, sel: list, uniq: list) -> bool:
    """One Tensor-OMP pick: the unpicked triple of largest correlation energy (summed over
    snapshots) is appended to ``sel`` and its indices to ``uniq``; False when none is left."""
    e = _span_zeroed(to_numpy(xp.reshape(xp.sum(xp.abs(corr) ** 2, axis=0), (-1,))), ks, uniq)
    for t in sel:                                                       # never pick a triple twice
        e[np.ravel_multi_index(t, ks)] = -1.0
    best = int(np.argmax(e))
    if e[best] < 0:
        return False
    trip = tuple(int(i) for i in np.unravel_index(best, ks))
    sel.append(trip)
    for m in range(3):
        if trip[m] not in uniq[m]:
            uniq[m].append(trip[m])
    return True


def _span_zeroed(e: np.ndarray, ks, uniq) -> np.ndarray:
    """Set the correlation energy of the triples in the span U_1 x U_2 x U_3 of the last refit to 0.

    The least-squares residual is orthogonal to every atom of that span, so their correlation is
    zero in exact arithmetic; what is computed is rounding noise, which would otherwise decide the
    picks once the span holds every candidate (then the first unpicked triple is taken, as
    ``numpy.argmax`` does on ties). Makes every implementation pick the same triples.
    """
    if all(uniq):
        e = e.reshape(ks)
        e[np.ix_(*uniq)] = 0.0
        e = e.reshape(-1)
    return e


def _omp_outputs(xp, core, sel, uniq, resid):
    pos = np.asarray([[uniq[m].index(t[m]) for m in range(3)] for t in sel])
    u_shape = tuple(len(u) for u in uniq)
    lin = asarray_like(np.ravel_multi_index(tuple(pos.T), u_shape), xp, dtype=xp.int64)
    gains = xp.take(xp.reshape(core, (core.shape[0], -1)), lin, axis=1)  # (S', P), own triples
    powers = xp.mean(xp.abs(gains) ** 2, axis=0)
    return np.asarray(sel, dtype=np.int64), gains, powers, resid


def _tensor_omp_direct(xp, y, dicts, n_sel: int):
    """Tensor-OMP written as defined (residual, correlation and refit on the full tensor); test twin."""
    ks = tuple(int(a.shape[1]) for a in dicts)
    n_sel = min(n_sel, math.prod(ks))
    resid = y
    sel: list[tuple[int, int, int]] = []
    core = None
    uniq: list[list[int]] = [[], [], []]
    for _ in range(n_sel):
        corr = multi_mode_product(xp, resid, [None] + list(dicts), 0, conj_transpose=True)   # (S', K1, K2, K3)
        if not _pick_next(xp, corr, ks, sel, uniq):
            break
        sub = [xp.take(a, asarray_like(np.asarray(u), xp, dtype=xp.int64), axis=1) for a, u in zip(dicts, uniq)]
        core = multi_mode_product(xp, y, [None] + [_pinv(xp, a) for a in sub], 0)         # (S', |U1|, |U2|, |U3|)
        resid = y - multi_mode_product(xp, core, [None] + sub, 0)
    if not sel:
        return np.zeros((0, 3), np.int64), xp.zeros((y.shape[0], 0), dtype=y.dtype), \
            xp.zeros((0,), dtype=xp.float64), resid
    return _omp_outputs(xp, core, sel, uniq, resid)


def _g_delta(omega: np.ndarray, delta: int) -> np.ndarray:
    r""":math:`g_\Delta(\omega) = \frac1\Delta\sum_{l<\Delta}e^{j\omega l}` (block-averaging factor)."""
    if delta == 1:
        return np.ones_like(omega, dtype=complex)
    return np.exp(1j * np.outer(omega, np.arange(delta))).mean(axis=1)


def physical_gains(core_gains: np.ndarray, fine_omegas: np.ndarray, comp: CompressedTensor,
                    f0_hz: float, delays_s: np.ndarray) -> np.ndarray:
    """Remove the compression factor and shift phases; average virtual snapshots -> (S, P)."""
    s_in, n_v = comp.n_input_snapshots, comp.n_virtual
    p = core_gains.shape[1]
    g = core_gains.reshape(s_in, n_v, p)
    factor = np.ones((n_v, p), dtype=complex)
    if comp.method == "averaging":
        for m in range(3):
            factor = factor * _g_delta(fine_omegas[m], comp.deltas[m])[None, :]
    if comp.method in ("shifted_decimation", "smoothing"):
        factor = factor * np.exp(1j * comp.offsets @ fine_omegas)          # (n_v, P)
    out = (g / factor[None]).mean(axis=1)
    return out * np.exp(2j * np.pi * f0_hz * delays_s)[None, :]

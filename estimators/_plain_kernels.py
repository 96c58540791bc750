"""numba kernel for PLAIN's block-averaging compression (twin: ``_plain._block_mean`` applied per axis).

One pass over the input: each sample is added into its output block, so the 16×180×560
released-example tensor is averaged by (1, 4, 14) in ≈0.9 ms instead of ≈2–4 ms for the
per-axis NumPy reductions (one thread, this machine).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np


@nb.njit(cache=True)
def block_average_kernel(x, d1, d2, d3):  # pragma: no cover - jitted
    """x (S, N1, N2, N3) complex128 -> (S, N1//d1, N2//d2, N3//d3), means of d1*d2*d3 blocks."""
    s, r, k, tt = x.shape
    n1, n2, n3 = r // d1, k // d2, tt // d3
    out = np.zeros((s, n1, n2, n3), dtype=np.complex128)
    for a in range(s):
        for i in range(n1 * d1):
            for j in range(n2 * d2):
                o = out[a, i // d1, j // d2]
                row = x[a, i, j]
                for lo in range(n3):
                    acc = 0j
                    base = lo * d3
                    for q in range(d3):
                        acc += row[base + q]
                    o[lo] += acc
    scale = 1.0 / (d1 * d2 * d3)
    for a in range(s):
        for i in range(n1):
            for j in range(n2):
                for lo in range(n3):
                    out[a, i, j, lo] *= scale
    return out


# ------------------------------------------------------------------------------------------------
# Tensor-OMP selection loop (twin: ``_plain._tensor_omp_xp``)
# ------------------------------------------------------------------------------------------------
@nb.njit(cache=True)
def _cond_at_most(g, max_cond):  # pragma: no cover - jitted
    """Whether the Hermitian ``g`` is positive definite with condition number <= ``max_cond``."""
    w = np.linalg.eigvalsh(g)
    return w[0] > 0.0 and w[-1] <= max_cond * w[0]


@nb.njit(cache=True)
def _mode_product(x, mat, axis):  # pragma: no cover - jitted
    """x (S, A, B, C) ×_axis mat: out[..., j, ...] = sum_i mat[j, i] x[..., i, ...] (axis 1, 2 or 3)."""
    s, a, b, c = x.shape
    if axis == 1:
        out = np.zeros((s, mat.shape[0], b, c), dtype=np.complex128)
        for q in range(s):
            for j in range(mat.shape[0]):
                for i in range(a):
                    w = mat[j, i]
                    for u in range(b):
                        for v in range(c):
                            out[q, j, u, v] += w * x[q, i, u, v]
    elif axis == 2:
        out = np.zeros((s, a, mat.shape[0], c), dtype=np.complex128)
        for q in range(s):
            for t in range(a):
                for j in range(mat.shape[0]):
                    for i in range(b):
                        w = mat[j, i]
                        for v in range(c):
                            out[q, t, j, v] += w * x[q, t, i, v]
    else:
        out = np.zeros((s, a, b, mat.shape[0]), dtype=np.complex128)
        for q in range(s):
            for t in range(a):
                for u in range(b):
                    for j in range(mat.shape[0]):
                        acc = 0j
                        for i in range(c):
                            acc += mat[j, i] * x[q, t, u, i]
                        out[q, t, u, j] = acc
    return out


@nb.njit(cache=True)
def tensor_omp_kernel(c0, g1, g2, g3, n_sel, max_cond):  # pragma: no cover - jitted
    r"""Tensor-OMP in the candidate domain (the iterations of ``_plain._tensor_omp_xp``).

    ``c0`` (S, K1, K2, K3) complex128 is :math:`\mathcal H'\times_m\mathbf A_m^H`, ``g_m`` the
    dictionary Grams :math:`\mathbf A_m^H\mathbf A_m` (K_m, K_m). Each iteration picks the triple of
    largest :math:`\sum_s|\mathcal C[s, \cdot]|^2` not picked before (first one on ties, a NaN
    first as ``numpy.argmax``), refits :math:`\mathcal B = \mathcal C_0[U_1, U_2, U_3]\times_m
    \mathbf G_m[U_m, U_m]^{-1}` and updates :math:`\mathcal C = \mathcal C_0 - \mathcal B\times_m
    \mathbf G_m[:, U_m]`.

    The refit uses the plain inverse where the twin uses the pseudo-inverse: it runs only when every
    Gram is positive definite with condition number <= ``max_cond``, and by Cauchy interlacing each
    principal submatrix :math:`\mathbf G_m[U_m, U_m]` is then at least as well conditioned, so
    inverse and pseudo-inverse agree to rounding. Otherwise it returns ``ok = False`` at once and the
    caller runs the twin.

    Returns
    -------
    ok : bool
    sel : (n, 3) int64, picked triples in order
    uniq : (3, n_sel) int64, unique indices per mode in order of first use (first ``counts[m]``)
    counts : (3,) int64
    core : (S, counts[0], counts[1], counts[2]) complex128, the last refit
    """
    s, k1, k2, k3 = c0.shape
    sel = np.zeros((n_sel, 3), dtype=np.int64)
    uniq = np.zeros((3, n_sel), dtype=np.int64)
    counts = np.zeros(3, dtype=np.int64)
    core = np.zeros((s, 0, 0, 0), dtype=np.complex128)
    if not (_cond_at_most(g1, max_cond) and _cond_at_most(g2, max_cond) and _cond_at_most(g3, max_cond)):
        return False, sel[:0], uniq, counts, core
    picked = np.zeros(k1 * k2 * k3, dtype=np.bool_)
    in_u1 = np.zeros(k1, dtype=np.bool_)
    in_u2 = np.zeros(k2, dtype=np.bool_)
    in_u3 = np.zeros(k3, dtype=np.bool_)
    corr = c0.copy()
    n_found = 0
    for _ in range(n_sel):
        best = -1
        best_e = 0.0
        for a in range(k1):
            for b in range(k2):
                for c in range(k3):
                    f = (a * k2 + b) * k3 + c
                    if picked[f]:
                        e = -1.0
                    elif in_u1[a] and in_u2[b] and in_u3[c]:
                        e = 0.0
                    else:
                        e = 0.0
                        for q in range(s):
                            z = corr[q, a, b, c]
                            e += z.real * z.real + z.imag * z.imag
                    if best < 0 or e > best_e or (math.isnan(e) and not math.isnan(best_e)):
                        best = f
                        best_e = e
        if best_e < 0.0:
            break
        picked[best] = True
        trip = (best // (k2 * k3), (best // k3) % k2, best % k3)
        in_u1[trip[0]] = True
        in_u2[trip[1]] = True
        in_u3[trip[2]] = True
        for m in range(3):
            sel[n_found, m] = trip[m]
            new = True
            for i in range(counts[m]):
                if uniq[m, i] == trip[m]:
                    new = False
            if new:
                uniq[m, counts[m]] = trip[m]
                counts[m] += 1
        n_found += 1
        u1, u2, u3 = uniq[0, :counts[0]], uniq[1, :counts[1]], uniq[2, :counts[2]]
        sub = np.empty((s, u1.size, u2.size, u3.size), dtype=np.complex128)
        for q in range(s):
            for i in range(u1.size):
                for j in range(u2.size):
                    for l in range(u3.size):
                        sub[q, i, j, l] = c0[q, u1[i], u2[j], u3[l]]
        core = sub
        for m, (g, u) in enumerate(((g1, u1), (g2, u2), (g3, u3))):
            guu = np.empty((u.size, u.size), dtype=np.complex128)
            for i in range(u.size):
                for j in range(u.size):
                    guu[i, j] = g[u[i], u[j]]
            core = _mode_product(core, np.linalg.inv(guu), m + 1)
        back = core
        for m, (g, u) in enumerate(((g1, u1), (g2, u2), (g3, u3))):
            gu = np.empty((g.shape[0], u.size), dtype=np.complex128)
            for i in range(g.shape[0]):
                for j in range(u.size):
                    gu[i, j] = g[i, u[j]]
            back = _mode_product(back, gu, m + 1)
        corr = c0 - back
    return True, sel[:n_found], uniq, counts, core

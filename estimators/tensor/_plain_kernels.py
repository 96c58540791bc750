r"""numba kernels for PLAIN on NumPy input, each with a NumPy twin in ``_plain_*`` (tests: test_plain_kernels.py).

* :func:`block_average_kernel` -- block-averaging compression in one pass (twin:
  ``_plain_compression._block_mean`` per axis), instead of one NumPy reduction per axis.
* :func:`fb_real_rows_kernel`, :func:`fb_real_cols_kernel` -- the rows
  :math:`[\mathrm{Re}, \mathrm{Im}](\mathbf Q^H\mathbf Y)` of a mode unfolding, whose Gram is the
  real form of the forward-backward covariance (twin: ``_plain_modes._fb_real_rows_np``).
* :func:`plain_ic_kernel` -- PLAIN's information criterion (twin: ``_plain_modes._aic_np``).
* :func:`signal_root_music_kernel` with the toolbox's ``aberth_jacobi_kernel`` -- one mode's root-MUSIC
  (twin: ``_plain_modes._signal_root_music_np``).
* :func:`tensor_omp_kernel` -- the Tensor-OMP selection loop (twin: ``_plain_fusion._tensor_omp_xp``).
"""

from __future__ import annotations

import sensing._numba_cache  # noqa: F401  (numba's cache folder: set before any @njit below)

import cmath
import math

import numba as nb
import numpy as np

from ..subspace._kernels import aberth_jacobi_kernel


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
# Tensor-OMP selection loop (twin: ``_plain_fusion._tensor_omp_xp``)
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
    r"""Tensor-OMP in the candidate domain (the iterations of ``_plain_fusion._tensor_omp_xp``).

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


# ------------------------------------------------------------------------------------------------
# signal-subspace root-MUSIC of one mode (twin: ``_plain_modes._signal_root_music_np``)
# ------------------------------------------------------------------------------------------------


@nb.njit(cache=True)
def signal_root_music_kernel(vs, k, merge, max_iter, tol):  # pragma: no cover - jitted
    r"""PLAIN's signal-subspace root-MUSIC on the signal eigenvectors ``vs`` (m, K) complex128.

    Coefficients :math:`c_l = \sum_{c - r = l}(\mathbf V_s\mathbf V_s^H)_{r,c}` (lag
    :math:`l = -(m-1)\dots m-1`) minus :math:`m` at lag 0, roots by :func:`aberth_jacobi_kernel`,
    then the reference rule: roots sorted by :math:`|1 - |z||` (stable), taken greedily, skipping a
    root whose angle is within ``merge`` of one already taken, until ``k``.

    Returns (ok, angles, radii); ``ok`` is False (nothing computed) when the leading coefficient
    is negligible or the iteration did not converge: the caller then runs the twin.
    """
    m, n_vec = vs.shape
    coef = np.zeros(2 * m - 1, dtype=np.complex128)            # index l + m - 1
    for r in range(m):
        for c in range(m):
            acc = 0j
            for i in range(n_vec):
                acc += vs[r, i] * np.conj(vs[c, i])
            coef[c - r + m - 1] += acc
    coef[m - 1] -= m
    poly = coef[::-1].copy()                                   # highest power (lag m-1) first
    peak = 0.0
    for i in range(poly.shape[0]):
        peak = max(peak, abs(poly[i]))
    empty = np.zeros(0)
    if not abs(poly[0]) > 1e-13 * peak:
        return False, empty, empty
    roots, ok = aberth_jacobi_kernel(poly, max_iter, tol)
    if not ok:
        return False, empty, empty
    dist = np.empty(roots.shape[0])
    for i in range(roots.shape[0]):
        dist[i] = abs(1.0 - abs(roots[i]))
    order = np.argsort(dist, kind="mergesort")
    picked = np.empty(k, dtype=np.complex128)
    n_p = 0
    for o in order:
        z = roots[o]
        if z == 0 or not (math.isfinite(z.real) and math.isfinite(z.imag)):
            continue
        close = False
        for j in range(n_p):
            if abs(cmath.phase(z * np.conj(picked[j]))) < merge:
                close = True
                break
        if close:
            continue
        picked[n_p] = z
        n_p += 1
        if n_p == k:
            break
    ang = np.empty(n_p)
    rad = np.empty(n_p)
    for j in range(n_p):
        ang[j] = cmath.phase(picked[j])
        rad[j] = abs(picked[j])
    return True, ang, rad


# ------------------------------------------------------------------------------------------------
# real-valued forward-backward covariance rows (twin: ``_plain_modes._fb_real_rows_np``)
# ------------------------------------------------------------------------------------------------
@nb.njit(cache=True)
def fb_real_rows_kernel(y3):  # pragma: no cover - jitted
    r"""Rows :math:`\mathbf W = [\mathrm{Re}\,\mathbf Z, \mathrm{Im}\,\mathbf Z]` with
    :math:`\mathbf Z = \mathbf Q^H\mathbf Y` for the mode unfolding held as ``y3`` (pre, N, post)
    complex128 (:math:`\mathbf Y[i, a\cdot post + b] = y3[a, i, b]`), and
    :math:`\max_i\lVert\mathbf Y[i, :]\rVert^2`.

    :math:`\mathbf Q` is the unitary centro-Hermitian basis of Unitary ESPRIT (with
    :math:`N = 2p` or :math:`2p+1`): row :math:`i < p` of :math:`\mathbf Z` is
    :math:`(\mathbf y_i + \mathbf y_{N-1-i})/\sqrt2`, row :math:`p + \text{odd} + i` is
    :math:`-j(\mathbf y_i - \mathbf y_{N-1-i})/\sqrt2`, the middle row of odd :math:`N` is
    :math:`\mathbf y_p`. Then :math:`\mathbf W\mathbf W^T = \mathrm{Re}(\mathbf Z\mathbf Z^H) =
    \mathbf Q^H\,\tfrac12(\mathbf Y\mathbf Y^H + \mathbf J(\mathbf Y\mathbf Y^H)^*\mathbf J)\,\mathbf Q`.
    One pass over the tensor; replaces the transposing copy of the unfolding.
    """
    pre, n, post = y3.shape
    p = n // 2
    odd = n - 2 * p
    n_col = pre * post
    w = np.empty((n, 2 * n_col))
    norms = np.zeros(n)
    h = 1.0 / math.sqrt(2.0)
    for a in range(pre):
        off = a * post
        for i in range(p):
            lo = y3[a, i]
            hi = y3[a, n - 1 - i]
            top = w[i]
            bot = w[p + odd + i]
            s_lo = 0.0
            s_hi = 0.0
            for b in range(post):
                u = lo[b]
                v = hi[b]
                top[off + b] = (u.real + v.real) * h
                top[n_col + off + b] = (u.imag + v.imag) * h
                bot[off + b] = (u.imag - v.imag) * h
                bot[n_col + off + b] = (v.real - u.real) * h
                s_lo += u.real * u.real + u.imag * u.imag
                s_hi += v.real * v.real + v.imag * v.imag
            norms[i] += s_lo
            norms[n - 1 - i] += s_hi
        if odd:
            mid = y3[a, p]
            row = w[p]
            s = 0.0
            for b in range(post):
                u = mid[b]
                row[off + b] = u.real
                row[n_col + off + b] = u.imag
                s += u.real * u.real + u.imag * u.imag
            norms[p] += s
    return w, norms.max()


@nb.njit(cache=True)
def fb_real_cols_kernel(y2):  # pragma: no cover - jitted
    """:func:`fb_real_rows_kernel` for the last mode (``post`` = 1), y2 (pre, N): returns
    ``W.T`` (2 pre, N), C-contiguous (row-wise writes), and the peak row energy."""
    pre, n = y2.shape
    p = n // 2
    odd = n - 2 * p
    wt = np.empty((2 * pre, n))
    norms = np.zeros(n)
    h = 1.0 / math.sqrt(2.0)
    for a in range(pre):
        src = y2[a]
        re = wt[a]
        im = wt[pre + a]
        for i in range(p):
            u = src[i]
            v = src[n - 1 - i]
            re[i] = (u.real + v.real) * h
            im[i] = (u.imag + v.imag) * h
            re[p + odd + i] = (u.imag - v.imag) * h
            im[p + odd + i] = (v.real - u.real) * h
        if odd:
            u = src[p]
            re[p] = u.real
            im[p] = u.imag
        for i in range(n):
            u = src[i]
            norms[i] += u.real * u.real + u.imag * u.imag
    return wt, norms.max()


@nb.njit(cache=True)
def plain_ic_kernel(eigs_desc, n_cols):  # pragma: no cover - jitted
    r"""PLAIN's :math:`\mathrm{IC}(k) = \tfrac12\mathrm{AIC}(k) + 1`, :math:`k = 1, \dots, N'-1`, from
    descending eigenvalues (twin: ``_order.criterion_from_eigenvalues(..., "aic")``, same flooring
    of vanishing eigenvalues at :math:`10^{-14}N'\max|\lambda|`, same summation order)."""
    m = eigs_desc.shape[0]
    top = 0.0
    for i in range(m):
        top = max(top, abs(eigs_desc[i]))
    floor = top * 1e-14 * m if top > 0 else 1.0
    out = np.empty(m - 1)
    s = 0.0
    sl = 0.0
    for k in range(m - 1, 0, -1):                 # tails summed from the smallest eigenvalue up
        lam = max(eigs_desc[k], floor)
        s += lam
        sl += math.log(lam)
        cnt = float(m - k)
        ratio = max(math.log(s / cnt) - sl / cnt, 0.0)
        out[k - 1] = 0.5 * (2.0 * n_cols * cnt * ratio + 2.0 * k * (2.0 * m - k)) + 1.0
    return out

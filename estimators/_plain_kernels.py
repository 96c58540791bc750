r"""numba kernels for PLAIN on NumPy input, each with a NumPy twin in ``_plain`` (tests: test_plain_kernels.py).

* :func:`block_average_kernel` -- block-averaging compression in one pass (twin: ``_block_mean`` per
  axis): the 16×180×560 released-example tensor averaged by (1, 4, 14) in ≈0.9 ms instead of
  ≈2–4 ms for the per-axis NumPy reductions (one thread, this machine).
* :func:`fb_real_rows_kernel`, :func:`fb_real_cols_kernel` -- the rows
  :math:`[\mathrm{Re}, \mathrm{Im}](\mathbf Q^H\mathbf Y)` of a mode unfolding, whose Gram is the
  real form of the forward-backward covariance (twin: ``_fb_real_rows_np``).
* :func:`plain_ic_kernel` -- PLAIN's information criterion (twin: ``_aic_np``).
* :func:`signal_root_music_kernel` with :func:`aberth_jacobi_kernel` -- one mode's root-MUSIC
  (twin: ``_signal_root_music_np``).
* :func:`tensor_omp_kernel` -- the Tensor-OMP selection loop (twin: ``_tensor_omp_xp``).
"""

from __future__ import annotations

import cmath
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


# ------------------------------------------------------------------------------------------------
# signal-subspace root-MUSIC of one mode (twin: ``_plain._signal_root_music_np``)
# ------------------------------------------------------------------------------------------------
_EPS = 2.220446049250313e-16


@nb.njit(cache=True, fastmath={"contract"})
def _horner_many(pr, pi_, pa, xr, xi, m, vr, vi, dr, di, bd):  # pragma: no cover - jitted
    """p(x), p'(x) and the rounding bound sum_i |p_i||x|^(n-i) at the points x[:m] (highest power
    first; real and imaginary parts split, roots innermost so that the loop vectorises)."""
    n = pr.shape[0] - 1
    ax = np.empty(m)
    for r in range(m):
        vr[r] = pr[0]
        vi[r] = pi_[0]
        dr[r] = 0.0
        di[r] = 0.0
        bd[r] = pa[0]
        ax[r] = math.sqrt(xr[r] * xr[r] + xi[r] * xi[r])
    for k in range(1, n + 1):
        cr = pr[k]
        ci = pi_[k]
        ca = pa[k]
        for r in range(m):
            a = xr[r]
            b = xi[r]
            v_r = vr[r]
            v_i = vi[r]
            d_r = dr[r] * a - di[r] * b + v_r
            d_i = dr[r] * b + di[r] * a + v_i
            dr[r] = d_r
            di[r] = d_i
            vr[r] = v_r * a - v_i * b + cr
            vi[r] = v_r * b + v_i * a + ci
            bd[r] = bd[r] * ax[r] + ca


@nb.njit(cache=True, fastmath={"contract", "reassoc"})
def _pair_sums_all(zr, zi, sr, si):  # pragma: no cover - jitted
    """sum_{j != i} 1/(z_i - z_j) for every i, each pair computed once (one real division per pair)."""
    n = zr.shape[0]
    for i in range(n):
        sr[i] = 0.0
        si[i] = 0.0
    for i in range(n):
        a = zr[i]
        b = zi[i]
        acc_r = 0.0
        acc_i = 0.0
        for j in range(i + 1, n):
            d_r = a - zr[j]
            d_i = b - zi[j]
            inv = 1.0 / (d_r * d_r + d_i * d_i + 1e-300)
            t_r = d_r * inv
            t_i = d_i * inv
            acc_r += t_r
            acc_i -= t_i
            sr[j] -= t_r
            si[j] += t_i
        sr[i] += acc_r
        si[i] += acc_i


@nb.njit(cache=True, fastmath={"contract"})
def _pair_sums_some(zr, zi, xr, xi, m, sr, si):  # pragma: no cover - jitted
    """sum_j 1/(x_r - z_j) over all roots z (the x_r = z_i term is 0: 0 * 1e300) for r < m."""
    n = zr.shape[0]
    for r in range(m):
        sr[r] = 0.0
        si[r] = 0.0
    for j in range(n):
        a = zr[j]
        b = zi[j]
        for r in range(m):
            d_r = xr[r] - a
            d_i = xi[r] - b
            inv = 1.0 / (d_r * d_r + d_i * d_i + 1e-300)
            sr[r] += d_r * inv
            si[r] -= d_i * inv


@nb.njit(cache=True)
def aberth_jacobi_kernel(coefs, max_iter, tol):  # pragma: no cover - jitted
    r"""All roots of one polynomial (coefficients highest power first, ``coefs[0] != 0``).

    Aberth-Ehrlich iteration in its Jacobi form: each sweep evaluates :math:`p/p'` at every active
    root at once (vectorised Horner; for :math:`|z| > 1` the reversed polynomial at :math:`1/z`)
    and moves all of them with the sums :math:`\sum_{j\ne i}1/(z_i - z_j)` of the previous
    positions. Start, stopping rules and outputs as the subspace toolbox's Gauss-Seidel
    ``aberth_kernel``: a root stops when :math:`|p(z)|` is at the rounding level
    :math:`8\epsilon\sum_i|p_i||z|^{n-i}` or its step is below ``tol``·max(1, |z|). About 1.5x
    the sweeps of the Gauss-Seidel form, each far cheaper (measured 208 -> 100 µs at degree 88).

    Returns (roots (n,) complex128, converged bool).
    """
    n = coefs.shape[0] - 1
    p = coefs / coefs[0]
    rho = abs(p[n]) ** (1.0 / n) if abs(p[n]) > 0 else 1.0
    if rho == 0.0 or not math.isfinite(rho):
        rho = 1.0
    zr = np.empty(n)
    zi = np.empty(n)
    for i in range(n):
        rad = rho * (0.8 if i % 2 == 0 else 1.25)
        ang = 2.0 * math.pi * i / n + 0.4
        zr[i] = rad * math.cos(ang)
        zi[i] = rad * math.sin(ang)
    pr = p.real.copy()
    pi_ = p.imag.copy()
    pa = np.abs(p)
    qr = pr[::-1].copy()
    qi = pi_[::-1].copy()
    qa = pa[::-1].copy()
    done = np.zeros(n, dtype=np.bool_)
    idx_in = np.empty(n, dtype=np.int64)
    idx_out = np.empty(n, dtype=np.int64)
    act = np.empty(n, dtype=np.int64)
    xr = np.empty(n)
    xi = np.empty(n)
    vr = np.empty(n)
    vi = np.empty(n)
    dr = np.empty(n)
    di = np.empty(n)
    bd = np.empty(n)
    rr = np.empty(n)
    ri = np.empty(n)
    sr = np.empty(n)
    si = np.empty(n)
    n_done = 0
    for _ in range(max_iter):
        m_in = 0
        m_out = 0
        for i in range(n):
            if not done[i]:
                if zr[i] * zr[i] + zi[i] * zi[i] <= 1.0:
                    idx_in[m_in] = i
                    m_in += 1
                else:
                    idx_out[m_out] = i
                    m_out += 1
        n_act = 0
        # |z| <= 1: Newton ratio p/p'
        for r in range(m_in):
            xr[r] = zr[idx_in[r]]
            xi[r] = zi[idx_in[r]]
        _horner_many(pr, pi_, pa, xr, xi, m_in, vr, vi, dr, di, bd)
        for r in range(m_in):
            i = idx_in[r]
            av = math.sqrt(vr[r] * vr[r] + vi[r] * vi[r])
            if av <= 8.0 * _EPS * bd[r]:                   # p(z) at rounding level (or exactly 0)
                done[i] = True
                n_done += 1
                continue
            der = complex(dr[r], di[r])
            ratio = complex(vr[r], vi[r]) / der if der != 0 else 1e-3 + 0j
            rr[i] = ratio.real
            ri[i] = ratio.imag
            act[n_act] = i
            n_act += 1
        # |z| > 1: p(z) = z^n q(1/z), p'/p = (n - w q'(w)/q(w)) / z with w = 1/z (no overflow)
        for r in range(m_out):
            w = 1.0 / complex(zr[idx_out[r]], zi[idx_out[r]])
            xr[r] = w.real
            xi[r] = w.imag
        _horner_many(qr, qi, qa, xr, xi, m_out, vr, vi, dr, di, bd)
        for r in range(m_out):
            i = idx_out[r]
            av = math.sqrt(vr[r] * vr[r] + vi[r] * vi[r])
            if av <= 8.0 * _EPS * bd[r]:
                done[i] = True
                n_done += 1
                continue
            w = complex(xr[r], xi[r])
            lg = (n - w * complex(dr[r], di[r]) / complex(vr[r], vi[r])) / complex(zr[i], zi[i])
            ratio = 1.0 / lg if lg != 0 else 1e-3 + 0j
            rr[i] = ratio.real
            ri[i] = ratio.imag
            act[n_act] = i
            n_act += 1
        if n_act == 0:
            break
        # pair sums at the previous positions: every pair once while most roots move, else per root
        if 2 * n_act > n:
            _pair_sums_all(zr, zi, sr, si)
            for r in range(n_act):
                xr[r] = sr[act[r]]
                xi[r] = si[act[r]]
        else:
            for r in range(n_act):
                vr[r] = zr[act[r]]
                vi[r] = zi[act[r]]
            _pair_sums_some(zr, zi, vr, vi, n_act, xr, xi)
        for r in range(n_act):
            i = act[r]
            ratio = complex(rr[i], ri[i])
            den = 1.0 - ratio * complex(xr[r], xi[r])
            step = ratio / den if den != 0 else ratio
            z = complex(zr[i], zi[i]) - step
            zr[i] = z.real
            zi[i] = z.imag
            if abs(step) <= tol * max(1.0, abs(z)):
                done[i] = True
                n_done += 1
        if n_done == n:
            break
    roots = np.empty(n, dtype=np.complex128)
    for i in range(n):
        roots[i] = complex(zr[i], zi[i])
    return roots, n_done == n


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
# real-valued forward-backward covariance rows (twin: ``_plain._fb_real_rows_np``)
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

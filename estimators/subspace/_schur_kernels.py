r"""Simultaneous Schur decomposition (SSD) of several square matrices by Jacobi-type sweeps.

Haardt and Nossek (1998): find one unitary :math:`\mathbf Q` (real orthogonal for real
matrices, Unitary ESPRIT) that makes all :math:`\mathbf Q^H\boldsymbol\Upsilon_r\mathbf Q`,
:math:`r = 1..R`, as upper triangular as possible,

.. math::
    \min_{\mathbf Q}\ \sum_{r=1}^R\big\|\mathrm{tril}_{-1}(\mathbf Q^H\boldsymbol\Upsilon_r\mathbf Q)\big\|_F^2 .

For matrices sharing their eigenvectors (R-D ESPRIT) the minimum is zero and the diagonals
hold the eigenvalues of every :math:`\boldsymbol\Upsilon_r` in one common order, so the
frequencies of one source are paired without any eigenvector matrix being inverted.

**Sweep.** Plane rotations :math:`\mathbf G = \begin{bmatrix}\alpha & -\bar\beta\\ \beta & \bar\alpha\end{bmatrix}`,
:math:`|\alpha|^2 + |\beta|^2 = 1`, act on rows/columns :math:`(i, j)`, :math:`i < j`, pairs taken
row-cyclically. With :math:`[\alpha, \beta] = [1, t]/\sqrt{1+|t|^2}` ("chart 0") or
:math:`[t, 1]/\sqrt{1+|t|^2}` ("chart 1", the neighbourhood of a swap; continuous in :math:`t`),
the only strictly-lower entries whose energy the rotation changes are

* the pivot :math:`(j, i)`: :math:`p_r(t)/(1+|t|^2)`, :math:`p_r(t) = \alpha_r + \beta_rt + \gamma_rt^2`
  with :math:`(\alpha, \beta, \gamma) = (a_{ji}, a_{jj} - a_{ii}, -a_{ij})` in chart 0 (reversed in chart 1);
* the entries :math:`(j, k)` and :math:`(k, i)`, :math:`i < k < j`: linear in :math:`t` over
  :math:`\sqrt{1+|t|^2}`, summarised by three aggregates;

all other strictly-lower entries move in pairs that the rotation mixes unitarily. So the
rotation minimises the exact change of the criterion: candidates are :math:`t = 0` (no
rotation) and the two roots of every :math:`p_r` (each makes one matrix's pivot exactly zero),
each expressed in the chart where :math:`|t| \le 1`; among candidates within :math:`10^{-12}` of
the best the smallest rotation is taken (the classical Jacobi choice);
the best is refined by Gauss-Newton steps on the real parameters of :math:`t` (one for real
matrices), each accepted only if it lowers the criterion, so a sweep never increases it.
Sweeps stop when the criterion falls below :math:`10^{-28}` of :math:`\sum_r\|\boldsymbol\Upsilon_r\|_F^2`,
drops by less than ``rtol`` (relative) in a sweep, or after ``max_sweeps``.

Real matrices are handled in complex arithmetic with real :math:`t` (exactly real rotations).

:func:`ssd_kernel` (numba, NumPy input, one problem per batch element, parallel over the batch)
and :func:`ssd_sweeps_xp` (its vectorised twin in any array namespace with complex arithmetic
and item assignment -- NumPy, CuPy -- batched over the leading axis with per-problem
convergence masks) do the same arithmetic in the same order. No validation here: the caller
(:func:`estimators.subspace._esprit.schur_pairing`) prepares contiguous ``complex128`` input.

References
----------
M. Haardt and J. A. Nossek, "Simultaneous Schur decomposition of several nonsymmetric matrices
to achieve automatic pairing in multidimensional harmonic retrieval problems," IEEE Trans.
Signal Process., 46(1):161-169, 1998.
"""

from __future__ import annotations

import sensing._numba_cache  # noqa: F401  (numba's cache folder: set before any @njit below)

import cmath
import math

import numba as nb
import numpy as np

__all__ = ["ssd_kernel", "ssd_sweeps_xp", "MAX_SWEEPS", "RTOL"]

MAX_SWEEPS = 30
RTOL = 1e-9
_GN_STEPS = 8
_TINY = 1e-28          # converged: off-norm below this fraction of the total energy
_STEP_TOL = 1e-15
_TIE = 1e-12        # candidates within this fraction of the pair's energy of the best count as ties


# ----------------------------------------------------------------------------------------------
# numba kernel
# ----------------------------------------------------------------------------------------------

@nb.njit(cache=True)
def _phi(chart, t, av, bv, cv, smm0, x0, snn0):
    """Criterion change of the pair for parameter t in the given chart."""
    n = 1.0 + t.real * t.real + t.imag * t.imag
    s = 0.0
    for r in range(av.shape[0]):
        if chart == 0:
            al, ga = av[r], cv[r]
        else:
            al, ga = cv[r], av[r]
        e = al + t * (bv[r] + t * ga)
        s += e.real * e.real + e.imag * e.imag
    if chart == 0:
        smm, xx, snn = smm0, x0, snn0
    else:
        smm, xx, snn = snn0, x0.conjugate(), smm0
    tx = t * xx
    lin = smm + 2.0 * tx.real + (n - 1.0) * snn
    return s / (n * n) + lin / n


@nb.njit(cache=True)
def _roots(al, be, ga):
    """Both roots of ga t^2 + be t + al = 0 (|ga| >= |al| chosen by the caller; ga == 0 -> zeros)."""
    if ga == 0:
        return 0j, 0j
    d = cmath.sqrt(be * be - 4.0 * ga * al)
    if (be.conjugate() * d).real < 0.0:
        d = -d
    qq = -0.5 * (be + d)
    t1 = qq / ga
    t2 = al / qq if qq != 0 else 0j
    return t1, t2


@nb.njit(cache=True)
def _pair(a, i, j, real, av, bv, cv):
    """(alpha, beta) of the rotation for pair (i, j) of the matrices a (R, K, K)."""
    n_r = a.shape[0]
    smm = 0.0
    snn = 0.0
    xx = 0j
    for r in range(n_r):
        av[r] = a[r, j, i]
        bv[r] = a[r, j, j] - a[r, i, i]
        cv[r] = -a[r, i, j]
        for k in range(i + 1, j):
            m1, n1 = a[r, j, k], -a[r, i, k]          # row j entries
            m2, n2 = a[r, k, i], a[r, k, j]           # column i entries
            smm += m1.real * m1.real + m1.imag * m1.imag + m2.real * m2.real + m2.imag * m2.imag
            snn += n1.real * n1.real + n1.imag * n1.imag + n2.real * n2.real + n2.imag * n2.imag
            xx += m1.conjugate() * n1 + m2.conjugate() * n2
    scale = smm + snn
    n_c = 2 * n_r + 1
    cc = np.zeros(n_c, dtype=np.int64)
    ct = np.zeros(n_c, dtype=np.complex128)
    cf = np.empty(n_c)
    for r in range(n_r):
        scale += (av[r].real * av[r].real + av[r].imag * av[r].imag + bv[r].real * bv[r].real
                  + bv[r].imag * bv[r].imag + cv[r].real * cv[r].real + cv[r].imag * cv[r].imag)
        if abs(cv[r]) >= abs(av[r]):
            chart = 0
            t1, t2 = _roots(av[r], bv[r], cv[r])
        else:
            chart = 1
            t1, t2 = _roots(cv[r], bv[r], av[r])
        if real:
            t1 = complex(t1.real, 0.0)
            t2 = complex(t2.real, 0.0)
        for q, tq in ((2 * r + 1, t1), (2 * r + 2, t2)):
            if abs(tq) > 1.0:               # the same rotation in the other chart, |t| <= 1
                cc[q], ct[q] = 1 - chart, 1.0 / tq
            else:
                cc[q], ct[q] = chart, tq
    fmin = np.inf
    for q in range(n_c):
        cf[q] = _phi(cc[q], ct[q], av, bv, cv, smm, xx, snn)
        if cf[q] < fmin:
            fmin = cf[q]
    # among the (numerically) best candidates take the smallest rotation (the classical Jacobi
    # choice; it also makes the choice between exact ties independent of rounding)
    tol = fmin + _TIE * scale
    pick = 0
    best_ang = 2.0
    for q in range(n_c):
        if cf[q] <= tol:
            a2 = ct[q].real * ct[q].real + ct[q].imag * ct[q].imag
            ang = a2 / (1.0 + a2) if cc[q] == 0 else 1.0 / (1.0 + a2)
            if ang < best_ang:
                best_ang = ang
                pick = q
    best_chart, best_t, best = cc[pick], ct[pick], cf[pick]
    chart, t = best_chart, best_t
    if chart == 0:
        smc, xc, snc = smm, xx, snn
    else:
        smc, xc, snc = snn, xx.conjugate(), smm
    for _ in range(_GN_STEPS):
        x, y = t.real, t.imag
        n = 1.0 + x * x + y * y
        n2 = n * n
        jxx = 0.0
        jyy = 0.0
        jxy = 0.0
        gx = 0.0
        gy = 0.0
        for r in range(n_r):
            if chart == 0:
                al, ga = av[r], cv[r]
            else:
                al, ga = cv[r], av[r]
            p = al + t * (bv[r] + t * ga)
            dp = bv[r] + 2.0 * ga * t
            jx = dp / n - p * (2.0 * x / n2)
            jy = 1j * dp / n - p * (2.0 * y / n2)
            e = p / n
            jxx += jx.real * jx.real + jx.imag * jx.imag
            jyy += jy.real * jy.real + jy.imag * jy.imag
            jxy += jx.real * jy.real + jx.imag * jy.imag
            gx += jx.real * e.real + jx.imag * e.imag
            gy += jy.real * e.real + jy.imag * e.imag
        m2 = smc + 2.0 * (t * xc).real + (n - 1.0) * snc
        nm = xc.conjugate() + t * snc
        n3 = n2 * n
        jxx += snc / n - 2.0 * x * nm.real / n2 + x * x * m2 / n3
        jyy += snc / n - 2.0 * y * nm.imag / n2 + y * y * m2 / n3
        jxy += -y * nm.real / n2 - x * nm.imag / n2 + x * y * m2 / n3
        gx += nm.real / n - x * m2 / n2
        gy += nm.imag / n - y * m2 / n2
        if real:
            if not jxx > 0.0:
                break
            step = complex(-gx / jxx, 0.0)
        else:
            det = jxx * jyy - jxy * jxy
            if not det > 0.0:
                break
            step = complex(-(jyy * gx - jxy * gy) / det, -(jxx * gy - jxy * gx) / det)
        if abs(step) <= _STEP_TOL * (1.0 + abs(t)):
            break
        tn = t + step
        fn = _phi(chart, tn, av, bv, cv, smm, xx, snn)
        if fn < best:
            t, best = tn, fn
            continue
        tn = t + 0.5 * step
        fn = _phi(chart, tn, av, bv, cv, smm, xx, snn)
        if fn < best:
            t, best = tn, fn
            continue
        break
    nrm = math.sqrt(1.0 + t.real * t.real + t.imag * t.imag)
    if chart == 0:
        return complex(1.0 / nrm, 0.0), t / nrm
    return t / nrm, complex(1.0 / nrm, 0.0)


@nb.njit(cache=True)
def _off(a):
    s = 0.0
    for r in range(a.shape[0]):
        for m in range(1, a.shape[1]):
            for n in range(m):
                v = a[r, m, n]
                s += v.real * v.real + v.imag * v.imag
    return s


@nb.njit(cache=True, parallel=True)
def ssd_kernel(mats, q, real, max_sweeps, rtol, sweeps):
    """mats: (B, R, K, K) complex128, triangularised in place; q: (B, K, K) complex128, the
    rotations are accumulated into it (q <- q G); real: real rotations only (real t); sweeps: (B,) int64
    output (sweeps done). Returns mats."""
    n_b, n_r, k = mats.shape[0], mats.shape[1], mats.shape[2]
    for b in nb.prange(n_b):
        a = mats[b]
        av = np.empty(n_r, dtype=np.complex128)
        bv = np.empty(n_r, dtype=np.complex128)
        cv = np.empty(n_r, dtype=np.complex128)
        tot = 0.0
        for r in range(n_r):
            for m in range(k):
                for n in range(k):
                    tot += a[r, m, n].real * a[r, m, n].real + a[r, m, n].imag * a[r, m, n].imag
        off = _off(a)
        done = 0
        while done < max_sweeps and off > _TINY * tot:
            for i in range(k - 1):
                for j in range(i + 1, k):
                    al, be = _pair(a, i, j, real, av, bv, cv)
                    alc, bec = al.conjugate(), be.conjugate()
                    for r in range(n_r):
                        for m in range(k):
                            ai, aj = a[r, m, i], a[r, m, j]
                            a[r, m, i] = al * ai + be * aj
                            a[r, m, j] = alc * aj - bec * ai
                        for m in range(k):
                            ai, aj = a[r, i, m], a[r, j, m]
                            a[r, i, m] = alc * ai + bec * aj
                            a[r, j, m] = al * aj - be * ai
                    for m in range(k):
                        qi, qj = q[b, m, i], q[b, m, j]
                        q[b, m, i] = al * qi + be * qj
                        q[b, m, j] = alc * qj - bec * qi
            done += 1
            new = _off(a)
            stop = off - new <= rtol * off
            off = new
            if stop:
                break
        sweeps[b] = done
    return mats


# ----------------------------------------------------------------------------------------------
# vectorised twin (any namespace with complex arithmetic and item assignment)
# ----------------------------------------------------------------------------------------------

def _phi_xp(xp, chart0, t, av, bv, cv, smm, xx, snn):
    """chart0: (B, C) bool; t: (B, C) complex; av..: (B, R); smm, snn: (B,) real; xx: (B,) complex."""
    n = 1.0 + xp.real(t) ** 2 + xp.imag(t) ** 2
    c0 = chart0[..., None]
    al = xp.where(c0, av[:, None, :], cv[:, None, :])
    ga = xp.where(c0, cv[:, None, :], av[:, None, :])
    tt = t[..., None]
    e = al + tt * (bv[:, None, :] + tt * ga)
    s = xp.sum(xp.real(e) ** 2 + xp.imag(e) ** 2, axis=-1)
    sm = xp.where(chart0, smm[:, None], snn[:, None])
    sn = xp.where(chart0, snn[:, None], smm[:, None])
    xc = xp.where(chart0, xx[:, None], xp.conj(xx)[:, None])
    lin = sm + 2.0 * xp.real(t * xc) + (n - 1.0) * sn
    return s / (n * n) + lin / n


def _roots_xp(xp, al, be, ga):
    zero = ga == 0
    gs = xp.where(zero, xp.ones_like(ga), ga)
    d = xp.sqrt(be * be - 4.0 * gs * al)
    d = xp.where(xp.real(xp.conj(be) * d) < 0.0, -d, d)
    qq = -0.5 * (be + d)
    qz = qq == 0
    t1 = qq / gs
    t2 = al / xp.where(qz, xp.ones_like(qq), qq)
    t2 = xp.where(qz, xp.zeros_like(t2), t2)
    return xp.where(zero, xp.zeros_like(t1), t1), xp.where(zero, xp.zeros_like(t2), t2)


def _pair_xp(xp, a, i, j, real):
    """(alpha, beta), each (B,) complex, for pair (i, j) of a (B, R, K, K)."""
    av = a[:, :, j, i]
    bv = a[:, :, j, j] - a[:, :, i, i]
    cv = -a[:, :, i, j]
    m1, n1 = a[:, :, j, i + 1:j], -a[:, :, i, i + 1:j]
    m2, n2 = a[:, :, i + 1:j, i], a[:, :, i + 1:j, j]
    ab2 = lambda z: xp.real(z) ** 2 + xp.imag(z) ** 2
    smm = xp.sum(ab2(m1) + ab2(m2), axis=(-2, -1))
    snn = xp.sum(ab2(n1) + ab2(n2), axis=(-2, -1))
    xx = xp.sum(xp.conj(m1) * n1 + xp.conj(m2) * n2, axis=(-2, -1))
    if j - i == 1:              # empty sums: keep the dtypes explicit
        xx = xp.zeros(av.shape[:1], dtype=av.dtype)
    use0 = xp.abs(cv) >= xp.abs(av)                                      # (B, R)
    t1, t2 = _roots_xp(xp, xp.where(use0, av, cv), bv, xp.where(use0, cv, av))
    bsz, n_r = av.shape
    # candidates in the kernel's order: t = 0 (chart 0), then (root 1, root 2) of each matrix
    cand_t = xp.concat([xp.zeros((bsz, 1), dtype=av.dtype), xp.reshape(xp.stack([t1, t2], axis=-1), (bsz, 2 * n_r))],
                       axis=-1)
    cand_c = xp.concat([xp.ones((bsz, 1), dtype=xp.bool), xp.reshape(xp.stack([use0, use0], axis=-1), (bsz, 2 * n_r))],
                       axis=-1)
    if real:
        cand_t = xp.astype(xp.real(cand_t), av.dtype)
    big = xp.abs(cand_t) > 1.0                        # the same rotation in the other chart, |t| <= 1
    cand_c = xp.where(big, ~cand_c, cand_c)
    cand_t = xp.where(big, 1.0 / xp.where(big, cand_t, xp.ones_like(cand_t)), cand_t)
    f = _phi_xp(xp, cand_c, cand_t, av, bv, cv, smm, xx, snn)          # (B, C)
    scale = smm + snn + xp.sum(ab2(av) + ab2(bv) + ab2(cv), axis=-1)
    fmin = xp.min(f, axis=1)
    a2 = ab2(cand_t)
    ang = xp.where(cand_c, a2 / (1.0 + a2), 1.0 / (1.0 + a2))
    ang = xp.where(f <= (fmin + _TIE * scale)[:, None], ang, xp.full_like(ang, 3.0))
    pick = xp.argmin(ang, axis=1)                                         # first of equal angles
    best = fmin
    sel = xp.arange(f.shape[1], dtype=pick.dtype)[None, :] == pick[:, None]      # one-hot (B, C)
    t = xp.sum(xp.where(sel, cand_t, xp.zeros_like(cand_t)), axis=1)
    chart0 = xp.any(sel & cand_c, axis=1)
    best = xp.sum(xp.where(sel, f, xp.zeros_like(f)), axis=1)
    smc = xp.where(chart0, smm, snn)
    snc = xp.where(chart0, snn, smm)
    xc = xp.where(chart0, xx, xp.conj(xx))
    al = xp.where(chart0[:, None], av, cv)
    ga = xp.where(chart0[:, None], cv, av)
    alive = xp.ones((bsz,), dtype=xp.bool)
    c0 = chart0[:, None]
    for _ in range(_GN_STEPS):
        if not bool(xp.any(alive)):         # every problem has stopped (saves kernel launches on GPUs)
            break
        x, y = xp.real(t), xp.imag(t)
        n = 1.0 + x * x + y * y
        n2 = n * n
        tt = t[:, None]
        p = al + tt * (bv + tt * ga)
        dp = bv + 2.0 * ga * tt
        jx = dp / n[:, None] - p * (2.0 * x / n2)[:, None]
        jy = 1j * dp / n[:, None] - p * (2.0 * y / n2)[:, None]
        e = p / n[:, None]
        jxx = xp.sum(ab2(jx), axis=-1)
        jyy = xp.sum(ab2(jy), axis=-1)
        jxy = xp.sum(xp.real(jx) * xp.real(jy) + xp.imag(jx) * xp.imag(jy), axis=-1)
        gx = xp.sum(xp.real(jx) * xp.real(e) + xp.imag(jx) * xp.imag(e), axis=-1)
        gy = xp.sum(xp.real(jy) * xp.real(e) + xp.imag(jy) * xp.imag(e), axis=-1)
        m2 = smc + 2.0 * xp.real(t * xc) + (n - 1.0) * snc
        nm = xp.conj(xc) + t * snc
        n3 = n2 * n
        jxx = jxx + (snc / n - 2.0 * x * xp.real(nm) / n2 + x * x * m2 / n3)
        jyy = jyy + (snc / n - 2.0 * y * xp.imag(nm) / n2 + y * y * m2 / n3)
        jxy = jxy + (-y * xp.real(nm) / n2 - x * xp.imag(nm) / n2 + x * y * m2 / n3)
        gx = gx + (xp.real(nm) / n - x * m2 / n2)
        gy = gy + (xp.imag(nm) / n - y * m2 / n2)
        if real:
            ok = jxx > 0.0
            den = xp.where(ok, jxx, xp.ones_like(jxx))
            step = xp.astype(-gx / den, t.dtype)
        else:
            det = jxx * jyy - jxy * jxy
            ok = det > 0.0
            den = xp.where(ok, det, xp.ones_like(det))
            step = (-(jyy * gx - jxy * gy) / den) + 1j * (-(jxx * gy - jxy * gx) / den)
        alive = alive & ok
        alive = alive & ~(xp.abs(step) <= _STEP_TOL * (1.0 + xp.abs(t)))
        tn = t + step
        fn = _phi_xp(xp, c0, tn[:, None], av, bv, cv, smm, xx, snn)[:, 0]
        acc1 = alive & (fn < best)
        th = t + 0.5 * step
        fh = _phi_xp(xp, c0, th[:, None], av, bv, cv, smm, xx, snn)[:, 0]
        acc2 = alive & ~acc1 & (fh < best)
        t = xp.where(acc1, tn, xp.where(acc2, th, t))
        best = xp.where(acc1, fn, xp.where(acc2, fh, best))
        alive = acc1 | acc2
    nrm = xp.sqrt(1.0 + xp.real(t) ** 2 + xp.imag(t) ** 2)
    inv = xp.astype(1.0 / nrm, t.dtype)
    tn = t / xp.astype(nrm, t.dtype)
    return xp.where(chart0, inv, tn), xp.where(chart0, tn, inv)


def _off_xp(xp, a, lower):
    return xp.sum(xp.where(lower, xp.real(a) ** 2 + xp.imag(a) ** 2, 0.0), axis=(-3, -2, -1))


def ssd_sweeps_xp(mats, q, xp, *, real: bool, max_sweeps: int = MAX_SWEEPS, rtol: float = RTOL):
    """Vectorised twin of :func:`ssd_kernel`: mats (B, R, K, K), q (B, K, K) complex; returns
    (mats, q, sweeps) with the same per-problem stopping rule (converged problems get identity
    rotations)."""
    a = xp.asarray(mats, copy=True)
    q = xp.asarray(q, copy=True)
    bsz, k = a.shape[0], a.shape[-1]
    lower = xp.asarray(np.tril(np.ones((k, k), dtype=bool), -1))
    tot = xp.sum(xp.real(a) ** 2 + xp.imag(a) ** 2, axis=(-3, -2, -1))
    off = _off_xp(xp, a, lower)
    active = off > _TINY * tot
    sweeps = xp.zeros((bsz,), dtype=xp.int64)
    for _ in range(max_sweeps):
        if not bool(xp.any(active)):
            break
        for i in range(k - 1):
            for j in range(i + 1, k):
                al, be = _pair_xp(xp, a, i, j, real)
                al = xp.where(active, al, xp.ones_like(al))
                be = xp.where(active, be, xp.zeros_like(be))
                al4, be4 = al[:, None, None], be[:, None, None]
                alc4, bec4 = xp.conj(al)[:, None, None], xp.conj(be)[:, None, None]
                ai, aj = a[:, :, :, i], a[:, :, :, j]
                a[:, :, :, i], a[:, :, :, j] = al4 * ai + be4 * aj, alc4 * aj - bec4 * ai
                ai, aj = a[:, :, i, :], a[:, :, j, :]
                a[:, :, i, :], a[:, :, j, :] = alc4 * ai + bec4 * aj, al4 * aj - be4 * ai
                qi, qj = q[:, :, i], q[:, :, j]
                q[:, :, i], q[:, :, j] = al4[..., 0] * qi + be4[..., 0] * qj, alc4[..., 0] * qj - bec4[..., 0] * qi
        sweeps = sweeps + xp.astype(active, xp.int64)
        new = _off_xp(xp, a, lower)
        stop = (off - new <= rtol * off) | (new <= _TINY * tot)
        off = xp.where(active, new, off)
        active = active & ~stop
    return a, q, sweeps

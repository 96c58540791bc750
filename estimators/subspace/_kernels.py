r"""numba kernels of the subspace toolbox (NumPy input only; twins in ``_reference``).

No validation and no Python objects here: the public wrappers check their inputs, allocate the
outputs and pick these kernels for NumPy arrays (a vectorised ``xp`` path serves other array
libraries).

* :func:`trig_poly_kernel` -- the real trigonometric polynomial
  :math:`q(\mu) = c_0 + 2\,\mathrm{Re}\sum_{l\ge1}c_l e^{jl\mu}` (= :math:`\mathbf a^H(\mu)\mathbf C\mathbf a(\mu)`
  for a Vandermonde :math:`\mathbf a`, with :math:`c_l` the :math:`l`-th diagonal sum of :math:`\mathbf C`)
  on a grid by Horner's rule: :math:`M` complex multiply-adds per grid point and no steering
  matrix (the MUSIC/Capon/Bartlett spectrum of a ULA).
* :func:`array_power_kernel` -- :math:`\sum_k|\mathbf a^H(\mathbf u_g)\mathbf U_{:,k}|^2` for an arbitrary array,
  steering phases computed on the fly (fused, no :math:`M\times G` matrix).
* :func:`aberth_jacobi_kernel` / :func:`aberth_kernel` (batched) -- all roots of a polynomial by
  the Aberth-Ehrlich simultaneous iteration (Jacobi updates, vectorised Horner);
  :math:`O(n^2)` per sweep instead of the :math:`O(n^3)` companion-matrix eigenvalues of
  ``numpy.roots`` (twin: ``roots_reference``). Root-MUSIC (PLAIN's too) and
  :func:`estimators.polynomial_roots` use it.
* :func:`upa_power_kernel` -- the separable az/el power of a uniform planar array.
* :func:`lattice_power_kernel` -- the az/el power of any array on a complete planar lattice
  (any orientation and element order): two exponentials per grid point and a nested Horner
  over the two lattice directions (twin: the vectorised path of ``_grid_search.lattice_power``).
* :func:`newton_geometry_kernel` / :func:`newton_trig_kernel` -- the safeguarded Newton
  refinement of MUSIC/OMP peaks for an arbitrary array (az or az/el) and for a Vandermonde
  dimension (from the diagonal sums of :math:`\mathbf U\mathbf U^H`, :math:`O(M)` per
  evaluation); the vectorised ``_grid_search.newton_refine`` is their twin.
"""

from __future__ import annotations

import sensing._numba_cache  # noqa: F401  (numba's cache folder: set before any @njit below)

import math

import numba as nb
import numpy as np

__all__ = ["trig_poly_kernel", "array_power_kernel", "aberth_kernel", "aberth_jacobi_kernel", "upa_power_kernel",
           "lattice_power_kernel", "newton_geometry_kernel", "newton_trig_kernel", "top_peaks_kernel"]

_EPS = 2.220446049250313e-16


_TRIG_BLOCK = 256


@nb.njit(cache=True, parallel=True, fastmath=True)
def trig_poly_kernel(c, mu, out):
    """c: (B, M) complex128 diagonal sums c_0..c_{M-1}; mu: (G,) float64; out: (B, G) float64.

    Horner's rule with the grid innermost on split real/imaginary accumulators, so that the
    compiler vectorises across grid points (blocks of 256 points, parallel over blocks).
    """
    n_b, m = c.shape
    n_g = mu.shape[0]
    n_blk = (n_g + _TRIG_BLOCK - 1) // _TRIG_BLOCK
    for t in nb.prange(n_b * n_blk):
        b = t // n_blk
        lo = (t - b * n_blk) * _TRIG_BLOCK
        hi = min(n_g, lo + _TRIG_BLOCK)
        w = hi - lo
        zr = np.empty(w)
        zi = np.empty(w)
        ar = np.zeros(w)
        ai = np.zeros(w)
        for g in range(w):
            zr[g] = math.cos(mu[lo + g])
            zi[g] = math.sin(mu[lo + g])
        for l in range(m - 1, 0, -1):
            cr = c[b, l].real
            ci = c[b, l].imag
            for g in range(w):
                tr = ar[g] + cr
                ti = ai[g] + ci
                ar[g] = tr * zr[g] - ti * zi[g]
                ai[g] = tr * zi[g] + ti * zr[g]
        c0 = c[b, 0].real
        for g in range(w):
            out[b, lo + g] = c0 + 2.0 * ar[g]
    return out


@nb.njit(cache=True, parallel=True, fastmath=True)
def array_power_kernel(u, pos, dirs, out):
    """u: (B, M, r) complex128; pos: (M, 3) float64 (already times 2*pi/lambda);
    dirs: (G, 3) float64 unit vectors; out: (B, G) float64 = sum_k |a_g^H u[b, :, k]|^2."""
    n_b, m, r = u.shape
    n_g = dirs.shape[0]
    for g in nb.prange(n_g):
        acc = np.zeros((n_b, r), dtype=np.complex128)
        dx, dy, dz = dirs[g, 0], dirs[g, 1], dirs[g, 2]
        for i in range(m):
            ph = pos[i, 0] * dx + pos[i, 1] * dy + pos[i, 2] * dz
            w = complex(math.cos(ph), -math.sin(ph))          # conj(a_i)
            for b in range(n_b):
                for k in range(r):
                    acc[b, k] += w * u[b, i, k]
        for b in range(n_b):
            s = 0.0
            for k in range(r):
                s += acc[b, k].real * acc[b, k].real + acc[b, k].imag * acc[b, k].imag
            out[b, g] = s
    return out


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
    positions. Start: around the circle of the geometric-mean root modulus, rotated off the real
    axis, alternating radii rho*0.8 and rho/0.8 (matches the conjugate-reciprocal root pairs of
    root-MUSIC polynomials; fewer sweeps than one circle). A root stops when
    :math:`|p(z)|` is at the rounding level :math:`8\epsilon\sum_i|p_i||z|^{n-i}` (the only
    reachable criterion for root-MUSIC's near-double roots) or its step is below
    ``tol``·max(1, |z|). More sweeps than the Gauss-Seidel form (each root updated in turn), but
    each sweep is far cheaper (all roots moved at once from the previous positions).

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



@nb.njit(cache=True, parallel=True)
def aberth_kernel(coefs, roots, converged, max_iter, tol):  # pragma: no cover - jitted
    """coefs: (B, n+1) complex128, highest power first, coefs[:, 0] != 0;
    roots: (B, n) complex128 output; converged: (B,) bool output. Returns roots.

    :func:`aberth_jacobi_kernel` per polynomial, parallel over the batch.
    """
    n_b = coefs.shape[0]
    for b in nb.prange(n_b):
        r, ok = aberth_jacobi_kernel(coefs[b], max_iter, tol)
        roots[b, :] = r
        converged[b] = ok
    return roots


@nb.njit(cache=True, parallel=True, fastmath=True)
def upa_power_kernel(w, mu_col, out):
    """Separable UPA power on an (azimuth, elevation) grid.

    w: (B, G_el, n_cols, r) complex128, the row-contracted signal subspace
    :math:`W[e, c, k] = \\sum_{row} e^{-j\\mu_{row}(e)\\,row}U[row, c, k]`; mu_col: (G_el, G_az) float64
    column phases :math:`kd_c\\cos\\vartheta_e\\sin\\phi_a`; out: (B, G_az, G_el) float64 =
    :math:`\\sum_k|\\sum_c e^{-j\\mu_{col}c}W[e, c, k]|^2` (Horner over the columns, one exp per point).
    The azimuth points are the innermost loop on split real/imaginary accumulators, so that the
    compiler vectorises across them (as in :func:`trig_poly_kernel`), which is faster than a
    scalar loop per point.
    """
    n_b, n_e, n_c, r = w.shape
    n_a = mu_col.shape[1]
    for t in nb.prange(n_b * n_e):
        b = t // n_e
        e = t - b * n_e
        zr = np.empty(n_a)
        zi = np.empty(n_a)
        acc = np.zeros(n_a)
        ar = np.empty(n_a)
        ai = np.empty(n_a)
        for a in range(n_a):
            zr[a] = math.cos(mu_col[e, a])
            zi[a] = -math.sin(mu_col[e, a])
        for k in range(r):
            wr = w[b, e, n_c - 1, k].real
            wi = w[b, e, n_c - 1, k].imag
            for a in range(n_a):
                ar[a] = wr
                ai[a] = wi
            for c in range(n_c - 2, -1, -1):
                wr = w[b, e, c, k].real
                wi = w[b, e, c, k].imag
                for a in range(n_a):
                    tr = ar[a] * zr[a] - ai[a] * zi[a] + wr
                    ai[a] = ar[a] * zi[a] + ai[a] * zr[a] + wi
                    ar[a] = tr
            for a in range(n_a):
                acc[a] += ar[a] * ar[a] + ai[a] * ai[a]
        for a in range(n_a):
            out[b, a, e] = acc[a]
    return out


_PIO2_1 = 1.57079632673412561417e+00       # first 33 bits of pi/2 (n * _PIO2_1 exact for |n| < 2^20)
_PIO2_1T = 6.07710050650619224932e-11      # pi/2 - _PIO2_1
_SINCOS_MAX = 1.0e5                        # |x| up to which :func:`_sincos_rows` is accurate (~1e-16 abs)


@nb.njit(cache=True, fastmath={"contract", "nsz"})
def _sincos_rows(x, e, cr, si):  # pragma: no cover - jitted
    """cos(x[e, :]) -> cr, -sin(x[e, :]) -> si, branch-free so that the compiler vectorises it
    (numba's math.cos/sin are scalar libm calls): Cody-Waite reduction by pi/2 (two-part
    constant, valid for |x| < ``_SINCOS_MAX``) and the fdlibm minimax polynomials on [-pi/4, pi/4].
    """
    for a in range(x.shape[1]):
        v = x[e, a]
        n = math.floor(v * 0.63661977236758134308 + 0.5)
        r = (v - n * _PIO2_1) - n * _PIO2_1T
        z = r * r
        s = r + r * z * (-1.66666666666666324348e-01 + z * (8.33333333332248946124e-03 + z * (
            -1.98412698298579493134e-04 + z * (2.75573137070700676789e-06 + z * (
                -2.50507602534068634195e-08 + z * 1.58969099521155010221e-10)))))
        c = 1.0 - 0.5 * z + z * z * (4.16666666666666019037e-02 + z * (-1.38888888888741095749e-03 + z * (
            2.48015872894767294178e-05 + z * (-2.75573143513906633035e-07 + z * (
                2.08757232129817482790e-09 + z * -1.13596475577881948265e-11)))))
        q = np.int64(n) & 3
        sin_v = c if (q & 1) == 1 else s
        cos_v = s if (q & 1) == 1 else c
        if (q & 2) == 2:
            sin_v = -sin_v
        if ((q + 1) & 2) == 2:
            cos_v = -cos_v
        cr[a] = cos_v
        si[a] = -sin_v


@nb.njit(cache=True, parallel=True, fastmath={"contract", "nsz"})
def lattice_power_kernel(ul, alpha, beta, out):  # pragma: no cover - jitted
    r"""Power of a planar-lattice array on an (azimuth, elevation) grid.

    ul: (B, n1, n2, r) complex128, the signal subspace in lattice order (element
    :math:`\mathbf p_0 + i\mathbf v_1 + j\mathbf v_2` at ``[:, i, j]``); alpha, beta: (G_el, G_az)
    float64 lattice phases :math:`k\mathbf v_{1,2}\cdot\mathbf d(\phi_a, \vartheta_e)`; out:
    (B, G_az, G_el) float64 = :math:`\sum_k|\sum_{i,j}e^{-j(i\alpha + j\beta)}U[i, j, k]|^2`.
    Phases with :math:`|\alpha|, |\beta| <` ``_SINCOS_MAX`` (the caller checks). Per point two
    exponentials (branch-free, computed once per elevation row for all problems) and a nested
    Horner (over j inside, over i outside): :math:`n_1 n_2 + n_1` complex multiply-adds per
    subspace column, no steering vector. Azimuth innermost on split real/imaginary accumulators
    (vectorised across points, as in :func:`upa_power_kernel`); parallel over elevation rows.
    """
    n_b, n1, n2, r = ul.shape
    n_e, n_a = alpha.shape
    for e in nb.prange(n_e):
        z1r = np.empty(n_a)
        z1i = np.empty(n_a)
        z2r = np.empty(n_a)
        z2i = np.empty(n_a)
        acc = np.empty(n_a)
        ar = np.empty(n_a)
        ai = np.empty(n_a)
        wr = np.empty(n_a)
        wi = np.empty(n_a)
        _sincos_rows(alpha, e, z1r, z1i)
        _sincos_rows(beta, e, z2r, z2i)
        for b in range(n_b):
            for a in range(n_a):
                acc[a] = 0.0
            for k in range(r):
                for i in range(n1 - 1, -1, -1):
                    cr = ul[b, i, n2 - 1, k].real
                    ci = ul[b, i, n2 - 1, k].imag
                    for a in range(n_a):
                        wr[a] = cr
                        wi[a] = ci
                    for j in range(n2 - 2, -1, -1):
                        cr = ul[b, i, j, k].real
                        ci = ul[b, i, j, k].imag
                        for a in range(n_a):
                            tr = wr[a] * z2r[a] - wi[a] * z2i[a] + cr
                            wi[a] = wr[a] * z2i[a] + wi[a] * z2r[a] + ci
                            wr[a] = tr
                    if i == n1 - 1:
                        for a in range(n_a):
                            ar[a] = wr[a]
                            ai[a] = wi[a]
                    else:
                        for a in range(n_a):
                            tr = ar[a] * z1r[a] - ai[a] * z1i[a] + wr[a]
                            ai[a] = ar[a] * z1i[a] + ai[a] * z1r[a] + wi[a]
                            ar[a] = tr
                for a in range(n_a):
                    acc[a] += ar[a] * ar[a] + ai[a] * ai[a]
            for a in range(n_a):
                out[b, a, e] = acc[a]
    return out


@nb.njit(cache=True)
def _geometry_objective(az, el, pos, uc, sign, fixed_el, derivs):  # pragma: no cover - jitted
    """sign*||U^H a(az, el)||^2 with gradient/Hessian over (az[, el]) for one direction.

    pos (M, 3) = element positions * 2 pi / lambda; uc (M, r) = conj(U). Twin: ``_grid_search._quad``
    with ``GeometryModel``.
    """
    ca, sa, ce, se = math.cos(az), math.sin(az), math.cos(el), math.sin(el)
    m, r = uc.shape
    g = np.zeros(r, dtype=np.complex128)
    g1 = np.zeros((2, r), dtype=np.complex128)
    g2 = np.zeros((2, 2, r), dtype=np.complex128)
    for i in range(m):
        px, py, pz = pos[i, 0], pos[i, 1], pos[i, 2]
        phi = px * ce * ca + py * ce * sa + pz * se
        a = complex(math.cos(phi), math.sin(phi))
        if not derivs:
            for j in range(r):
                g[j] += a * uc[i, j]
            continue
        d_az = -px * ce * sa + py * ce * ca
        d_el = -px * se * ca - py * se * sa + pz * ce
        dd_azaz = -px * ce * ca - py * ce * sa
        dd_azel = px * se * sa - py * se * ca
        dd_elel = -px * ce * ca - py * ce * sa - pz * se
        for j in range(r):
            au = a * uc[i, j]
            g[j] += au
            g1[0, j] += 1j * d_az * au
            g1[1, j] += 1j * d_el * au
            g2[0, 0, j] += (-d_az * d_az + 1j * dd_azaz) * au
            g2[0, 1, j] += (-d_az * d_el + 1j * dd_azel) * au
            g2[1, 1, j] += (-d_el * d_el + 1j * dd_elel) * au
    h = 0.0
    for j in range(r):
        h += g[j].real * g[j].real + g[j].imag * g[j].imag
    grad = np.zeros(2)
    hess = np.zeros((2, 2))
    if derivs:
        n_par = 1 if fixed_el else 2
        for p in range(n_par):
            acc = 0.0
            for j in range(r):
                acc += (g[j].conjugate() * g1[p, j]).real
            grad[p] = 2.0 * acc
            for q in range(p, n_par):
                acc = 0.0
                for j in range(r):
                    acc += (g1[p, j] * g1[q, j].conjugate()).real + (g[j].conjugate() * g2[p, q, j]).real
                hess[p, q] = 2.0 * acc
                hess[q, p] = hess[p, q]
    return sign * h, sign * grad, sign * hess


@nb.njit(cache=True)
def newton_geometry_kernel(theta, el_fixed, pos, uc, sign, step, lower, upper, n_iter, tol):  # pragma: no cover
    """Safeguarded Newton on sign*||U^H a||^2 per (problem, source): theta (B, K, R), R = 1 (az at
    elevation ``el_fixed``) or 2 (az, el); uc (B, M, r). Same rules as ``_grid_search.newton_refine``:
    steps clipped to ``step``, taken only with a positive-definite Hessian, halved up to three
    times until the objective does not increase; stops at a step <= ``tol``."""
    n_b, n_k, n_r = theta.shape
    out = theta.copy()
    fixed = n_r == 1
    for b in range(n_b):
        u = uc[b]
        for k in range(n_k):
            t0 = out[b, k, 0]
            t1 = el_fixed if fixed else out[b, k, 1]
            for _ in range(n_iter):
                f0, grad, hess = _geometry_objective(t0, t1, pos, u, sign, fixed, True)
                d0 = 0.0
                d1 = 0.0
                if fixed:
                    if hess[0, 0] > 0:
                        d0 = -grad[0] / hess[0, 0]
                else:
                    det = hess[0, 0] * hess[1, 1] - hess[0, 1] * hess[1, 0]
                    if hess[0, 0] > 0 and det > 0:
                        d0 = -(hess[1, 1] * grad[0] - hess[0, 1] * grad[1]) / det
                        d1 = -(-hess[1, 0] * grad[0] + hess[0, 0] * grad[1]) / det
                d0 = min(max(d0, -step[0]), step[0])
                if not fixed:
                    d1 = min(max(d1, -step[1]), step[1])
                moved0 = 0.0
                moved1 = 0.0
                for _half in range(4):
                    c0 = min(max(t0 + d0, lower[0]), upper[0])
                    c1 = t1 if fixed else min(max(t1 + d1, lower[1]), upper[1])
                    f1, _g, _h = _geometry_objective(c0, c1, pos, u, sign, fixed, False)
                    if f1 <= f0:
                        moved0 = c0 - t0
                        moved1 = c1 - t1
                        break
                    d0 *= 0.5
                    d1 *= 0.5
                t0 += moved0
                t1 += moved1
                if max(abs(moved0), abs(moved1)) <= tol:
                    break
            out[b, k, 0] = t0
            if not fixed:
                out[b, k, 1] = t1
    return out


@nb.njit(cache=True)
def _trig_objective(mu, c, sign):  # pragma: no cover - jitted
    """sign*q(mu), sign*q'(mu), sign*q''(mu) for q(mu) = c_0 + 2 Re sum_l c_l e^{j l mu}.

    c (M,) complex diagonal sums of C = U U^H, so q(mu) = ||U^H a(mu)||^2 with a = [e^{j mu i}]_i;
    O(M) per evaluation instead of the O(M r) steering products of the twin.
    """
    m = c.shape[0]
    zr = math.cos(mu)
    zi = math.sin(mu)
    er = 1.0                     # e^{j l mu}, advanced by one complex multiply per lag
    ei = 0.0
    q = 0.0
    d1 = 0.0
    d2 = 0.0
    for l in range(1, m):
        tr = er * zr - ei * zi
        ei = er * zi + ei * zr
        er = tr
        re = c[l].real * er - c[l].imag * ei        # Re(c_l e^{j l mu})
        im = c[l].real * ei + c[l].imag * er        # Im(c_l e^{j l mu})
        q += re
        d1 -= l * im
        d2 -= l * l * re
    return sign * (c[0].real + 2.0 * q), sign * 2.0 * d1, sign * 2.0 * d2


@nb.njit(cache=True)
def newton_trig_kernel(theta, c, sign, step, lower, upper, n_iter, tol):  # pragma: no cover - jitted
    """Safeguarded Newton on sign*||U^H a(mu)||^2 for a Vandermonde a, from the diagonal sums.

    theta (B, K) float64 start points; c (B, M) complex128 diagonal sums of U U^H (see
    ``_grid_search.lowrank_diag_sums``). Same rules as ``_grid_search.newton_refine`` (its vectorised
    ``HarmonicModel`` path is the twin): steps clipped to ``step``, taken only where the second
    derivative is positive, halved up to three times until the objective does not increase;
    stops at a step <= ``tol``. Returns the refined (B, K).
    """
    n_b, n_k = theta.shape
    out = theta.copy()
    for b in range(n_b):
        cb = c[b]
        for k in range(n_k):
            t = out[b, k]
            for _ in range(n_iter):
                f0, g, h = _trig_objective(t, cb, sign)
                d = -g / h if h > 0 else 0.0
                d = min(max(d, -step), step)
                moved = 0.0
                for _half in range(4):
                    cand = min(max(t + d, lower), upper)
                    f1 = _trig_objective(cand, cb, sign)[0]
                    if f1 <= f0:
                        moved = cand - t
                        break
                    d *= 0.5
                t += moved
                if abs(moved) <= tol:
                    break
            out[b, k] = t
    return out


@nb.njit(cache=True)
def top_peaks_kernel(spec, shape, offsets, deltas, earlier, modes, strides, k, out, counts):  # pragma: no cover - jitted
    """The ``k`` largest local maxima of each row of ``spec`` (B, G) on the grid ``shape`` (R,).

    A point is a local maximum when it is ``>`` its neighbours at the lexicographically earlier
    offsets and ``>=`` those at the later ones (plateaus count once, at their first point);
    the boundary of dimension r follows ``modes[r]``: 0 (open) neighbours outside the grid are
    :math:`-\\infty`; 1 (interior) as 0, and the two end points of the dimension are never maxima;
    2 (circular) the neighbour index wraps around (a full period). offsets (n_off, R) int64, deltas
    (n_off,) flat index steps, earlier (n_off,) bool, modes (R,) int64, strides (R,) flat strides.
    Writes the flat indices by descending value (ties: lower index first) to out (B, k) and the number of local maxima found to counts (B,) -- the
    caller falls back to the vectorised twin (``_grid_search.find_peaks``) when a row has fewer than
    ``k``. One pass with an early exit per point and an insertion into a k-list, instead of 3^R - 1
    full-grid comparisons and an argpartition.
    """
    n_b, n_g = spec.shape
    n_r = shape.shape[0]
    n_off = offsets.shape[0]
    idx = np.zeros(n_r, dtype=np.int64)
    vals = np.empty(k)
    for b in range(n_b):
        n_found = 0
        for r in range(n_r):
            idx[r] = 0
        for g in range(n_g):
            v = spec[b, g]
            peak = True
            for r in range(n_r):
                if modes[r] == 1 and (idx[r] == 0 or idx[r] == shape[r] - 1):
                    peak = False
                    break
            for o in range(n_off):
                if not peak:
                    break
                inside = True
                shift = 0
                for r in range(n_r):
                    j = idx[r] + offsets[o, r]
                    if j < 0 or j >= shape[r]:
                        if modes[r] == 2:
                            shift += (shape[r] if j < 0 else -shape[r]) * strides[r]
                        else:
                            inside = False
                            break
                if inside:
                    nbv = spec[b, g + deltas[o] + shift]
                    if earlier[o]:
                        if not v > nbv:
                            peak = False
                            break
                    elif not v >= nbv:
                        peak = False
                        break
                elif earlier[o] and not v > -np.inf:
                    peak = False
                    break
            if peak:
                m = min(n_found, k)
                if m < k or v > vals[k - 1]:
                    pos = m if m < k else k - 1
                    while pos > 0 and v > vals[pos - 1]:     # strict: equal values keep index order
                        if pos < k:
                            vals[pos] = vals[pos - 1]
                            out[b, pos] = out[b, pos - 1]
                        pos -= 1
                    vals[pos] = v
                    out[b, pos] = g
                n_found += 1
            for r in range(n_r - 1, -1, -1):                 # odometer increment of the multi-index
                idx[r] += 1
                if idx[r] < shape[r]:
                    break
                idx[r] = 0
        counts[b] = n_found
    return out

r"""numba kernels of the subspace toolbox (NumPy input only; twins in ``_subspace_reference``).

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
* :func:`aberth_kernel` -- all roots of a polynomial by the Aberth-Ehrlich simultaneous
  iteration (Gauss-Seidel updates); :math:`O(n^2)` per sweep instead of the :math:`O(n^3)`
  companion-matrix eigenvalues of ``numpy.roots``. A root is accepted when its correction is
  below 1e-14 relative or when :math:`|p(z)|` falls to the rounding-error level
  :math:`8\epsilon\sum_i|p_i||z|^{n-i}` (the only reachable criterion for the near-double roots
  of root-MUSIC). Measured 6-10x faster than ``numpy.roots`` at
  degree 126 (root-MUSIC, M = 64) on one core; see benchmarks/bench_subspace.py.
"""

from __future__ import annotations

import cmath
import math

import numba as nb
import numpy as np

__all__ = ["trig_poly_kernel", "array_power_kernel", "aberth_kernel"]

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


@nb.njit(cache=True)
def _horner2(p, z):
    """p(z), p'(z) and the rounding-error bound sum_i |p_i| |z|^(n-i) (highest power first)."""
    n = p.shape[0] - 1
    val = p[0]
    der = 0j
    az = abs(z)
    bound = abs(p[0])
    for i in range(1, n + 1):
        der = der * z + val
        val = val * z + p[i]
        bound = bound * az + abs(p[i])
    return val, der, bound


@nb.njit(cache=True, parallel=True)
def aberth_kernel(coefs, roots, converged, max_iter, tol):
    """coefs: (B, n+1) complex128, highest power first, coefs[:, 0] != 0;
    roots: (B, n) complex128 output; converged: (B,) bool output. Returns roots."""
    n_b, n1 = coefs.shape
    n = n1 - 1
    for b in nb.prange(n_b):
        p = coefs[b] / coefs[b, 0]
        # start around the circle of the geometric-mean root modulus, rotated off the real axis,
        # alternating radii rho*0.8 and rho/0.8: matches the conjugate-reciprocal root pairs of
        # root-MUSIC polynomials (about 3x fewer sweeps than one circle, measured)
        rho = abs(p[n]) ** (1.0 / n) if abs(p[n]) > 0 else 1.0
        if rho == 0.0 or not math.isfinite(rho):
            rho = 1.0
        z = np.empty(n, dtype=np.complex128)
        for i in range(n):
            rad = rho * (0.8 if i % 2 == 0 else 1.25)
            z[i] = rad * cmath.exp(1j * (2.0 * math.pi * i / n + 0.4))
        zre = np.empty(n)
        zim_ = np.empty(n)
        for i in range(n):
            zre[i] = z[i].real
            zim_[i] = z[i].imag
        done = np.zeros(n, dtype=np.bool_)
        n_done = 0
        for _ in range(max_iter):
            for i in range(n):
                if done[i]:
                    continue
                zi = z[i]
                if abs(zi) <= 1.0:
                    val, der, bound = _horner2(p, zi)
                    if abs(val) <= 8.0 * _EPS * bound:      # p(z) is at rounding level: converged
                        done[i] = True
                        n_done += 1
                        continue
                    if val == 0:
                        done[i] = True
                        n_done += 1
                        continue
                    ratio = val / der if der != 0 else 1e-3 + 0j
                else:
                    # evaluate the reversed polynomial at 1/z (no overflow for |z| > 1):
                    # p(z) = z^n q(1/z), p'(z)/p(z) = (n - w q'(w)/q(w)) / z with w = 1/z
                    w = 1.0 / zi
                    q = p[::-1]
                    val, der, bound = _horner2(q, w)
                    if abs(val) <= 8.0 * _EPS * bound:
                        done[i] = True
                        n_done += 1
                        continue
                    if val == 0:
                        done[i] = True
                        n_done += 1
                        continue
                    lg = (n - w * der / val) / zi
                    ratio = 1.0 / lg if lg != 0 else 1e-3 + 0j
                # sum_j 1/(z_i - z_j) with one real division per term (complex division is slow)
                # (branch-free loops on split real/imaginary parts, so that they vectorise)
                sr = 0.0
                si = 0.0
                zr, zim = zi.real, zi.imag
                for j in range(i):
                    dr = zr - zre[j]
                    di = zim - zim_[j]
                    inv = 1.0 / (dr * dr + di * di + 1e-300)
                    sr += dr * inv
                    si -= di * inv
                for j in range(i + 1, n):
                    dr = zr - zre[j]
                    di = zim - zim_[j]
                    inv = 1.0 / (dr * dr + di * di + 1e-300)
                    sr += dr * inv
                    si -= di * inv
                s = complex(sr, si)
                den = 1.0 - ratio * s
                step = ratio / den if den != 0 else ratio
                z[i] = zi - step
                zre[i] = z[i].real
                zim_[i] = z[i].imag
                if abs(step) <= tol * max(1.0, abs(z[i])):
                    done[i] = True
                    n_done += 1
            if n_done == n:
                break
        for i in range(n):
            roots[b, i] = z[i]
        converged[b] = n_done == n
    return roots


@nb.njit(cache=True, parallel=True, fastmath=True)
def upa_power_kernel(w, mu_col, out):
    """Separable UPA power on an (azimuth, elevation) grid.

    w: (B, G_el, n_cols, r) complex128, the row-contracted signal subspace
    :math:`W[e, c, k] = \\sum_{row} e^{-j\\mu_{row}(e)\\,row}U[row, c, k]`; mu_col: (G_el, G_az) float64
    column phases :math:`kd_c\\cos\\vartheta_e\\sin\\phi_a`; out: (B, G_az, G_el) float64 =
    :math:`\\sum_k|\\sum_c e^{-j\\mu_{col}c}W[e, c, k]|^2` (Horner over the columns, one exp per point).
    """
    n_b, n_e, n_c, r = w.shape
    n_a = mu_col.shape[1]
    for t in nb.prange(n_b * n_e):
        b = t // n_e
        e = t - b * n_e
        for a in range(n_a):
            ph = mu_col[e, a]
            zr = math.cos(ph)
            zi = -math.sin(ph)
            s = 0.0
            for k in range(r):
                ar = 0.0
                ai = 0.0
                for c in range(n_c - 1, -1, -1):
                    tr = ar * zr - ai * zi + w[b, e, c, k].real
                    ti = ar * zi + ai * zr + w[b, e, c, k].imag
                    ar = tr
                    ai = ti
                s += ar * ar + ai * ai
            out[b, a, e] = s
    return out

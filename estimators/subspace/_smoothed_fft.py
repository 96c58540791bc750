r"""Signal subspace of a multidimensionally smoothed single-snapshot tensor, without the smoothed matrix.

Multidimensional smoothing (Y. Hua, "Estimating two-dimensional frequencies by matrix enhancement
and matrix pencil," IEEE Trans. SP 40(9), 1992; Thakre, Haardt, Roemer, Giridhar, "Tensor-based
spatial smoothing (TB-SS) using multiple snapshots," IEEE Trans. SP 58(5), 2010) of a tensor
:math:`\mathcal X` of size
:math:`M_1\times\dots\times M_R` with subarrays :math:`m_r` stacks :math:`n = \prod_r L_r`,
:math:`L_r = M_r - m_r + 1`, shifted subtensors as the columns of
:math:`\mathbf X_s \in \mathbb C^{P\times n}`, :math:`P = \prod_r m_r`. Forming
:math:`\mathbf X_s` costs :math:`Pn` memory and :math:`\mathbf X_s\mathbf X_s^H` costs
:math:`P^2n` operations — e.g. :math:`P = 2304`, :math:`n = 19\,208` (a 16×64×64 OFDM tensor
with 9×16×16 subarrays): 44 M entries and ~10¹¹ multiply-adds.

Both products with :math:`\mathbf X_s` are correlations with the data tensor:
:math:`(\mathbf X_s^H\mathbf v)[s] = \sum_a \mathcal X^*[a+s]v[a]` and
:math:`(\mathbf X_s\mathbf u)[a] = \sum_s \mathcal X[a+s]u[s]`. With FFTs of the full tensor size
(:math:`a + s \le M - 1`, so circular correlation equals linear correlation on the kept
indices), one application of :math:`\mathbf R = \mathbf X_s\mathbf X_s^H/n` costs two FFTs of
:math:`\prod_r M_r` points per vector, and SciPy's Lanczos solver (``eigsh``) finds the
:math:`K` leading eigenpairs of :math:`\mathbf R` (or of its forward–backward average
:math:`\tfrac12(\mathbf R + \boldsymbol\Pi\mathbf R^*\boldsymbol\Pi)`) from a few dozen such
applications. NumPy input only; the caller falls back to the explicit path otherwise.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse.linalg import LinearOperator, eigsh

__all__ = ["smoothed_subspace_fft", "fft_path_pays"]


def fft_path_pays(dims, sub) -> bool:
    """True when the explicit smoothed matrix would be large (P·n ≥ 2²² entries)."""
    p = math.prod(sub)
    n = math.prod(d - s + 1 for d, s in zip(dims, sub))
    return p * n >= 2**22 and p > 1


def _window_counts(dims, sub) -> np.ndarray:
    """How many (subarray index, shift) pairs land on each tensor sample (separable)."""
    out = np.ones(())
    for d, s in zip(dims, sub):
        c = np.convolve(np.ones(s), np.ones(d - s + 1))
        out = np.multiply.outer(out, c)
    return out


def smoothed_subspace_fft(x: np.ndarray, sub, k: int, *, forward_backward: bool = True, tol: float = 0.0):
    """Leading eigenpairs of the smoothed (optionally forward–backward) covariance, matrix-free.

    Parameters
    ----------
    x : ndarray, shape (B, M_1, ..., M_R), complex128
        Single-snapshot tensors (one problem per leading index).
    sub : tuple of int
        Subarray sizes :math:`m_r \\le M_r`.
    k : int
        Number of eigenpairs, :math:`1 \\le k < P`.
    forward_backward : bool
        Use :math:`\\tfrac12(\\mathbf R + \\boldsymbol\\Pi\\mathbf R^*\\boldsymbol\\Pi)`.
    tol : float
        ARPACK relative accuracy (0: machine precision).

    Returns
    -------
    vecs : ndarray (B, P, k), C-order vectorisation over the subarray, descending eigenvalues
    vals : ndarray (B, k), descending
    noise : ndarray (B,), :math:`(\\mathrm{tr}\\,\\mathbf R - \\sum_{i\\le k}\\lambda_i)/(P - k)`
    """
    b = x.shape[0]
    dims = tuple(int(d) for d in x.shape[1:])
    r = len(dims)
    sub = tuple(int(s) for s in sub)
    lens = tuple(d - s + 1 for d, s in zip(dims, sub))
    p, n = math.prod(sub), math.prod(lens)
    axes = tuple(range(1, r + 1))
    keep_sub = (slice(None),) + tuple(slice(0, s) for s in sub)
    keep_len = (slice(None),) + tuple(slice(0, ln) for ln in lens)
    counts = _window_counts(dims, sub)
    flip = tuple(range(1, r + 1))
    vecs = np.empty((b, p, k), dtype=np.complex128)
    vals = np.empty((b, k))
    noise = np.empty(b)
    for i in range(b):
        xf = np.fft.fftn(x[i])

        def corr(w):  # w: (q, ...) zero-padded to dims; returns sum_a x[a+s] w[a] for every s
            return np.fft.ifftn(xf[None] * np.conj(np.fft.fftn(np.conj(w), axes=axes)), axes=axes)

        def apply_r(v):  # v: (q, m_1..m_R)
            q = v.shape[0]
            pad = np.zeros((q,) + dims, dtype=np.complex128)
            pad[keep_sub] = np.conj(v)
            u = np.conj(corr(pad)[keep_len])                 # X_s^H v, over the shifts
            pad = np.zeros((q,) + dims, dtype=np.complex128)
            pad[keep_len] = u
            return corr(pad)[keep_sub] / n                   # X_s u / n, over the subarray

        def matmat(vm):
            vm = np.asarray(vm, dtype=np.complex128).reshape(p, -1)
            v = vm.T.reshape((-1,) + sub)
            out = apply_r(v)
            if forward_backward:
                vb = np.conj(np.flip(v, axis=flip))
                out = 0.5 * (out + np.flip(np.conj(apply_r(vb)), axis=flip))
            return out.reshape(out.shape[0], p).T

        op = LinearOperator((p, p), matvec=lambda v: matmat(v)[:, 0], matmat=matmat, dtype=np.complex128)
        # deterministic start vector (ARPACK's default is random)
        v0 = np.ones(p, dtype=np.complex128)
        w, v = eigsh(op, k=k, which="LA", tol=tol, v0=v0, ncv=min(p, max(2 * k + 1, 20)))
        order = np.argsort(w)[::-1]
        vecs[i] = v[:, order]
        vals[i] = w[order]
        trace = float(np.sum(np.abs(x[i]) ** 2 * counts)) / n
        noise[i] = max(trace - float(np.sum(w)), 0.0) / max(p - k, 1)
    return vecs, vals, noise

r"""PLAIN extension: per-object refinement of the fused triples (not part of the paper's algorithm).

PLAIN's stage 2 estimates each dimension on its own, so two objects whose parameters in one
dimension lie within a fraction of that dimension's Rayleigh cell must be resolved by that 1-D
estimator alone: at moderate SNR the AIC merges them into one candidate (and Tensor-OMP gives both
objects the same value) or the nearby harmonic pulls the weaker object's root. The fusion stage
separates the objects (their other two dimensions differ), but it only *pairs* candidates and never
moves them.

The refinement re-estimates every object's parameter in each dimension from its own component
(a cyclic, Gauss–Seidel sweep over the dimensions): with the current estimates, the other two
dimensions are projected onto the Khatri–Rao atoms of all objects by least squares,

.. math::
    \mathbf X_m = \mathbf Y_{(m)}\big((\mathbf F_j\odot\mathbf F_k)^{+}\big)^T
    \in \mathbb C^{N'_m\times P}\quad(\text{per snapshot}),

which nulls the other objects and leaves column :math:`p` a single harmonic of object :math:`p`;
its frequency is then the single-tone maximum-likelihood estimate
:math:`\arg\max_\omega\sum_s|\sum_n x_{s,n}e^{-j\omega n}|^2` inside half a Rayleigh cell
(:math:`\pm \pi/N'_m`) of the current value (a 33-point grid, then Newton steps). Finally the
gains are refitted by least squares on the rank-:math:`P` CP model of the refined atoms.

It runs on the host (NumPy) on the compressed tensor; the cost is a few contractions of the
compressed tensor with :math:`N'_m\times P` matrices per sweep.
"""

from __future__ import annotations

import numpy as np

__all__ = ["refine_objects", "cp_refit"]

_GRID = 33
_HALF_WIDTH_CELLS = 0.5
"""Search half-width in Rayleigh cells (2*pi/N'_m): what the decoupled stage merges or pulls lies
within about half a cell; a wider window lets low-SNR noise peaks move well-estimated objects."""
_NEWTON_STEPS = 8


def _atoms(n: int, omegas: np.ndarray) -> np.ndarray:
    return np.exp(1j * np.outer(np.arange(n), omegas))


def _own_series(y: np.ndarray, w: np.ndarray, m: int) -> np.ndarray:
    """(S', N'_m, P): each object's mode-m series with every object's other two dimensions
    projected out by least squares (Khatri–Rao pseudo-inverse)."""
    j, k = (i for i in range(3) if i != m)
    fj, fk = _atoms(y.shape[j + 1], w[j]), _atoms(y.shape[k + 1], w[k])
    yt = np.moveaxis(y, m + 1, 1)                                 # (S', N_m, N_j, N_k)
    kr = (fj[:, None, :] * fk[None, :, :]).reshape(-1, fj.shape[1])              # (N_j N_k, P)
    c = yt.reshape(yt.shape[0], yt.shape[1], -1) @ kr.conj()
    g = (fj.conj().T @ fj) * (fk.conj().T @ fk)                    # KR Gram (P, P)
    return c @ np.linalg.pinv(g, hermitian=True).T


def _single_tone(x: np.ndarray, w0: float, half_width: float) -> float:
    r"""argmax of :math:`J(\omega)=\sum_s|\sum_n x_{s,n}e^{-j\omega n}|^2` on
    :math:`[w_0 - h, w_0 + h]`: grid, then Newton steps kept while they stay inside and raise J."""
    n = np.arange(x.shape[1])

    def terms(w):
        e = np.exp(-1j * w * n)
        return x @ e, x @ (-1j * n * e), x @ (-(n ** 2) * e)

    grid = w0 + np.linspace(-half_width, half_width, _GRID)
    e = np.exp(-1j * np.outer(n, grid))                           # (N, G)
    jg = np.sum(np.abs(x @ e) ** 2, axis=0)
    w = float(grid[int(np.argmax(jg))])
    best = float(jg.max())
    for _ in range(_NEWTON_STEPS):
        a, b, c = terms(w)
        d1 = 2 * np.sum((np.conj(a) * b).real)
        d2 = 2 * np.sum((np.conj(b) * b + np.conj(a) * c).real)
        if not d2 < 0:
            break
        w_new = w - d1 / d2
        if abs(w_new - w0) > half_width:
            break
        j_new = float(np.sum(np.abs(x @ np.exp(-1j * w_new * n)) ** 2))
        if j_new < best:
            break
        step, w, best = abs(w_new - w), w_new, j_new
        if step < 1e-13:
            break
    return w


def refine_objects(y: np.ndarray, omegas: np.ndarray, *, n_sweeps: int = 2) -> np.ndarray:
    """Refined compressed-domain frequencies, shape (3, P), from the fused ones ``omegas`` (3, P)
    on the compressed tensor ``y`` (S', N'_1, N'_2, N'_3) (host arrays)."""
    w = np.array(omegas, dtype=float, copy=True)
    if w.shape[1] == 0:
        return w
    for _ in range(n_sweeps):
        for m in range(3):
            x = _own_series(y, w, m)
            h = _HALF_WIDTH_CELLS * 2 * np.pi / y.shape[m + 1]
            for p in range(w.shape[1]):
                w[m, p] = _single_tone(x[:, :, p], w[m, p], h)
    return w


def cp_refit(y: np.ndarray, omegas: np.ndarray):
    """Least-squares gains of the rank-P CP model with atoms ``exp(j omega n)`` per dimension:
    (gains (S', P), residual like ``y``)."""
    f = [_atoms(y.shape[m + 1], omegas[m]) for m in range(3)]
    p = f[0].shape[1]
    kr = (f[0][:, None, None, :] * f[1][None, :, None, :] * f[2][None, None, :, :]).reshape(-1, p)
    c = y.reshape(y.shape[0], -1) @ kr.conj()                                     # (S', P)
    g = (f[0].conj().T @ f[0]) * (f[1].conj().T @ f[1]) * (f[2].conj().T @ f[2])
    gains = c @ np.linalg.pinv(g, hermitian=True).T
    recon = (gains @ kr.T).reshape(y.shape)
    return gains, y - recon

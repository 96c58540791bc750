r"""PLAIN stage 2: decoupled per-mode estimation.

For each dimension independently: unfolding, sample covariance, normalisation, forward-backward
averaging, EVD, AIC model order, signal-subspace root-MUSIC and the map to the physical parameter
(angle, one-way path length, radial velocity) (arXiv:2503.21242, Sec. III-B). The joint and
sequential baselines reuse these steps.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass

import numpy as np

from sensing import (
    SPEED_OF_LIGHT,
    Numerology,
    is_numpy_namespace,
    to_numpy,
)

from ..subspace._covariance import unitary_q
from ..subspace._order import criterion_from_eigenvalues
from ..subspace._rootmusic import polynomial_roots
from ._plain_compression import MODE_NAMES
from ._plain_kernels import (
    fb_real_cols_kernel,
    fb_real_rows_kernel,
    plain_ic_kernel,
    signal_root_music_kernel,
)
from ._tensor_algebra import mode_gram

__all__ = ["ModeCandidates"]


_ROOT_MERGE_CELLS = 1e-3
r"""Roots closer in angle than this fraction of a Rayleigh cell (:math:`2\pi/N'`) are one root: the
partner :math:`1/z^*` of a root, and the two copies of a noise-free double root on the unit circle
(split numerically by ~1e-9 to 1e-6 rad, radially or tangentially). Distinct harmonics that close
are not resolvable anyway."""


@dataclass(frozen=True)
class ModeCandidates:
    """Per-dimension candidates of stage 2 (host arrays; descending eigenvalues).

    Attributes
    ----------
    name : {"angle", "delay", "doppler"}
    omegas : ndarray, shape (K,)
        Root angles :math:`\\hat\\omega = \\arg z` on the compressed grid [rad/sample] (delay: after
        the wrap rule, in :math:`(-2\\pi, 0]`).
    values : ndarray, shape (K,)
        Physical values: azimuth [rad], path length [m] or radial velocity [m/s].
    root_radii : ndarray, shape (K,)
        :math:`|z|` of the selected roots.
    eigenvalues : ndarray, shape (N'_m,)
        Eigenvalues of the normalised FB covariance, descending.
    order : int
        Number of candidates before invalid ones were dropped (AIC or the true count).
    information_criterion : ndarray, shape (N'_m - 1,) or None
        :math:`\\mathrm{IC}(k)`, :math:`k = 1, \\dots, N'_m - 1` (None when the order was given).
    n_columns : int
        Columns of the unfolding (the AIC's snapshot count).
    """

    name: str
    omegas: np.ndarray
    values: np.ndarray
    root_radii: np.ndarray
    eigenvalues: np.ndarray
    order: int
    information_criterion: np.ndarray | None
    n_columns: int

    @property
    def n_candidates(self) -> int:
        return int(self.omegas.shape[0])


def normalised_fb_covariance(xp, x, mode: int) -> tuple[np.ndarray, int]:
    """Normalised, forward-backward averaged covariance of the mode-`mode` unfolding (host)."""
    n_cols = math.prod(int(s) for s in x.shape) // int(x.shape[mode])
    r = to_numpy(mode_gram(xp, x, mode, 0))          # small (N'_m x N'_m): explicit host copy
    return normalise_fb(r / n_cols), n_cols


def normalise_fb(r: np.ndarray) -> np.ndarray:
    peak = np.abs(r).max()
    if peak > 0:
        r = r / peak
    return 0.5 * (r + r[::-1, ::-1].conj())


@functools.lru_cache(maxsize=16)
def _unitary_q(n: int) -> np.ndarray:
    r"""The unitary :math:`\mathbf Q_n` with :math:`\mathbf J\mathbf Q = \mathbf Q^*` (the ESPRIT
    toolbox's left-Π-real basis, :func:`~estimators.subspace._covariance.unitary_q`), cached and read-only."""
    q = unitary_q(n)
    q.setflags(write=False)
    return q


def _unfold3(x: np.ndarray, mode: int) -> np.ndarray:
    """(S, N1, N2, N3) -> (pre, N_mode, post) view of a C-contiguous tensor (``mode`` = tensor axis)."""
    sh = x.shape
    return x.reshape(math.prod(sh[:mode]), sh[mode], math.prod(sh[mode + 1:]))


def _fb_real_rows_np(y3: np.ndarray) -> tuple[np.ndarray, float]:
    """NumPy twin of :func:`_plain_kernels.fb_real_rows_kernel`: ([Re Z, Im Z], max_i ||Y_i||^2)."""
    n = y3.shape[1]
    y = np.moveaxis(y3, 1, 0).reshape(n, -1)
    z = _unitary_q(n).conj().T @ y
    return np.concatenate([z.real, z.imag], axis=1), float(np.max(np.sum(np.abs(y) ** 2, axis=1)))


def _real_fb_eig(x: np.ndarray, mode: int):
    r"""EVD of the normalised FB covariance of a mode unfolding through its real form (NumPy).

    :math:`\mathbf R_{fb} = \tfrac12(\mathbf R + \mathbf J\mathbf R^*\mathbf J)` with
    :math:`\mathbf R = \mathbf Y\mathbf Y^H/\max|\mathbf Y\mathbf Y^H|` is centro-Hermitian, so
    :math:`\mathbf S = \mathbf Q^H\mathbf R_{fb}\mathbf Q = \mathbf W\mathbf W^T/\max_i\lVert\mathbf y_i\rVert^2`
    is real symmetric (the peak of a Gram matrix is on its diagonal): same eigenvalues, eigenvectors
    :math:`\mathbf Q\mathbf U`. A real GEMM and a real EVD instead of a complex rank-k update and
    a complex EVD. Returns (eigenvalues descending, U descending (real), number of columns).
    """
    y3 = _unfold3(x, mode)
    if y3.shape[2] == 1:                       # last mode: W built transposed (contiguous writes)
        w_t, peak = fb_real_cols_kernel(y3[:, :, 0])
        s = w_t.T @ w_t
    else:
        w_rows, peak = fb_real_rows_kernel(y3)
        s = w_rows @ w_rows.T
    if peak > 0:
        s /= peak
    lam, u = np.linalg.eigh(s)
    return lam[::-1], u[:, ::-1], y3.shape[0] * y3.shape[2]


def _aic(eigs_desc: np.ndarray, n_cols: int) -> np.ndarray:
    r"""PLAIN's information criterion :math:`\mathrm{IC}(k)`, :math:`k = 1, \dots, N'-1`.

    PLAIN's reference code (``calcAIC.m``, https://github.com/bashar-tahir/PLAIN) minimises
    :math:`\mathrm{IC}(k) = \tfrac12\mathrm{AIC}(k) + 1` with the Wax–Kailath AIC; here the AIC is
    the subspace toolbox's (:func:`estimators.aic`, which floors vanishing eigenvalues so that
    noise-free data give the true order); PLAIN searches :math:`k \ge 1` only.
    """
    # numba kernel (tiny arrays, where NumPy's per-call overhead dominates); its twin is the
    # toolbox's criterion (_aic_np)
    return plain_ic_kernel(np.ascontiguousarray(eigs_desc, dtype=np.float64), float(n_cols))


def _aic_np(eigs_desc: np.ndarray, n_cols: int) -> np.ndarray:
    """Twin of :func:`_aic`: the criterion of :func:`estimators.aic` without its input checks."""
    crit = criterion_from_eigenvalues(np, np.ascontiguousarray(eigs_desc, dtype=np.float64), int(n_cols), "aic")
    return 0.5 * np.asarray(crit[1:], dtype=float) + 1.0


def _signal_root_music(vs: np.ndarray, k: int, root_finder: str = "aberth") -> tuple[np.ndarray, np.ndarray]:
    """Signal-subspace root-MUSIC (see :func:`_signal_root_music_np`; returns (angles, radii)).

    ``root_finder="aberth"`` runs it as one numba kernel (:func:`_plain_kernels.signal_root_music_kernel`:
    coefficients, the Jacobi-form Aberth iteration, the selection rule); where that declines (a
    negligible leading coefficient, no convergence) and for ``"numpy"`` the NumPy twin runs.
    """
    if root_finder == "aberth":
        m = vs.shape[0]
        ok, ang, rad = signal_root_music_kernel(np.ascontiguousarray(vs, dtype=np.complex128), int(k),
                                                _ROOT_MERGE_CELLS * 2 * np.pi / m, 200, 1e-14)
        if ok:
            return ang, rad
    return _signal_root_music_np(vs, k, root_finder)


def _signal_root_music_np(vs: np.ndarray, k: int, root_finder: str = "aberth") -> tuple[np.ndarray, np.ndarray]:
    r"""Signal-subspace root-MUSIC: the ``k`` roots of
    :math:`\sum_i\mathbf a^T(z^{-1})\mathbf v_i\mathbf v_i^H\mathbf a(z) - N'` nearest the unit
    circle among those with :math:`|z| \le 1`. Returns (angles, radii).

    Implemented as: all roots sorted by :math:`|1 - |z||`, taken greedily, skipping a root within
    :data:`_ROOT_MERGE_CELLS` of a cell of one already taken. Roots come in conjugate-reciprocal
    pairs :math:`(z, 1/z^*)` with equal angles, and the inside one is the closer to the circle
    (:math:`1-\delta` against :math:`1/(1-\delta)`), so this takes exactly the reference rule's
    roots; it stays right for the double roots of noise-free data, which the root finder may split
    to both sides of the circle or both inside it.
    """
    m = vs.shape[0]
    c = vs @ vs.conj().T                                    # C[n, l] = sum_i v_i[n] conj(v_i[l])
    # c_l = sum of the l-th diagonal (lag l = column - row), l = -(m-1) .. m-1
    lag = np.subtract.outer(np.arange(m), np.arange(m)) * -1 + (m - 1)     # index l + m - 1
    coef = np.bincount(lag.ravel(), weights=c.real.ravel(), minlength=2 * m - 1) \
        + 1j * np.bincount(lag.ravel(), weights=c.imag.ravel(), minlength=2 * m - 1)
    coef[m - 1] -= m
    # highest power (lag m-1) first; the subspace toolbox's Aberth-Ehrlich finder (numba) gives
    # the same roots as numpy.roots (differences ~1e-14 rad) in O(n^2) per sweep instead of the
    # companion matrix's O(n^3), and falls back to numpy.roots when it does not converge
    roots = polynomial_roots(coef[::-1][None, :], method=root_finder)[0]
    roots = roots[np.isfinite(roots) & (roots != 0)]
    order = np.argsort(np.abs(1.0 - np.abs(roots)), kind="stable")
    merge = _ROOT_MERGE_CELLS * 2 * np.pi / m
    picked_z = []
    for z in roots[order]:
        if any(abs(np.angle(z * np.conj(q))) < merge for q in picked_z):
            continue
        picked_z.append(z)
        if len(picked_z) == k:
            break
    z = np.asarray(picked_z)
    return np.angle(z), np.abs(z)


def estimate_order_and_roots(r: np.ndarray, n_cols: int, order: int | None, root_finder: str = "aberth"):
    """EVD -> AIC (unless ``order``) -> signal-subspace root-MUSIC on a normalised FB covariance."""
    w, v = np.linalg.eigh(r)
    return _order_and_roots(w[::-1], v[:, ::-1], None, n_cols, order, root_finder)


def _order_and_roots(w: np.ndarray, v: np.ndarray, q: np.ndarray | None, n_cols: int, order: int | None,
                     root_finder: str):
    """AIC (unless ``order``) -> root-MUSIC on the signal eigenvectors ``q @ v[:, :k]`` (``v`` itself
    when ``q`` is None); ``w``, ``v`` descending."""
    ic = None
    if order is None:
        ic = _aic(w, n_cols)
        order = int(np.argmin(ic)) + 1
    order = max(1, min(order, w.shape[0] - 1))
    vs = v[:, :order] if q is None else q @ v[:, :order]
    omegas, radii = _signal_root_music(vs, order, root_finder)
    return omegas, radii, w, order, ic


def map_mode(mode: int, omegas: np.ndarray, *, delta: int, spacing_m: float, numerology: Numerology):
    """Root angles on the compressed grid -> (kept omegas, physical values, keep mask)."""
    lam = numerology.wavelength_m
    if mode == 0:                                   # azimuth: omega = Delta 2 pi d/lambda sin(phi)
        s = omegas * lam / (2 * np.pi * spacing_m * delta)
        keep = np.abs(s) <= 1.0
        return omegas[keep], np.arcsin(s[keep]), keep
    if mode == 1:                                   # path length, wrap rule: omega in (-2 pi, 0]
        w = np.where(omegas > 0, omegas - 2 * np.pi, omegas)
        return w, -w * SPEED_OF_LIGHT / (2 * np.pi * numerology.subcarrier_spacing_hz * delta), \
            np.ones(omegas.shape, bool)
    # velocity: omega = 2 pi f_D T_O Delta, f_D = f_c v / c
    fd = omegas / (2 * np.pi * numerology.symbol_duration_s * delta)
    return omegas, fd * SPEED_OF_LIGHT / numerology.carrier_hz, np.ones(omegas.shape, bool)


def mode_stage(xp, x, mode: int, order, *, delta, spacing_m, numerology,
                root_finder="aberth", real_fb: bool | None = None) -> tuple[ModeCandidates, float]:
    """Stage 2 on dimension ``mode`` (0, 1, 2). ``real_fb`` (default: NumPy complex128 input) takes
    the real form of the FB covariance (:func:`_real_fb_eig`), else the complex one (any namespace;
    its twin)."""
    t0 = time.perf_counter()
    if real_fb is None:
        real_fb = is_numpy_namespace(xp) and x.dtype == np.complex128
    if real_fb:
        w, u, n_cols = _real_fb_eig(np.ascontiguousarray(x), mode + 1)
        omegas, radii, w, k, ic = _order_and_roots(w, u, _unitary_q(u.shape[0]), n_cols, order, root_finder)
    else:
        r, n_cols = normalised_fb_covariance(xp, x, mode + 1)
        omegas, radii, w, k, ic = estimate_order_and_roots(r, n_cols, order, root_finder)
    om, vals, keep = map_mode(mode, omegas, delta=delta, spacing_m=spacing_m, numerology=numerology)
    cand = ModeCandidates(MODE_NAMES[mode], om, vals, radii[keep], w, k, ic, n_cols)
    return cand, time.perf_counter() - t0

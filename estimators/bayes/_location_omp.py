r"""Orthogonal matching pursuit on the multi-user location-domain dictionary (greedy comparator).

Pilot REs only (known symbols): atoms are the pairs (user :math:`k`, column :math:`j`) with
:math:`[\boldsymbol\psi_{k,j}]_{m,n,t} = A_{m,j}D_{k,n,j}s_{k,n,t}` on the pilot REs
:math:`(n,t)`; every step adds the atom best correlated with the residual (normalised), then refits
all selected atoms jointly by least squares. Users that share pilot REs are separated by the
refit. The separable structure keeps a step at :math:`\mathcal O(KMNJ)` (correlation) plus the
:math:`|S|\times|S|` least-squares solve.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from sensing import HostCopy, Array, asarray_like, check_array, check_float, check_int, get_xp, to_numpy

from ._bilinear_engine import check_frame
from ._variational import IterationInfo, admission_threshold, take

__all__ = ["LocationOMPResult", "location_omp"]


@dataclass(frozen=True)
class LocationOMPResult(HostCopy):
    r"""Result of :func:`location_omp`.

    Attributes
    ----------
    channels : array, shape (n_users, n_antennas, n_subcarriers), complex
        :math:`\hat{\mathbf h}_{k,n}` on every subcarrier.
    coefficients : array, shape (n_users, n_columns), complex
        Least-squares coefficients (zero off the support).
    support : array of bool, shape (n_users, n_columns)
    residual : ndarray, shape (n_iter,)
        Residual energy on the pilot REs after each step (the objective).
    noise_variance : float
        Residual energy per observation at the end.
    n_iter : int
    converged : bool
        True when the stopping rule fired (not ``max_paths``).
    """

    channels: Array
    coefficients: Array
    support: Array
    residual: np.ndarray = field(repr=False)
    noise_variance: float = 0.0
    n_iter: int = 0
    converged: bool = False


def location_omp(received, *, steering, delay, pilots, pilot_mask, allowed=None, max_paths: int | None = None,
                 noise_variance: float | None = None, false_alarm: float = 0.1, callback=None) -> LocationOMPResult:
    r"""OMP over (user, location) atoms from the pilot REs.

    Parameters
    ----------
    received : array, shape (n_antennas, n_subcarriers, n_symbols), complex
    steering : array, shape (n_antennas, n_columns), complex
        :math:`\mathbf A` (``channels.location_dictionary``).
    delay : array, shape (n_users, n_subcarriers, n_columns), complex
        :math:`\mathbf D`.
    pilots : array, shape (n_users, n_subcarriers, n_symbols), complex
    pilot_mask : bool array, shape (n_subcarriers, n_symbols)
    allowed : bool array, shape (n_users, n_columns), optional
    max_paths : int, optional
        Most atoms in total (default: half the number of pilot REs).
    noise_variance : float, optional
        Known noise variance per RE and antenna: stop when the residual energy per observation
        falls to it. Otherwise stop when the best normalised correlation no longer exceeds the
        current residual level by the false-alarm threshold (as :func:`estimators.sc_vbi`).
    false_alarm : float, default=0.1
    callback : callable(IterationInfo) -> bool, optional

    Returns
    -------
    LocationOMPResult

    Raises
    ------
    ValueError
        No pilot RE, more users than antennas, empty dictionary, NaN input, shape mismatch.

    Examples
    --------
    Two users and three scatterers seen by a 4 x 4 array; the dictionary holds the true scatterer
    locations, three other points and each user's direct (LoS) column:

    >>> import numpy as np
    >>> import channels, sensing
    >>> from estimators import location_omp
    >>> lam = sensing.SPEED_OF_LIGHT / 28e9
    >>> num = sensing.Numerology(28e9, 1.92e6, 32, 4)
    >>> geo = channels.draw_uplink_geometry(bs_array=sensing.upa(4, 4, lam / 2), n_users=2, n_scatterers=3,
    ...     rng=1, scatterer_region_m=((20, -20, -8), (60, 20, 2)), max_time_offset_s=0.0, position_error_std_m=0.0)
    >>> h = channels.uplink_channel(geo, num)              # (users, antennas, subcarriers)
    >>> grid = np.vstack([geo.scatterer_positions_m, [[30, 10, 0], [50, -10, -5], [40, 0, -2]]])
    >>> d = channels.location_dictionary(grid, user_positions_m=geo.user_positions_m, time_offsets_s=geo.time_offsets_s,
    ...     bs_array=geo.bs_array, wavelength_m=lam, frequencies_hz=num.subcarrier_frequencies_hz)
    >>> x = sensing.constellation("psk", 4)[np.random.default_rng(0).integers(0, 4, (2, 32, 4))]
    >>> y = np.einsum("kmn,knt->mnt", h, x)                # noiseless received frame
    >>> pilot_mask = np.zeros((32, 4), bool)
    >>> pilot_mask[:, 0] = True                            # first OFDM symbol carries pilots
    >>> res = location_omp(y, steering=d.steering, delay=d.delay, pilots=x, pilot_mask=pilot_mask, allowed=d.allowed)
    >>> res.channels.shape, bool(np.linalg.norm(res.channels - h) < 1e-3 * np.linalg.norm(h))
    ((2, 16, 32), True)
    """
    xp = get_xp(received, steering, delay, pilots)
    pts_dummy = np.array([1.0 + 0j, -1.0 + 0j])
    y, pil, pm, _ = check_frame(received, pilots, pilot_mask, pts_dummy, xp)
    m, n, t = (int(v) for v in y.shape)
    k = int(pil.shape[0])
    a = check_array(steering, "steering", ndim=2, kind=("complex floating",), xp=xp)
    d = check_array(delay, "delay", ndim=3, kind=("complex floating",), xp=xp)
    if a.shape[0] != m or a.shape[1] == 0:
        raise ValueError(f"`steering` must have shape ({m}, n_columns >= 1); got {tuple(a.shape)} "
                         "(an empty dictionary cannot represent a channel).")
    j = int(a.shape[1])
    if tuple(d.shape) != (k, n, j):
        raise ValueError(f"`delay` must have shape ({k}, {n}, {j}); got {tuple(d.shape)}.")
    allowed_h = np.ones((k, j), bool) if allowed is None else np.asarray(to_numpy(allowed))
    if allowed_h.dtype != bool or allowed_h.shape != (k, j):
        raise ValueError(f"`allowed` must be a bool array of shape ({k}, {j}); got {allowed_h.dtype} {allowed_h.shape}.")
    n_obs = m * int(pm.sum())
    cap = max(1, n_obs // (2 * m))
    max_paths = cap if max_paths is None else check_int(max_paths, "max_paths", low=1)
    nv = None if noise_variance is None else check_float(noise_variance, "noise_variance", low=0.0)
    pfa = check_float(false_alarm, "false_alarm", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)

    t0 = time.perf_counter()
    a = xp.astype(a, xp.complex128)
    d = xp.astype(d, xp.complex128)
    pmask = xp.astype(asarray_like(pm, xp, dtype=xp.float64), xp.complex128)
    sp = pil * pmask[None]                                                    # pilots on pilot REs
    yp = y * pmask[None]
    msn = xp.permute_dims(xp.conj(sp), (1, 0, 2))                             # (N, K, T)
    zy = xp.permute_dims(msn @ xp.permute_dims(yp, (1, 2, 0)), (1, 2, 0))      # (K, M, N): sum_t s* y
    cc = xp.permute_dims(msn @ xp.permute_dims(sp, (1, 2, 0)), (1, 2, 0))      # (K, K, N)
    e = xp.real(xp.linalg.diagonal(xp.permute_dims(cc, (2, 0, 1))))            # (N, K)
    col_norm = xp.sum(xp.real(d * xp.conj(d)) * xp.permute_dims(e, (1, 0))[:, :, None], axis=1) * \
        xp.sum(xp.real(a * xp.conj(a)), axis=0)[None, :]                       # (K, J)
    yy = float(xp.sum(xp.real(yp * xp.conj(yp))))
    thr_units = admission_threshold(int(allowed_h.sum()), 1, pfa)
    sel: list[tuple[int, int]] = []
    coef = None
    resid = yy
    hist = []
    converged = False
    hk = xp.zeros((k, m, n), dtype=xp.complex128)
    for it in range(max_paths):
        # residual statistics: Z_k - sum_j C_kj H_j
        zr = [zy[kk] - sum(cc[kk, jj][None, :] * hk[jj] for jj in range(k)) for kk in range(k)]
        corr = xp.stack([xp.sum(xp.conj(d[kk].T) * (xp.conj(a.T) @ zr[kk]), axis=1) for kk in range(k)], axis=0)
        score = to_numpy(xp.real(corr * xp.conj(corr)) / xp.maximum(col_norm, 1e-300))
        score[~allowed_h] = -np.inf
        for kk, jj in sel:
            score[kk, jj] = -np.inf
        kb, jb = np.unravel_index(int(np.argmax(score)), score.shape)
        level = nv if nv is not None else resid / max(n_obs - len(sel), 1)
        if nv is not None and resid <= n_obs * nv:
            converged = True
            break
        if nv is None and it > 0 and score[kb, jb] <= thr_units * level:
            converged = True
            break
        sel.append((int(kb), int(jb)))
        # joint least squares on the selected atoms
        ks = np.array([s[0] for s in sel])
        js = np.array([s[1] for s in sel])
        a_s = take(xp, a, js, axis=1)
        dsel = xp.stack([d[int(kk)][:, int(jj)] for kk, jj in sel], axis=1)    # (N, S)
        ga = xp.conj(a_s.T) @ a_s
        cpair = xp.stack([xp.stack([cc[int(k1), int(k2)] for k2 in ks], axis=1) for k1 in ks], axis=1)  # (N, S, S)
        gd = xp.sum(xp.conj(dsel)[:, :, None] * dsel[:, None, :] * cpair, axis=0)
        gram = ga * gd
        rhs = xp.stack([xp.sum(xp.conj(dsel[:, i]) * (xp.conj(a_s[:, i]) @ zy[int(kk)])) for i, kk in enumerate(ks)])
        coef = xp.linalg.solve(gram + 1e-12 * xp.eye(len(sel), dtype=gram.dtype) * xp.max(xp.abs(gram)), rhs)
        hk = xp.stack([_user_channel(xp, a_s, dsel, coef, ks == kk) for kk in range(k)], axis=0)
        resid = max(yy - float(xp.real(xp.sum(xp.conj(coef) * rhs))), 0.0)
        hist.append(resid)
        if callback is not None and bool(callback(IterationInfo(it, -resid, len(sel), resid / n_obs,
                                                                time.perf_counter() - t0, hk))):
            break
    out = np.zeros((k, j), complex)
    if coef is not None:
        ch = to_numpy(coef)
        for i, (kk, jj) in enumerate(sel):
            out[kk, jj] = ch[i]
    sup = np.zeros((k, j), bool)
    for kk, jj in sel:
        sup[kk, jj] = True
    return LocationOMPResult(channels=hk, coefficients=asarray_like(out, xp, dtype=xp.complex128),
                             support=asarray_like(sup, xp), residual=np.asarray(hist),
                             noise_variance=resid / n_obs, n_iter=len(hist), converged=converged)


def _user_channel(xp, a_s, dsel, coef, mask):
    w = asarray_like(mask.astype(float), xp, dtype=xp.float64)
    return a_s @ xp.permute_dims(dsel * xp.astype(w, xp.complex128)[None, :] * coef[None, :], (1, 0))


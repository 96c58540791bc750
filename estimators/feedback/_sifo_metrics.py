r"""Evaluation metrics of CSI feedback: capture efficiency, beamforming gain, effective spectral efficiency.

The metric names are those of SiFo (arXiv:2605.16141) and of the companion subspace-projection
framework (arXiv:2604.14524), which optimises the normalised CSI-capture efficiency; the formulas
below are this package's. They accept any array namespace.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sensing import check_array, check_bool, check_float, check_int, get_xp

from ._sifo_labels import eigen_subspace

Array = Any

__all__ = ["capture_efficiency", "beamforming_gain", "effective_spectral_efficiency", "effective_se_from_gains"]


def capture_efficiency(channel, basis, *, d: int | None = None, normalize: bool = True) -> Array:
    r"""CSI-capture efficiency of a feedback subspace per user.

    .. math::
        \eta_{\mathrm{norm}}(\mathbf U) = \frac{\sum_s\lVert\mathbf U^H\mathbf h_s\rVert^2}
            {\sum_{i\le d}\lambda_i(\sum_s\mathbf h_s\mathbf h_s^H)}

    Parameters
    ----------
    channel : array, shape (n_users, n_ports, n_subbands), complex
    basis : array, shape (n_users, n_ports, d_U) or (n_ports, d_U), orthonormal columns
    d : int, optional
        Size of the ideal subspace in the denominator (default ``d_U``). Comparing schemes of
        different sizes against one reference uses the same ``d`` for all.
    normalize : bool, default=True
        False: the plain captured-energy fraction :math:`\sum_s\lVert\mathbf U^H\mathbf h_s\rVert^2/\sum_s\lVert\mathbf h_s\rVert^2`.

    Returns
    -------
    array, shape (n_users,), in [0, 1] (normalised: 1 for the ideal subspace of size d)

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import capture_efficiency, eigen_subspace
    >>> rng = np.random.default_rng(0)
    >>> h = rng.standard_normal((2, 32, 4)) + 1j * rng.standard_normal((2, 32, 4))
    >>> np.round(capture_efficiency(h, eigen_subspace(h, 4)[0]), 3)   # 4 subbands span <= 4 dimensions
    array([1., 1.])
    >>> np.round(capture_efficiency(h, eigen_subspace(h, 2)[0], normalize=False), 2)   # energy fraction
    array([0.65, 0.64])
    """
    xp = get_xp(channel, basis)
    h = check_array(channel, "channel", ndim=3, kind=("complex floating", "real floating"), xp=xp)
    u = check_array(basis, "basis", ndim=(2, 3), kind=("complex floating", "real floating"), xp=xp)
    if u.shape[-2] != h.shape[1]:
        raise ValueError(f"`basis` must have {h.shape[1]} rows (the ports of `channel`); got shape {tuple(u.shape)}.")
    if u.ndim == 3 and u.shape[0] != h.shape[0]:
        raise ValueError(f"`basis` must have one subspace per user ({h.shape[0]}); got shape {tuple(u.shape)}.")
    c = xp.conj(xp.moveaxis(u, -1, -2)) @ h                                   # (U, dU, S)
    cap = xp.sum(xp.real(c * xp.conj(c)), axis=(-2, -1))
    if not check_bool(normalize, "normalize"):
        tot = xp.sum(xp.real(h * xp.conj(h)), axis=(1, 2))
        return cap / xp.where(tot > 0, tot, 1.0)
    d = u.shape[-1] if d is None else check_int(d, "d", low=1, high=h.shape[1])
    _, w = eigen_subspace(h, 1)
    ref = xp.sum(w[:, :d], axis=1)
    return cap / xp.where(ref > 0, ref, 1.0)


def beamforming_gain(channel, precoder) -> Array:
    r"""Normalised beamforming gain :math:`g = \frac1{N_{SB}}\sum_s\frac{|\mathbf h_s^H\hat{\mathbf w}_s|^2}{\lVert\mathbf h_s\rVert^2\lVert\hat{\mathbf w}_s\rVert^2}`.

    Parameters
    ----------
    channel : array, shape (n_users, n_ports, n_subbands)
    precoder : array, shape (n_users, n_ports, n_subbands) or (n_users, n_ports, 1) (wideband)

    Returns
    -------
    array, shape (n_users,), in [0, 1]

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import beamforming_gain
    >>> rng = np.random.default_rng(0)
    >>> h = rng.standard_normal((2, 32, 4)) + 1j * rng.standard_normal((2, 32, 4))
    >>> np.round(beamforming_gain(h, h), 3)              # matched filter per subband
    array([1., 1.])
    >>> np.round(beamforming_gain(h, h.mean(axis=2, keepdims=True)), 2)   # one wideband precoder
    array([0.26, 0.31])
    """
    xp = get_xp(channel, precoder)
    h = check_array(channel, "channel", ndim=3, kind=("complex floating", "real floating"), xp=xp)
    w = check_array(precoder, "precoder", ndim=3, kind=("complex floating", "real floating"), xp=xp)
    if w.shape[:2] != h.shape[:2] or w.shape[2] not in (1, h.shape[2]):
        raise ValueError(f"`precoder` must have shape {tuple(h.shape)} or {tuple(h.shape[:2]) + (1,)}; "
                         f"got {tuple(w.shape)}.")
    ip = xp.sum(xp.conj(h) * w, axis=1)
    num = xp.real(ip * xp.conj(ip))
    den = xp.sum(xp.real(h * xp.conj(h)), axis=1) * xp.sum(xp.real(w * xp.conj(w)), axis=1)
    return xp.mean(num / xp.where(den > 0, den, 1.0), axis=1)


def effective_spectral_efficiency(channel, precoder, *, snr_db, n_pilot_res: float,
                                  coherence_res: float = 840.0, feedback_bits=0.0, n_prb: int = 52,
                                  uplink_bits_per_re: float | None = None,
                                  normalize: bool = True) -> Array:
    r"""Effective spectral efficiency with CSI-RS and feedback overhead [bit/s/Hz].

    .. math::
        \mathrm{SE}_{\mathrm{eff}} = \Big(1 - \frac{\tau_{DL}}{\tau_c}\Big)\frac1{N_{SB}}\sum_s
        \log_2\Big(1 + \rho\frac{|\mathbf h_s^H\hat{\mathbf w}_s|^2}{\lVert\hat{\mathbf w}_s\rVert^2}\Big)
        - \frac{B_{fb}}{N_{PRB}\,\tau_c\,\mathrm{SE}_{UL}}

    Parameters
    ----------
    channel : array, shape (n_users, n_ports, n_subbands)
    precoder : array, shape (n_users, n_ports, n_subbands or 1)
    snr_db : float or 1-D array
        :math:`\rho` [dB], per antenna after normalisation.
    n_pilot_res : float
        :math:`\tau_{DL}`: CSI-RS REs per PRB per coherence block (one per port at density 1).
    coherence_res : float, default=840
        :math:`\tau_c`: REs per PRB per coherence block (12 subcarriers x 14 symbols x 5 slots).
    feedback_bits : float or array (n_users,), default=0
        :math:`B_{fb}` per report.
    n_prb : int, default=52
        PRBs the uplink feedback is spread over (with ``uplink_bits_per_re``).
    uplink_bits_per_re : float, optional
        :math:`\mathrm{SE}_{UL}`; without it the uplink term is omitted.
    normalize : bool, default=True
        Scale each user's channel to :math:`\frac1{N_{SB}}\sum_s\lVert\mathbf h_s\rVert^2 = N_{ports}`
        (large-scale gain removed; :math:`\rho` is then the per-antenna SNR).

    Returns
    -------
    array, shape (n_users,) or (n_snr, n_users)

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import effective_spectral_efficiency
    >>> rng = np.random.default_rng(0)
    >>> h = rng.standard_normal((2, 32, 4)) + 1j * rng.standard_normal((2, 32, 4))
    >>> full = effective_spectral_efficiency(h, h, snr_db=10.0, n_pilot_res=32)
    >>> light = effective_spectral_efficiency(h, h, snr_db=10.0, n_pilot_res=8)
    >>> full.shape, bool(np.all(light > full))           # fewer CSI-RS REs, less overhead
    ((2,), True)
    """
    xp = get_xp(channel, precoder)
    h = check_array(channel, "channel", ndim=3, kind=("complex floating", "real floating"), xp=xp)
    w = check_array(precoder, "precoder", ndim=3, kind=("complex floating", "real floating"), xp=xp)
    if w.shape[:2] != h.shape[:2] or w.shape[2] not in (1, h.shape[2]):
        raise ValueError(f"`precoder` must have shape {tuple(h.shape)} or {tuple(h.shape[:2]) + (1,)}; "
                         f"got {tuple(w.shape)}.")
    tau = check_float(coherence_res, "coherence_res", low=0.0, low_inclusive=False)
    pil = check_float(n_pilot_res, "n_pilot_res", low=0.0, high=tau, high_inclusive=False,
                      why="the pilots must leave room for data in the coherence block")
    snr = np.atleast_1d(np.asarray(snr_db, dtype=float))
    if snr.ndim != 1 or not np.all(np.isfinite(snr)):
        raise ValueError(f"`snr_db` must be a finite scalar or 1-D array; got {snr_db!r}.")
    if check_bool(normalize, "normalize"):
        e = xp.sum(xp.real(h * xp.conj(h)), axis=(1, 2)) / (h.shape[1] * h.shape[2])
        h = h / xp.astype(xp.sqrt(xp.where(e > 0, e, 1.0)), h.dtype)[:, None, None]
    ip = xp.sum(xp.conj(h) * w, axis=1)
    bf = xp.real(ip * xp.conj(ip)) / xp.sum(xp.real(w * xp.conj(w)), axis=1)   # (U, S)
    return effective_se_from_gains(bf, snr_db=snr_db, n_pilot_res=pil, coherence_res=tau,
                                   feedback_bits=feedback_bits, n_prb=n_prb, uplink_bits_per_re=uplink_bits_per_re)


def effective_se_from_gains(bf_power, *, snr_db, n_pilot_res: float, coherence_res: float = 840.0,
                            feedback_bits=0.0, n_prb: int = 52, uplink_bits_per_re: float | None = None) -> Array:
    r"""Effective SE from per-subband beamforming powers :math:`|\mathbf h_s^H\hat{\mathbf w}_s|^2/\lVert\hat{\mathbf w}_s\rVert^2`.

    The second half of :func:`effective_spectral_efficiency` (same parameters), for stored
    powers ``bf_power`` of shape (n_users, n_subbands) computed with normalised channels.

    Returns
    -------
    array, shape (n_users,) or (n_snr, n_users)

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import effective_se_from_gains
    >>> bf_power = np.ones((2, 4))                       # |h^H w|^2 / |w|^2 per user and subband
    >>> se10 = effective_se_from_gains(bf_power, snr_db=10.0, n_pilot_res=32)
    >>> se20 = effective_se_from_gains(bf_power, snr_db=20.0, n_pilot_res=32)
    >>> se10.shape, bool(np.all(se20 > se10))
    ((2,), True)
    """
    xp = get_xp(bf_power)
    bf = check_array(bf_power, "bf_power", ndim=2, kind=("real floating",), xp=xp)
    tau = check_float(coherence_res, "coherence_res", low=0.0, low_inclusive=False)
    pil = check_float(n_pilot_res, "n_pilot_res", low=0.0, high=tau, high_inclusive=False,
                      why="the pilots must leave room for data in the coherence block")
    snr = np.atleast_1d(np.asarray(snr_db, dtype=float))
    if snr.ndim != 1 or not np.all(np.isfinite(snr)):
        raise ValueError(f"`snr_db` must be a finite scalar or 1-D array; got {snr_db!r}.")
    rho = 10 ** (snr / 10)
    se = xp.stack([xp.mean(xp.log2(1 + float(r) * bf), axis=1) for r in rho]) * (1 - pil / tau)
    if uplink_bits_per_re is not None:
        ul = check_float(uplink_bits_per_re, "uplink_bits_per_re", low=0.0, low_inclusive=False)
        nprb = check_int(n_prb, "n_prb", low=1)
        fb = feedback_bits if isinstance(feedback_bits, (int, float)) else xp.asarray(feedback_bits)
        se = se - fb / (nprb * tau * ul)
    return se[0] if np.ndim(snr_db) == 0 else se

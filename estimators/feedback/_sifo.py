r"""SiFo: site-specific CSI feedback from RSRP fingerprints with a calibration memory.

Implements ``shared/docs/SIFO_AND_CODEBOOKS.md`` Part A (C.-J. Zhao, Z. Wang, Z. Zhao, Y. Liu,
"SiFo: Wireless Foundation Model for Low-Overhead Site-Specific CSI Feedback",
arXiv:2605.16141, and the companion framework arXiv:2604.14524). The abstracts fix the pipeline;
the details below are the documented reconstruction [Recon] (each is an option):

* **Labels** (A6): the beam-power label :math:`p_j = \sum_{s,\mathrm{pol}}|\mathbf d_j^H\mathbf h_s|^2/(N_1N_2)`
  over the oversampled 2-D DFT dictionary (peak-normalised), and the eigen-subspace of
  :math:`\sum_s\mathbf h_s\mathbf h_s^H` as the ideal reference.
* **Pretrained model** (A7): scikit-learn only. Labels are compressed with PCA and an
  ``MLPRegressor`` maps the fingerprint to them across the source sites: the site-agnostic prior
  :math:`\hat{\mathbf y}_0(\mathbf r)`.
* **Calibration memory**: :math:`N_{cal}` target users' (fingerprint, label) pairs. At run time a
  served user's fingerprint retrieves its :math:`K` nearest memory entries (Euclidean on relative
  dB, or cosine on linear RSRP) and the scores are the kernel-regression posterior mean
  :math:`(\kappa\hat{\mathbf y}_0 + \sum_i k_i\mathbf y_i)/(\kappa + \sum_i k_i)`,
  :math:`k_i = e^{-d_i^2/\tau}`: close calibration users override the prior, far ones leave it.
  :math:`(\kappa, \tau)` are chosen *episodically* on the source sites (memories of random size
  drawn from sites the prior never saw, cross-fitted over two folds of sites) by the capture
  efficiency; at the target only the memory changes, no parameter is updated. (The doc's
  alternative, a learned attention over the retrieved pairs, was tried as a memory-conditioned
  MLP and generalised worse across sites than this fusion; kNN-only and zero-shot are options.)
* **Subspace**: top-L beams of the predicted scores with a one-DFT-bin exclusion around each
  chosen beam, orthonormalised, on both polarisations: :math:`\mathbf U = \mathrm{blkdiag}(\mathbf Q, \mathbf Q)`,
  :math:`d = 2L` beamformed CSI-RS ports.
* **Feedback**: the UE estimates :math:`\mathbf c_s = \mathbf U^H\mathbf h_s` and quantises them
  with the Type-II quantiser (3-bit wideband amplitudes, 1-bit subband amplitudes, N_PSK
  phases); the BS reconstructs :math:`\hat{\mathbf w}_s = \mathbf U\hat{\mathbf c}_s`.
* **Baselines**: a per-site MLP trained only on the target budget; Type-II; enhanced Type-II
  (Rel-16, rank 1); Type-I; the ideal eigen-subspace of the same size; SiFo's kNN-only and
  zero-shot variants.
* **Metrics** (A9): CSI-capture efficiency (normalised by the ideal subspace of the same size),
  normalised beamforming gain, effective spectral efficiency with pilot and feedback overhead.

All functions work on host NumPy arrays (scikit-learn), except the metric functions, which
accept any array namespace.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sensing import (
    HostCopy,
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_rng,
    get_xp,
    is_numpy_namespace,
)

from ._codebooks import (
    TYPE2_K2,
    _default_k2,
    coefficient_feedback_bits,
    dft_beams,
    quantize_coefficients,
    type1_codebook,
    type2_codebook,
    dft_subspace_codebook,
    etype2_codebook,
)

Array = Any

__all__ = [
    "SiFoConfig",
    "SiFoModel",
    "CalibrationMemory",
    "SiFoInference",
    "SiFoFeedback",
    "SiteData",
    "LOSOResult",
    "beam_power_labels",
    "eigen_subspace",
    "select_beams",
    "beam_subspace",
    "capture_efficiency",
    "beamforming_gain",
    "effective_spectral_efficiency",
    "effective_se_from_gains",
    "sifo_pretrain",
    "per_site_baseline",
    "sifo_calibrate",
    "sifo_infer",
    "sifo_feedback",
    "sifo",
    "leave_one_site_out",
    "overhead_table",
]


# ------------------------------------------------------------------------------ config

@dataclass(frozen=True)
class SiFoConfig:
    """Hyperparameters of SiFo (every [Recon] choice is here).

    Parameters
    ----------
    n1, n2, o1, o2 : int, default=4, 4, 4, 4
        BS array per polarisation and DFT oversampling (the label dictionary).
    n_polarizations : {1, 2}, default=2
    n_beams : int, default=4
        L beams per polarisation (subspace dimension ``d = n_polarizations * L``).
    k_neighbors : int, default=8
        :math:`K_{nn}` calibration users retrieved per query.
    metric : {"euclidean", "cosine"}, default="euclidean"
        Fingerprint distance (relative dB, or cosine on normalised linear RSRP).
    n_components : int, default=32
        PCA components of the beam labels (model input and output).
    hidden_layer_sizes : tuple of int, default=(128, 64)
        ``MLPRegressor`` hidden layers.
    max_iter : int, default=300
        ``MLPRegressor`` epochs (early stopping on 10 % of the episodes).
    episodes_per_site : int, default=4
        Calibration episodes per source site when the memory fusion is validated.
    min_memory : int, default=10
        Smallest episodic memory size.
    exclusion : tuple of int, optional
        Beam-selection exclusion half-widths in dictionary bins (default ``(o1 - 1, o2 - 1)``:
        chosen beams are at least one DFT bin apart).
    phase_alphabet_size : {4, 8, 16}, default=8
    subband_amplitude : bool, default=True
    """

    n1: int = 4
    n2: int = 4
    o1: int = 4
    o2: int = 4
    n_polarizations: int = 2
    n_beams: int = 4
    k_neighbors: int = 8
    metric: str = "euclidean"
    n_components: int = 32
    hidden_layer_sizes: tuple[int, ...] = (128, 64)
    max_iter: int = 300
    episodes_per_site: int = 4
    min_memory: int = 10
    exclusion: tuple[int, int] | None = None
    phase_alphabet_size: int = 8
    subband_amplitude: bool = True

    def __post_init__(self):
        for name in ("n1", "n2", "o1", "o2", "n_beams", "k_neighbors", "n_components", "max_iter",
                     "episodes_per_site", "min_memory"):
            check_int(getattr(self, name), name, low=1)
        check_choice(self.n_polarizations, "n_polarizations", (1, 2))
        if self.n_beams > self.n1 * self.n2:
            raise ValueError(f"`n_beams` must be <= n1*n2 = {self.n1 * self.n2} (more beams than "
                             f"orthogonal beams per polarisation); got {self.n_beams}.")
        check_choice(self.metric, "metric", ("euclidean", "cosine"))
        if not (isinstance(self.hidden_layer_sizes, tuple) and self.hidden_layer_sizes
                and all(isinstance(h, int) and h >= 1 for h in self.hidden_layer_sizes)):
            raise ValueError(f"`hidden_layer_sizes` must be a non-empty tuple of positive ints; "
                             f"got {self.hidden_layer_sizes!r}.")
        if self.exclusion is not None:
            if len(self.exclusion) != 2:
                raise ValueError(f"`exclusion` must be a pair (e1, e2); got {self.exclusion!r}.")
            check_int(self.exclusion[0], "exclusion[0]", low=0)
            check_int(self.exclusion[1], "exclusion[1]", low=0)
        check_choice(self.phase_alphabet_size, "phase_alphabet_size", (4, 8, 16))
        check_bool(self.subband_amplitude, "subband_amplitude")

    @property
    def n_ports(self) -> int:
        return self.n_polarizations * self.n1 * self.n2

    @property
    def subspace_dim(self) -> int:
        """:math:`d = N_{pol}L` beamformed CSI-RS ports."""
        return self.n_polarizations * self.n_beams

    @property
    def n_dictionary(self) -> int:
        return self.n1 * self.o1 * self.n2 * self.o2

    @property
    def k2(self) -> int:
        if self.n_polarizations == 2:
            return TYPE2_K2.get(self.n_beams, int(math.ceil(3 * self.n_beams / 2)))
        return int(math.ceil(3 * self.n_beams / 4))


def _cfg_iv(config):
    if not isinstance(config, SiFoConfig):
        raise TypeError(f"`config` must be a SiFoConfig; got {type(config).__name__}.")
    return config


def _host(x, name, **kw):
    if hasattr(x, "shape") and not is_numpy_namespace(get_xp(x)):
        raise TypeError(f"`{name}` must be a NumPy array (SiFo's learning layer is scikit-learn, "
                        f"host memory); call sensing.to_numpy first.")
    return np.asarray(check_array(x, name, **kw))


def _channel_host(channel, config, name="channel"):
    h = _host(channel, name, ndim=3, kind=("complex floating", "real floating"))
    if h.shape[1] != config.n_ports:
        raise ValueError(f"`{name}` must have shape (n_users, {config.n_ports}, n_subbands) "
                         f"(n_polarizations * n1 * n2 ports); got {h.shape}.")
    return h.astype(np.complex128, copy=False)


# ------------------------------------------------------------------------------ labels

def beam_power_labels(channel, config: SiFoConfig = SiFoConfig(), *, normalize: bool = True) -> np.ndarray:
    r"""Beam-power labels :math:`p_j = \sum_{s,\mathrm{pol}}|\mathbf d_j^H\mathbf h_{s,\mathrm{pol}}|^2 / (N_1N_2)`.

    Parameters
    ----------
    channel : ndarray, shape (n_users, n_ports, n_subbands), complex
    config : SiFoConfig
        Dictionary size (n1, n2, o1, o2, n_polarizations).
    normalize : bool, default=True
        Divide by the largest entry per user (peak 1).

    Returns
    -------
    ndarray, shape (n_users, n1 o1 n2 o2), float64
    """
    config = _cfg_iv(config)
    h = _channel_host(channel, config)
    n = config.n1 * config.n2
    v = dft_beams(config.n1, config.n2, config.o1, config.o2).conj().T / n     # (J, N)
    p = np.zeros((h.shape[0], v.shape[0]))
    for pol in range(config.n_polarizations):
        x = v @ h[:, pol * n:(pol + 1) * n]                                    # (U, J, S)
        p += np.sum(x.real ** 2 + x.imag ** 2, axis=-1)
    p *= n
    if check_bool(normalize, "normalize"):
        p /= np.maximum(p.max(axis=1, keepdims=True), 1e-300)
    return p


def eigen_subspace(channel, d: int) -> tuple[Array, Array]:
    r"""Ideal :math:`d`-dimensional subspace: top eigenvectors of :math:`\sum_s\mathbf h_s\mathbf h_s^H`.

    Parameters
    ----------
    channel : array, shape (n_users, n_ports, n_subbands[, n_rx]), complex
    d : int

    Returns
    -------
    basis : array, shape (n_users, n_ports, d)
    eigenvalues : array, shape (n_users, n_ports), descending
    """
    xp = get_xp(channel)
    h = check_array(channel, "channel", kind=("complex floating", "real floating"), xp=xp)
    if h.ndim == 4:
        h = xp.reshape(h, (h.shape[0], h.shape[1], -1))
    if h.ndim != 3:
        raise ValueError(f"`channel` must have shape (n_users, n_ports, n_subbands[, n_rx]); got {tuple(h.shape)}.")
    d = check_int(d, "d", low=1, high=h.shape[1])
    r = h @ xp.conj(xp.moveaxis(h, -1, -2))
    w, v = xp.linalg.eigh(r)
    w = xp.flip(w, axis=-1)
    v = xp.flip(v, axis=-1)
    return v[..., :d], w


def select_beams(scores, config: SiFoConfig = SiFoConfig(), *, n_beams: int | None = None) -> np.ndarray:
    """Greedy top-L beams of ``scores`` with an exclusion zone around each chosen beam.

    Parameters
    ----------
    scores : ndarray, shape (n_users, n1 o1 n2 o2)
        Beam scores over the dictionary (index ``l * N2 O2 + m``).
    config : SiFoConfig
    n_beams : int, optional
        Default ``config.n_beams``.

    Returns
    -------
    ndarray of int, shape (n_users, n_beams)
        Dictionary indices, strongest first.
    """
    config = _cfg_iv(config)
    s = _host(scores, "scores", ndim=2, kind=("real floating", "integral")).astype(float)
    if s.shape[1] != config.n_dictionary:
        raise ValueError(f"`scores` must have {config.n_dictionary} columns (the dictionary); got {s.shape}.")
    nb = config.n_beams if n_beams is None else check_int(n_beams, "n_beams", low=1, high=config.n1 * config.n2)
    e1, e2 = config.exclusion if config.exclusion is not None else (config.o1 - 1, config.o2 - 1)
    nl, nm = config.n1 * config.o1, config.n2 * config.o2
    l, m = np.divmod(np.arange(nl * nm), nm)
    dl = np.abs(l[:, None] - l[None, :])
    dm = np.abs(m[:, None] - m[None, :])
    dl = np.minimum(dl, nl - dl)
    dm = np.minimum(dm, nm - dm)
    excl = (dl <= e1) & (dm <= e2)                                              # (J, J)
    out = np.empty((s.shape[0], nb), dtype=np.int64)
    orig = s
    s = s.copy()
    rows = np.arange(s.shape[0])
    for i in range(nb):
        dead = ~np.isfinite(s).any(axis=1)
        if dead.any():  # exclusion zones cover the dictionary: take the best remaining beams
            refill = orig[dead].copy()
            np.put_along_axis(refill, out[dead, :i], -np.inf, axis=1)
            s[dead] = refill
        j = np.argmax(s, axis=1)
        out[:, i] = j
        s[excl[j]] = -np.inf
        s[rows, j] = -np.inf
    return out


def beam_subspace(beams, config: SiFoConfig = SiFoConfig()) -> np.ndarray:
    """Orthonormal basis :math:`\\mathrm{blkdiag}(\\mathbf Q, \\mathbf Q)` of dictionary beams.

    Parameters
    ----------
    beams : ndarray of int, shape (n_users, L)
        Dictionary indices.

    Returns
    -------
    ndarray, shape (n_users, n_ports, n_polarizations * L), complex128
    """
    config = _cfg_iv(config)
    b = _host(beams, "beams", ndim=2, kind="integral")
    if b.min() < 0 or b.max() >= config.n_dictionary:
        raise ValueError(f"`beams` must index the dictionary [0, {config.n_dictionary}); got range "
                         f"[{b.min()}, {b.max()}].")
    v = dft_beams(config.n1, config.n2, config.o1, config.o2)
    bm = np.moveaxis(v[:, b], 0, 1)                                             # (U, N, L)
    q, _ = np.linalg.qr(bm)
    if config.n_polarizations == 1:
        return q
    z = np.zeros_like(q)
    return np.concatenate([np.concatenate([q, z], axis=2), np.concatenate([z, q], axis=2)], axis=1)


# ------------------------------------------------------------------------------ metrics

def capture_efficiency(channel, basis, *, d: int | None = None, normalize: bool = True) -> Array:
    r"""CSI-capture efficiency of a feedback subspace per user (A9).

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
    r"""Effective spectral efficiency with CSI-RS and feedback overhead (A9) [bit/s/Hz].

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


# ------------------------------------------------------------------------------ model

@dataclass(frozen=True)
class CalibrationMemory(HostCopy):
    """Target-site calibration memory :math:`\\mathcal M = \\{(\\mathbf r_i, \\mathbf y_i)\\}`.

    Attributes
    ----------
    fingerprints : ndarray, shape (n_calibration, n_ssb)
        RSRP fingerprints (relative dB).
    labels : ndarray, shape (n_calibration, n_dictionary)
        Peak-normalised beam-power labels from the users' full CSI.
    """

    fingerprints: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)

    @property
    def size(self) -> int:
        return int(self.fingerprints.shape[0])


@dataclass(frozen=True)
class SiFoModel:
    r"""A pretrained (or per-site) fingerprint -> beam-score model. Never refitted after creation.

    Attributes
    ----------
    config : SiFoConfig
    pca : sklearn.decomposition.PCA
        Label compression (fitted on the training labels).
    regressor : sklearn.pipeline.Pipeline
        ``StandardScaler`` + ``MLPRegressor``: fingerprint -> PCA coefficients of the label.
    prior_weight : float
        :math:`\kappa`, the weight of the model's prediction against the retrieved memory.
    bandwidth : float
        :math:`\tau` of the memory kernel :math:`e^{-d^2/\tau}` (squared fingerprint distance).
    uses_memory : bool
        False for the per-site baseline (fingerprint only).
    n_fingerprint : int
    n_training_samples : int
    training_sites : tuple of str
    selection : tuple of (kappa, tau, capture) triples
        The episodic validation grid on the source sites (how ``prior_weight`` and
        ``bandwidth`` were chosen).
    """

    config: SiFoConfig
    pca: Any = field(repr=False)
    regressor: Any = field(repr=False)
    prior_weight: float
    bandwidth: float
    uses_memory: bool
    n_fingerprint: int
    n_training_samples: int
    training_sites: tuple[str, ...] = ()
    selection: tuple = field(default=(), repr=False)


@dataclass(frozen=True)
class SiFoInference(HostCopy):
    """Subspace guidance for served users.

    Attributes
    ----------
    scores : ndarray, shape (n_users, n_dictionary)
    beams : ndarray of int, shape (n_users, L)
    basis : ndarray, shape (n_users, n_ports, d), orthonormal columns
    """

    scores: np.ndarray = field(repr=False)
    beams: np.ndarray
    basis: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class SiFoFeedback(HostCopy):
    """The UE's quantised coefficient report and the BS's reconstruction.

    Attributes
    ----------
    precoder : ndarray, shape (n_users, n_ports, n_subbands), unit norm per subband
    coefficients : QuantizedCoefficients
    bits : ndarray of int, shape (n_users,)
        Feedback payload (wideband + per-subband fields; no beam indices: the BS chose them).
    """

    precoder: np.ndarray = field(repr=False)
    coefficients: Any = field(repr=False)
    bits: np.ndarray


def _fp_iv(fingerprints, name="fingerprints", n_fp=None):
    r = _host(fingerprints, name, ndim=2, kind=("real floating", "integral")).astype(float)
    if r.shape[0] < 1 or r.shape[1] < 1:
        raise ValueError(f"`{name}` must be non-empty, shape (n_users, n_ssb); got {r.shape}.")
    if n_fp is not None and r.shape[1] != n_fp:
        raise ValueError(f"`{name}` must have {n_fp} SSB beams per row (as in training); got {r.shape}.")
    return r


def _metric_space(r, metric):
    if metric == "euclidean":
        return r
    lin = 10 ** (r / 10)
    return lin / np.linalg.norm(lin, axis=1, keepdims=True)


def _neighbours(mem_fp, query_fp, k, metric):
    """The k nearest memory entries of each query: (distances, indices), each (Q, k)."""
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=min(k, mem_fp.shape[0]),
                          metric="euclidean" if metric == "euclidean" else "cosine")
    nn.fit(_metric_space(mem_fp, metric))
    return nn.kneighbors(_metric_space(query_fp, metric))


def _fuse(prior, mem_labels, dist, idx, kappa, tau):
    r"""Memory-conditioned scores :math:`(\kappa\hat{\mathbf y}_0 + \sum_i k_i\mathbf y_i)/(\kappa + \sum_i k_i)`,
    :math:`k_i = e^{-d_i^2/\tau}`: the model's prediction is the prior, nearby calibration users
    override it (a kernel-regression posterior mean)."""
    k = np.exp(-dist ** 2 / tau)                                               # (Q, K)
    num = kappa * prior + np.einsum("qk,qkj->qj", k, mem_labels[idx])
    return num / (kappa + k.sum(axis=1))[:, None]


def _regressor(config, rng, n_samples):
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    early = n_samples >= 200
    mlp = MLPRegressor(hidden_layer_sizes=config.hidden_layer_sizes, max_iter=config.max_iter,
                       early_stopping=early, validation_fraction=0.1, n_iter_no_change=15,
                       learning_rate_init=1e-3, alpha=1e-4, random_state=int(rng.integers(2**31 - 1)))
    return make_pipeline(StandardScaler(), mlp)


def _fit_pca(labels, n_components, rng):
    """PCA of the labels. LAPACK's divide-and-conquer SVD (gesdd) occasionally fails to converge
    on benign data (about 1 fit in 1000 here); the covariance eigendecomposition is the fallback."""
    from numpy.linalg import LinAlgError
    from sklearn.decomposition import PCA

    seed = int(rng.integers(2**31 - 1))
    try:
        return PCA(n_components=n_components, random_state=seed).fit(labels)
    except LinAlgError:
        return PCA(n_components=n_components, svd_solver="covariance_eigh", random_state=seed).fit(labels)


def _predict(pca, reg, fp):
    return pca.inverse_transform(np.asarray(reg.predict(fp)).reshape(fp.shape[0], pca.n_components_))


def _sites_iv(sources):
    if not isinstance(sources, Sequence) or isinstance(sources, (str, bytes)) or len(sources) == 0:
        raise ValueError("`sources` must be a non-empty sequence of SiteData (or (fingerprints, channel) pairs).")
    out = []
    for i, s in enumerate(sources):
        if isinstance(s, SiteData):
            out.append(s)
        elif isinstance(s, tuple) and len(s) == 2:
            out.append(SiteData(f"site{i}", s[0], s[1]))
        else:
            raise TypeError(f"`sources[{i}]` must be a SiteData or a (fingerprints, channel) pair; "
                            f"got {type(s).__name__}.")
    return out


_KAPPAS = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
_TAU_SCALES = (0.25, 1.0, 4.0, 16.0)


def sifo_pretrain(sources, *, config: SiFoConfig = SiFoConfig(), rng=None) -> SiFoModel:
    r"""Pretrain SiFo across source sites (scikit-learn; the target site must not be a source).

    1. Beam-power labels of every source user, compressed with PCA.
    2. An ``MLPRegressor`` from the fingerprint to the label (the site-agnostic prior).
    3. Episodic calibration of the memory fusion (:math:`\kappa`, :math:`\tau`): sources are split
       into two folds of sites; the MLP of one fold predicts the other fold's users (as on an
       unseen site), each episode draws a memory of log-uniform size from a held-out site and the
       grid point with the best mean capture efficiency of the queries wins.
    4. The final MLP is refitted on all source users.

    Parameters
    ----------
    sources : sequence of SiteData
        Source sites (fingerprints and full CSI of their users); at least two.
    config : SiFoConfig
    rng : None, int or Generator

    Returns
    -------
    SiFoModel
    """
    config = _cfg_iv(config)
    rng = check_rng(rng)
    sites = _sites_iv(sources)
    if len(sites) < 2:
        raise ValueError(f"`sources` must hold at least two source sites (the memory fusion is validated "
                         f"across sites); got {len(sites)}.")
    fps, labels, chans = [], [], []
    n_fp = None
    for s in sites:
        fp = _fp_iv(s.fingerprints, f"{s.name}.fingerprints", n_fp)
        n_fp = fp.shape[1]
        h = _channel_host(s.channels, config, f"{s.name}.channels")
        if h.shape[0] != fp.shape[0]:
            raise ValueError(f"site {s.name!r}: {fp.shape[0]} fingerprints but {h.shape[0]} channels.")
        if fp.shape[0] < 2 * config.min_memory:
            raise ValueError(f"site {s.name!r} needs at least 2 * min_memory = {2 * config.min_memory} users "
                             f"for episodic calibration; got {fp.shape[0]}.")
        fps.append(fp)
        chans.append(h)
        labels.append(beam_power_labels(h, config))
    all_labels = np.concatenate(labels)
    n_comp = min(config.n_components, all_labels.shape[0] - 1, all_labels.shape[1])
    pca = _fit_pca(all_labels, n_comp, rng)
    # cross-fitted priors: every source user predicted by an MLP that never saw its site
    order = rng.permutation(len(sites))
    folds = [order[0::2], order[1::2]]
    prior = [None] * len(sites)
    for k in range(2):
        train = folds[1 - k]
        x = np.concatenate([fps[i] for i in train])
        y = pca.transform(np.concatenate([labels[i] for i in train]))
        reg = _regressor(config, rng, len(x)).fit(x, y)
        for i in folds[k]:
            prior[i] = _predict(pca, reg, fps[i])
    # episodes -> (kappa, tau) grid
    episodes = []
    for i in range(len(sites)):
        n = fps[i].shape[0]
        for _ in range(config.episodes_per_site):
            hi = max(n // 2, config.min_memory)
            m = int(round(math.exp(rng.uniform(math.log(config.min_memory), math.log(hi)))))
            perm = rng.permutation(n)
            mem, qry = perm[:m], perm[m:m + 200]
            dist, idx = _neighbours(fps[i][mem], fps[i][qry], config.k_neighbors, config.metric)
            _, w = eigen_subspace(chans[i][qry], 1)
            ref = np.sum(w[:, :config.subspace_dim], axis=1)                    # ideal captured energy
            episodes.append((i, mem, qry, dist, idx, ref))
    d2 = float(np.median(np.concatenate([e[3][:, -1] ** 2 for e in episodes])))
    d2 = d2 if d2 > 0 else 1.0
    grid = []
    for kappa in _KAPPAS:
        for sc in _TAU_SCALES:
            tau = sc * d2
            caps = []
            for i, mem, qry, dist, idx, ref in episodes:
                sc_q = _fuse(prior[i][qry], labels[i][mem], dist, idx, kappa, tau)
                basis = beam_subspace(select_beams(sc_q, config), config)
                c = np.conj(np.swapaxes(basis, 1, 2)) @ chans[i][qry]
                caps.append(np.mean(np.sum(c.real ** 2 + c.imag ** 2, axis=(1, 2)) / ref))
            grid.append((kappa, tau, float(np.mean(caps))))
    kappa, tau, _ = max(grid, key=lambda g: g[2])
    x = np.concatenate(fps)
    reg = _regressor(config, rng, len(x)).fit(x, pca.transform(all_labels))
    return SiFoModel(config, pca, reg, float(kappa), float(tau), True, int(n_fp), int(len(x)),
                     tuple(s.name for s in sites), tuple(grid))


def per_site_baseline(fingerprints, channel, *, config: SiFoConfig = SiFoConfig(), rng=None) -> SiFoModel:
    """The separately trained site-specific baseline: an MLP from fingerprint to beam scores fitted
    only on the target site's labelled budget (no pretraining, no memory)."""
    config = _cfg_iv(config)
    rng = check_rng(rng)
    fp = _fp_iv(fingerprints)
    h = _channel_host(channel, config)
    if h.shape[0] != fp.shape[0]:
        raise ValueError(f"`fingerprints` ({fp.shape[0]}) and `channel` ({h.shape[0]}) must describe the same users.")
    if fp.shape[0] < 2:
        raise ValueError(f"the per-site baseline needs at least 2 labelled users; got {fp.shape[0]}.")
    lab = beam_power_labels(h, config)
    n_comp = min(config.n_components, lab.shape[0] - 1, lab.shape[1])
    pca = _fit_pca(lab, n_comp, rng)
    reg = _regressor(config, rng, fp.shape[0]).fit(fp, pca.transform(lab))
    return SiFoModel(config, pca, reg, 0.0, 0.0, False, fp.shape[1], fp.shape[0], ("target",))


def sifo_calibrate(fingerprints, channel, *, config: SiFoConfig = SiFoConfig()) -> CalibrationMemory:
    """Store target-site calibration users: fingerprints and full-CSI beam labels (no training).

    Parameters
    ----------
    fingerprints : ndarray, shape (n_calibration, n_ssb)
    channel : ndarray, shape (n_calibration, n_ports, n_subbands)
        Full CSI of exactly the calibration users (the labelled budget).
    """
    config = _cfg_iv(config)
    fp = _fp_iv(fingerprints)
    h = _channel_host(channel, config)
    if h.shape[0] != fp.shape[0]:
        raise ValueError(f"`fingerprints` ({fp.shape[0]}) and `channel` ({h.shape[0]}) must describe the same users.")
    return CalibrationMemory(fp.copy(), beam_power_labels(h, config))


def sifo_infer(model: SiFoModel, fingerprints, memory: CalibrationMemory | None = None, *,
               mode: str = "model") -> SiFoInference:
    """Infer each served user's beam subspace from its fingerprint (no parameter updates).

    Parameters
    ----------
    model : SiFoModel
    fingerprints : ndarray, shape (n_users, n_ssb)
    memory : CalibrationMemory, optional
        Required for ``mode`` "model" (with a SiFo model) and "knn".
    mode : {"model", "knn", "zero-shot"}, default="model"
        "model": the pretrained prediction fused with the retrieved calibration users (SiFo);
        "knn": adaptive-bandwidth weighted kNN label aggregation only; "zero-shot": the
        pretrained prediction without memory. A per-site model ignores ``memory``.
    """
    if not isinstance(model, SiFoModel):
        raise TypeError(f"`model` must be a SiFoModel (sifo_pretrain / per_site_baseline); got {type(model).__name__}.")
    check_choice(mode, "mode", ("model", "knn", "zero-shot"))
    cfg = model.config
    fp = _fp_iv(fingerprints, n_fp=model.n_fingerprint)
    needs_memory = mode == "knn" or (mode == "model" and model.uses_memory)
    if needs_memory:
        if memory is None or not isinstance(memory, CalibrationMemory):
            raise ValueError(f"`memory` must be a CalibrationMemory for mode={mode!r}; got {memory!r}.")
        if memory.size == 0:
            raise ValueError("`memory` is empty: calibrate with at least one labelled target user.")
        if memory.fingerprints.shape[1] != fp.shape[1]:
            raise ValueError(f"`memory` fingerprints have {memory.fingerprints.shape[1]} beams; "
                             f"`fingerprints` have {fp.shape[1]}.")
        dist, idx = _neighbours(memory.fingerprints, fp, cfg.k_neighbors, cfg.metric)
    if mode == "knn":
        tau = dist[:, -1:] ** 2 + 1e-9                                          # adaptive bandwidth
        w = np.exp(-dist ** 2 / tau)
        scores = np.einsum("qk,qkj->qj", w / w.sum(axis=1, keepdims=True), memory.labels[idx])
    else:
        scores = _predict(model.pca, model.regressor, fp)
        if needs_memory:
            scores = _fuse(scores, memory.labels, dist, idx, model.prior_weight, model.bandwidth)
    beams = select_beams(scores, cfg)
    return SiFoInference(scores, beams, beam_subspace(beams, cfg))


def sifo_feedback(channel, basis, *, config: SiFoConfig = SiFoConfig(), estimation_snr_db: float | None = None,
                  rng=None) -> SiFoFeedback:
    r"""UE side: estimate and quantise :math:`\mathbf c_s = \mathbf U^H\mathbf h_s`; BS side: :math:`\hat{\mathbf w}_s = \mathbf U\hat{\mathbf c}_s`.

    Parameters
    ----------
    channel : ndarray, shape (n_users, n_ports, n_subbands)
    basis : ndarray, shape (n_users, n_ports, d), orthonormal columns (the beamformed CSI-RS ports)
    config : SiFoConfig
        Quantiser options (``phase_alphabet_size``, ``subband_amplitude``, K2 from ``n_beams``).
    estimation_snr_db : float, optional
        CSI-RS estimation SNR per port: adds :math:`\mathcal{CN}(0, \bar e/\rho)` to each
        coefficient, :math:`\bar e` the user's mean per-port channel energy.
    rng : None, int or Generator
    """
    config = _cfg_iv(config)
    h = _channel_host(channel, config)
    u = _host(basis, "basis", ndim=3, kind=("complex floating", "real floating")).astype(np.complex128)
    if u.shape[:2] != h.shape[:2]:
        raise ValueError(f"`basis` must have shape ({h.shape[0]}, {h.shape[1]}, d); got {u.shape}.")
    c = np.conj(np.swapaxes(u, 1, 2)) @ h                                        # (U, d, S)
    if estimation_snr_db is not None:
        rng = check_rng(rng)
        snr = 10 ** (check_float(estimation_snr_db, "estimation_snr_db") / 10)
        e = np.mean(np.abs(h) ** 2, axis=(1, 2))
        n = (rng.standard_normal(c.shape) + 1j * rng.standard_normal(c.shape)) * np.sqrt(e / snr / 2)[:, None, None]
        c = c + n
    d = u.shape[2]
    k2 = config.k2 if d == config.subspace_dim else _default_k2(d)   # else the generic K2 of d coefficients
    q = quantize_coefficients(np.swapaxes(c, 1, 2)[:, None], phase_alphabet_size=config.phase_alphabet_size,
                              subband_amplitude=config.subband_amplitude, k2=k2)
    vals = q.values[:, 0]                                                       # (U, S, d)
    w = u @ np.swapaxes(vals, 1, 2)                                             # (U, P, S)
    w /= np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-300)
    wb, sb = coefficient_feedback_bits(q.n_nonzero[:, 0], n_coef=d, n_subbands=h.shape[2],
                                       phase_alphabet_size=config.phase_alphabet_size,
                                       subband_amplitude=config.subband_amplitude, k2=k2)
    return SiFoFeedback(w, q, np.asarray(wb + h.shape[2] * np.asarray(sb), dtype=np.int64))


def sifo(model: SiFoModel, memory: CalibrationMemory | None, fingerprints, channel, *, mode: str = "model",
         estimation_snr_db: float | None = None, rng=None) -> tuple[SiFoInference, SiFoFeedback]:
    """The online SiFo pipeline for served users: fingerprint -> inferred subspace -> d-port
    coefficient feedback -> reconstructed precoder. Returns ``(inference, feedback)``."""
    inf = sifo_infer(model, fingerprints, memory, mode=mode)
    fb = sifo_feedback(channel, inf.basis, config=model.config, estimation_snr_db=estimation_snr_db, rng=rng)
    return inf, fb


# ------------------------------------------------------------------------------ evaluation

@dataclass(frozen=True)
class SiteData:
    """One site's users for SiFo: RSRP fingerprints and full CSI (host arrays).

    Attributes
    ----------
    name : str
    fingerprints : ndarray, shape (n_users, n_ssb)
        Relative dB fingerprints (:func:`sensing.rsrp_fingerprint`).
    channels : ndarray, shape (n_users, n_ports, n_subbands), complex
    """

    name: str
    fingerprints: np.ndarray = field(repr=False)
    channels: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class LOSOResult:
    """Leave-one-site-out evaluation of one target site.

    Attributes
    ----------
    target : str
    budgets : tuple of int
        Labelled target users :math:`N_{cal}` evaluated.
    schemes : tuple of str
    capture : dict str -> ndarray (n_budgets, n_test)
        :math:`\\eta_{\\mathrm{norm}}` (reference: the ideal subspace of size ``d``).
    gain : dict str -> ndarray (n_budgets, n_test)
        Normalised beamforming gain of the quantised precoder.
    bf_power : dict str -> ndarray (n_budgets, n_test, n_subbands)
        :math:`|\\tilde{\\mathbf h}_s^H\\hat{\\mathbf w}_s|^2/\\lVert\\hat{\\mathbf w}_s\\rVert^2` with
        per-user normalised channels (for the effective SE at any SNR).
    feedback_bits : dict str -> ndarray (n_budgets, n_test)
    pilot_ports : dict str -> int
        CSI-RS ports (REs per PRB per occasion).
    test_users, calibration_pool : ndarray of int
        Indices into the target site (disjoint).
    """

    target: str
    budgets: tuple[int, ...]
    schemes: tuple[str, ...]
    capture: dict
    gain: dict
    bf_power: dict
    feedback_bits: dict
    pilot_ports: dict
    test_users: np.ndarray
    calibration_pool: np.ndarray

    def mean_capture(self) -> dict:
        return {k: v.mean(axis=1) for k, v in self.capture.items()}


def _baseline_codebooks(config):
    """Type-II and Type-I for the config: the standard ones where TS 38.214 supports the array,
    else the generalised DFT-subspace codebooks (same structure, documented)."""
    try:
        if config.n_polarizations != 2:
            raise ValueError("single polarisation")
        cb2 = type2_codebook(config.n1, config.n2, n_beams=config.n_beams, o1=config.o1, o2=config.o2,
                             phase_alphabet_size=config.phase_alphabet_size,
                             subband_amplitude=config.subband_amplitude)
        cb1 = type1_codebook(config.n1, config.n2, o1=config.o1, o2=config.o2)
    except ValueError:
        cb2 = dft_subspace_codebook(config.n1, config.n2, n_beams=config.n_beams, o1=config.o1, o2=config.o2,
                                    n_polarizations=config.n_polarizations,
                                    phase_alphabet_size=config.phase_alphabet_size,
                                    subband_amplitude=config.subband_amplitude)
        cb1 = dft_subspace_codebook(config.n1, config.n2, o1=config.o1, o2=config.o2,
                                    n_polarizations=config.n_polarizations, kind="type1")
    return cb2, cb1


SCHEMES = ("sifo", "sifo-knn", "sifo-zero-shot", "per-site", "type2", "etype2", "type1", "ideal")

# paramCombination-r16 with the same L (beta = 1/2 where the table allows it)
_ETYPE2_COMBINATION = {2: 2, 4: 4, 6: 7}


def _etype2_codebook(config, n_subbands):
    """Enhanced Type-II with the config's L, or None where Rel-16 does not define it."""
    combo = _ETYPE2_COMBINATION.get(config.n_beams)
    if combo is None or config.n_polarizations != 2:
        return None
    try:
        return etype2_codebook(config.n1, config.n2, param_combination=combo, n_subbands=n_subbands,
                               o1=config.o1, o2=config.o2)
    except ValueError:
        return None


def _bf_power(h, w):
    e = np.sum(np.abs(h) ** 2, axis=(1, 2)) / (h.shape[1] * h.shape[2])
    hn = h / np.sqrt(np.where(e > 0, e, 1.0))[:, None, None]
    w = np.broadcast_to(w, h.shape)
    ip = np.sum(hn.conj() * w, axis=1)
    return np.abs(ip) ** 2 / np.sum(np.abs(w) ** 2, axis=1)


def leave_one_site_out(sites: Sequence[SiteData], target: int, *, budgets: Sequence[int] = (10, 30, 100, 300),
                       config: SiFoConfig = SiFoConfig(), n_test: int = 500, pool_fraction: float = 0.5,
                       model: SiFoModel | None = None, rng=None) -> LOSOResult:
    """Pretrain on every site but ``target``, calibrate on the target budget, evaluate every scheme.

    The target users are split once into a calibration pool and disjoint test users. For a budget
    :math:`N` only the first :math:`N` pool users' labels (full CSI) are used, by the calibration
    memory and the per-site baseline alike; no other target label is read (the test users' CSI
    is used only where the UE measures it: Type-I/II search, coefficient feedback, metrics).

    Parameters
    ----------
    sites : sequence of SiteData
    target : int
        Index of the held-out site.
    budgets : sequence of int, default=(10, 30, 100, 300)
        Labelled target users :math:`N_{cal}` (each <= the pool size).
    config : SiFoConfig
    n_test : int, default=500
    pool_fraction : float, default=0.5
        Share of the target users in the calibration pool.
    model : SiFoModel, optional
        A model pretrained on the other sites (skips pretraining; it must not have seen the target).
    rng : None, int or Generator

    Returns
    -------
    LOSOResult
    """
    config = _cfg_iv(config)
    rng = check_rng(rng)
    sites = _sites_iv(sites)
    t = check_int(target, "target", low=0, high=len(sites) - 1)
    if len(sites) < 2:
        raise ValueError("`sites` must hold at least two sites (sources and a target).")
    tgt = sites[t]
    n_users = tgt.fingerprints.shape[0]
    pf = check_float(pool_fraction, "pool_fraction", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    perm = rng.permutation(n_users)
    n_pool = int(round(pf * n_users))
    pool, test = perm[:n_pool], perm[n_pool:]
    test = test[: check_int(n_test, "n_test", low=1)]
    budgets = tuple(check_int(b, "budgets", low=1, high=n_pool, why=f"the calibration pool holds {n_pool} users")
                    for b in budgets)
    if not budgets:
        raise ValueError("`budgets` must name at least one labelled-user count.")
    if model is None:
        model = sifo_pretrain([s for i, s in enumerate(sites) if i != t], config=config, rng=rng)
    elif tgt.name in model.training_sites:
        raise ValueError(f"`model` was trained on the target site {tgt.name!r}; pretrain without it.")
    fp_all = tgt.fingerprints
    h_test = _channel_host(tgt.channels[test], config, "target channels")
    fp_test = _fp_iv(fp_all[test])
    d = config.subspace_dim
    cbe = _etype2_codebook(config, h_test.shape[2])
    schemes = tuple(x for x in SCHEMES if x != "etype2" or cbe is not None)
    res = {k: {s: [] for s in schemes} for k in ("capture", "gain", "bf", "bits")}

    def record(name, basis, fb_w, bits):
        res["capture"][name].append(capture_efficiency(h_test, basis, d=d))
        res["gain"][name].append(beamforming_gain(h_test, fb_w))
        res["bf"][name].append(_bf_power(h_test, fb_w))
        res["bits"][name].append(np.broadcast_to(np.asarray(bits), (len(test),)).astype(np.int64))

    # budget-independent references
    cb2, cb1 = _baseline_codebooks(config)
    p2 = cb2.pmi_search(h_test)
    ref = {"type2": (cb2.basis(p2), cb2.reconstruct(p2)[..., 0], cb2.feedback_bits(p2).total)}
    p1 = cb1.pmi_search(h_test, subband=True)
    w1 = cb1.reconstruct(p1)[..., 0]
    # Type-I's representation subspace: its beam on both polarisations
    v = dft_beams(config.n1, config.n2, config.o1, config.o2)
    j1 = np.asarray(p1.i11) * (config.n2 * config.o2) + np.asarray(p1.i12)
    b1 = np.moveaxis(v[:, j1], 0, 1)[..., None] / math.sqrt(config.n1 * config.n2)
    u1 = b1 if config.n_polarizations == 1 else np.concatenate(
        [np.concatenate([b1, 0 * b1], 2), np.concatenate([0 * b1, b1], 2)], 1)
    ref["type1"] = (u1, w1, cb1.feedback_bits(subband=True, n_subbands=h_test.shape[2]).total)
    if cbe is not None:
        pe = cbe.pmi_search(h_test)
        ref["etype2"] = (cbe.basis(pe), cbe.reconstruct(pe)[..., 0], cbe.feedback_bits(pe).total)
    ue, _ = eigen_subspace(h_test, d)
    proj = ue @ (np.conj(np.swapaxes(ue, 1, 2)) @ h_test)                        # unquantised projection
    ref["ideal"] = (ue, proj, 0)
    zs = sifo(model, None, fp_test, h_test, mode="zero-shot")
    ref["sifo-zero-shot"] = (zs[0].basis, zs[1].precoder, zs[1].bits)
    for b in budgets:
        cal = pool[:b]
        mem = sifo_calibrate(fp_all[cal], tgt.channels[cal], config=config)
        inf, fb = sifo(model, mem, fp_test, h_test, mode="model")
        record("sifo", inf.basis, fb.precoder, fb.bits)
        inf, fb = sifo(model, mem, fp_test, h_test, mode="knn")
        record("sifo-knn", inf.basis, fb.precoder, fb.bits)
        if b >= 2:
            ps = per_site_baseline(fp_all[cal], tgt.channels[cal], config=config, rng=rng)
            inf, fb = sifo(ps, None, fp_test, h_test)
        else:  # one labelled user: the baseline can only repeat its label
            inf, fb = sifo(model, mem, fp_test, h_test, mode="knn")
        record("per-site", inf.basis, fb.precoder, fb.bits)
        for name, (basis, w, bits) in ref.items():
            record(name, basis, w, bits)
    ports = {"sifo": d, "sifo-knn": d, "sifo-zero-shot": d, "per-site": d, "etype2": cb2.n_ports,
             "type2": cb2.n_ports, "type1": cb1.n_ports, "ideal": cb2.n_ports}
    stack = {k: {s: np.stack(v) for s, v in res[k].items()} for k in res}
    return LOSOResult(tgt.name, budgets, schemes, stack["capture"], stack["gain"], stack["bf"], stack["bits"],
                      ports, test, pool)


def overhead_table(config: SiFoConfig = SiFoConfig(), *, n_subbands: int = 13, n_ssb: int = 8,
                   n_calibration: int = 100) -> list[dict]:
    """Overhead per scheme (A10): CSI-RS ports, feedback bits (typical, all coefficients non-zero),
    UE search (candidate evaluations per report) and target-site labels.

    Returns
    -------
    list of dict
        Keys ``scheme, csi_rs_ports, feedback_bits, rsrp_bits, ue_search, target_labels``.
    """
    config = _cfg_iv(config)
    n_sb = check_int(n_subbands, "n_subbands", low=1)
    n_ssb = check_int(n_ssb, "n_ssb", low=1)
    n_cal = check_int(n_calibration, "n_calibration", low=0)
    n1, n2, o1, o2 = config.n1, config.n2, config.o1, config.o2
    d = config.subspace_dim
    cb2, cb1 = _baseline_codebooks(config)
    cbe = _etype2_codebook(config, n_sb)
    rsrp_bits = 7 + 4 * (n_ssb - 1)
    wb, sb = coefficient_feedback_bits(d, n_coef=d, n_subbands=n_sb, phase_alphabet_size=config.phase_alphabet_size,
                                       subband_amplitude=config.subband_amplitude, k2=config.k2)
    sifo_bits = int(wb + n_sb * sb)
    p = cb2.n_ports
    n_cophase = 4 if config.n_polarizations == 2 else 1
    return [
        {"scheme": "type1", "csi_rs_ports": p, "feedback_bits": int(cb1.feedback_bits(subband=True, n_subbands=n_sb).total),
         "rsrp_bits": 0, "ue_search": n1 * o1 * n2 * o2 * n_cophase * n_sb, "target_labels": 0},
        {"scheme": "type2", "csi_rs_ports": p, "feedback_bits": int(cb2.feedback_bits(n_subbands=n_sb).total),
         "rsrp_bits": 0, "ue_search": o1 * o2 * n1 * n2 * n_sb, "target_labels": 0},
    ] + ([] if cbe is None else [
        {"scheme": "etype2", "csi_rs_ports": p, "feedback_bits": int(cbe.feedback_bits().total),
         "rsrp_bits": 0, "ue_search": o1 * o2 * n1 * n2 * n_sb + n_sb * n_sb, "target_labels": 0},
    ]) + [
        {"scheme": "sifo", "csi_rs_ports": d, "feedback_bits": sifo_bits, "rsrp_bits": rsrp_bits,
         "ue_search": 0, "target_labels": n_cal},
        {"scheme": "per-site", "csi_rs_ports": d, "feedback_bits": sifo_bits, "rsrp_bits": rsrp_bits,
         "ue_search": 0, "target_labels": n_cal},
        {"scheme": "ideal", "csi_rs_ports": p, "feedback_bits": 0, "rsrp_bits": 0, "ue_search": 0,
         "target_labels": 0},
    ]

r"""SiFo online: subspace inference from an RSRP fingerprint, the d-port coefficient feedback, the pipeline.

SiFo (arXiv:2605.16141) and its companion framework (arXiv:2604.14524): the BS infers a served
user's dominant beam subspace from its SSB RSRP fingerprint (fused with the calibration memory),
beamforms :math:`d` CSI-RS ports with it, and the UE "estimates and feeds back only the
low-dimensional effective channel coefficients within this inferred subspace": here
:math:`\mathbf c_s = \mathbf U^H\mathbf h_s`, quantised with the Type-II quantiser (3-bit wideband
amplitudes, 1-bit subband amplitudes, :math:`N_{PSK}` phases, TS 38.214 §5.2.2.2.3); the BS
reconstructs :math:`\hat{\mathbf w}_s = \mathbf U\hat{\mathbf c}_s`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sensing import HostCopy, check_choice, check_float, check_rng

from ._quantization import coefficient_feedback_bits, default_k2, quantize_coefficients
from ._sifo_labels import SiFoConfig, beam_subspace, check_config, host_array, host_channel, select_beams
from ._sifo_model import (
    CalibrationMemory,
    SiFoModel,
    check_fingerprints,
    fuse_with_memory,
    nearest_memory,
    predict_labels,
)

__all__ = ["SiFoInference", "SiFoFeedback", "sifo_infer", "sifo_feedback", "sifo"]


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

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import SiFoConfig, SiteData, sifo_calibrate, sifo_infer, sifo_pretrain
    >>> rng = np.random.default_rng(0)
    >>> def synthetic_site(name, n):                     # random fingerprints (8 SSB beams) and 32-port CSI
    ...     return SiteData(name, rng.standard_normal((n, 8)), rng.standard_normal((n, 32, 4)) + 1j * rng.standard_normal((n, 32, 4)))
    >>> cfg = SiFoConfig(hidden_layer_sizes=(8,), max_iter=20, n_components=4, min_memory=5, episodes_per_site=1)
    >>> model = sifo_pretrain([synthetic_site("a", 20), synthetic_site("b", 20)], config=cfg, rng=0)
    >>> target = synthetic_site("target", 20)
    >>> memory = sifo_calibrate(target.fingerprints[:10], target.channels[:10], config=cfg)
    >>> inf = sifo_infer(model, target.fingerprints[10:], memory)
    >>> inf.scores.shape, inf.beams.shape, inf.basis.shape   # 2L = 8 ports per served user
    ((10, 256), (10, 4), (10, 32, 8))
    """
    if not isinstance(model, SiFoModel):
        raise TypeError(f"`model` must be a SiFoModel (sifo_pretrain / per_site_baseline); got {type(model).__name__}.")
    check_choice(mode, "mode", ("model", "knn", "zero-shot"))
    cfg = model.config
    fp = check_fingerprints(fingerprints, n_fp=model.n_fingerprint)
    needs_memory = mode == "knn" or (mode == "model" and model.uses_memory)
    if needs_memory:
        if memory is None or not isinstance(memory, CalibrationMemory):
            raise ValueError(f"`memory` must be a CalibrationMemory for mode={mode!r}; got {memory!r}.")
        if memory.size == 0:
            raise ValueError("`memory` is empty: calibrate with at least one labelled target user.")
        if memory.fingerprints.shape[1] != fp.shape[1]:
            raise ValueError(f"`memory` fingerprints have {memory.fingerprints.shape[1]} beams; "
                             f"`fingerprints` have {fp.shape[1]}.")
        dist, idx = nearest_memory(memory.fingerprints, fp, cfg.k_neighbors, cfg.metric)
    if mode == "knn":
        tau = dist[:, -1:] ** 2 + 1e-9                                          # adaptive bandwidth
        w = np.exp(-dist ** 2 / tau)
        scores = np.einsum("qk,qkj->qj", w / w.sum(axis=1, keepdims=True), memory.labels[idx])
    else:
        scores = predict_labels(model.pca, model.regressor, fp)
        if needs_memory:
            scores = fuse_with_memory(scores, memory.labels, dist, idx, model.prior_weight, model.bandwidth)
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

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import SiFoConfig, beam_subspace, sifo_feedback
    >>> rng = np.random.default_rng(0)
    >>> h = rng.standard_normal((2, 32, 4)) + 1j * rng.standard_normal((2, 32, 4))
    >>> basis = beam_subspace(np.array([[0, 5, 10, 15], [1, 6, 11, 16]]))
    >>> fb = sifo_feedback(h, basis)
    >>> fb.precoder.shape, fb.bits.shape
    ((2, 32, 4), (2,))
    """
    config = check_config(config)
    h = host_channel(channel, config)
    u = host_array(basis, "basis", ndim=3, kind=("complex floating", "real floating")).astype(np.complex128)
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
    k2 = config.k2 if d == config.subspace_dim else default_k2(d)   # else the generic K2 of d coefficients
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
    coefficient feedback -> reconstructed precoder. Returns ``(inference, feedback)``.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import SiFoConfig, SiteData, beamforming_gain, sifo, sifo_calibrate, sifo_pretrain
    >>> rng = np.random.default_rng(0)
    >>> def synthetic_site(name, n):                     # random fingerprints (8 SSB beams) and 32-port CSI
    ...     return SiteData(name, rng.standard_normal((n, 8)), rng.standard_normal((n, 32, 4)) + 1j * rng.standard_normal((n, 32, 4)))
    >>> cfg = SiFoConfig(hidden_layer_sizes=(8,), max_iter=20, n_components=4, min_memory=5, episodes_per_site=1)
    >>> model = sifo_pretrain([synthetic_site("a", 20), synthetic_site("b", 20)], config=cfg, rng=0)
    >>> target = synthetic_site("target", 20)
    >>> memory = sifo_calibrate(target.fingerprints[:10], target.channels[:10], config=cfg)
    >>> inference, feedback = sifo(model, memory, target.fingerprints[10:], target.channels[10:])
    >>> inference.basis.shape, feedback.precoder.shape
    ((10, 32, 8), (10, 32, 4))
    >>> beamforming_gain(target.channels[10:], feedback.precoder).shape
    (10,)
    """
    inf = sifo_infer(model, fingerprints, memory, mode=mode)
    fb = sifo_feedback(channel, inf.basis, config=model.config, estimation_snr_db=estimation_snr_db, rng=rng)
    return inf, fb

r"""Leave-one-site-out evaluation of SiFo against the 3GPP codebooks, and the overhead table.

The three claims of SiFo (arXiv:2605.16141) are comparisons under the same target-site labelled
budget: capture efficiency against separately trained site-specific baselines, closeness to the
Type-II reference, and effective spectral efficiency. :func:`leave_one_site_out` pretrains on
every site but one and evaluates SiFo (with memory, kNN-only, zero-shot), the per-site baseline,
Type-II (TS 38.214 §5.2.2.2.3), enhanced Type-II (§5.2.2.2.5, rank 1), Type-I (§5.2.2.2.1) and the
ideal eigen-subspace of the same size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sensing import check_float, check_int, check_rng

from ._dft_beams import dft_beams
from ._etype2 import etype2_codebook
from ._quantization import coefficient_feedback_bits
from ._sifo_inference import sifo
from ._sifo_labels import SiFoConfig, check_config, eigen_subspace, host_channel
from ._sifo_metrics import beamforming_gain, capture_efficiency
from ._sifo_model import (
    SiFoModel,
    SiteData,
    check_fingerprints,
    check_sites,
    per_site_baseline,
    sifo_calibrate,
    sifo_pretrain,
)
from ._type1 import type1_codebook
from ._type2 import dft_subspace_codebook, type2_codebook

__all__ = ["LOSOResult", "SCHEMES", "leave_one_site_out", "overhead_table"]


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

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import SiFoConfig, SiteData, leave_one_site_out
    >>> rng = np.random.default_rng(0)
    >>> def synthetic_site(name, n):                     # random fingerprints (8 SSB beams) and 32-port CSI
    ...     return SiteData(name, rng.standard_normal((n, 8)), rng.standard_normal((n, 32, 4)) + 1j * rng.standard_normal((n, 32, 4)))
    >>> cfg = SiFoConfig(hidden_layer_sizes=(8,), max_iter=20, n_components=4, min_memory=5, episodes_per_site=1)
    >>> sites = [synthetic_site("a", 20), synthetic_site("b", 20), synthetic_site("c", 30)]
    >>> res = leave_one_site_out(sites, 2, budgets=(5, 10), config=cfg, n_test=10, rng=0)
    >>> res.target, res.budgets, res.schemes
    ('c', (5, 10), ('sifo', 'sifo-knn', 'sifo-zero-shot', 'per-site', 'type2', 'etype2', 'type1', 'ideal'))
    >>> bool(np.isclose(np.mean(res.capture["ideal"]), 1.0))   # the eigen-subspace captures everything
    True
    """
    config = check_config(config)
    rng = check_rng(rng)
    sites = check_sites(sites)
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
    h_test = host_channel(tgt.channels[test], config, "target channels")
    fp_test = check_fingerprints(fp_all[test])
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
    """Overhead per scheme, on separate axes: CSI-RS ports, feedback bits (typical, all coefficients non-zero),
    UE search (candidate evaluations per report) and target-site labels.

    Returns
    -------
    list of dict
        Keys ``scheme, csi_rs_ports, feedback_bits, rsrp_bits, ue_search, target_labels``.

    Examples
    --------
    >>> from estimators import overhead_table
    >>> rows = overhead_table()
    >>> [row["scheme"] for row in rows]
    ['type1', 'type2', 'etype2', 'sifo', 'per-site', 'ideal']
    >>> sorted(rows[0])
    ['csi_rs_ports', 'feedback_bits', 'rsrp_bits', 'scheme', 'target_labels', 'ue_search']
    """
    config = check_config(config)
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

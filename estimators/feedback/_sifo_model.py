r"""SiFo's pretrained model and calibration memory: pretraining across source sites, the per-site baseline.

SiFo (Zhao, Wang, Zhao, Liu, arXiv:2605.16141) pretrains a CSI feedback model across source sites
and adapts it to a target site through a calibration memory of a few target users' (RSRP
fingerprint, subspace label) pairs, "without updating model parameters". This package's version
uses scikit-learn only: labels are compressed with PCA and an ``MLPRegressor`` maps the
fingerprint to them across the source sites (the site-agnostic prior
:math:`\hat{\mathbf y}_0(\mathbf r)`). A served user's fingerprint retrieves its :math:`K` nearest
memory entries (Euclidean on relative dB, or cosine on linear RSRP) and the scores are the
kernel-regression posterior mean :math:`(\kappa\hat{\mathbf y}_0 + \sum_i k_i\mathbf y_i)/(\kappa + \sum_i k_i)`,
:math:`k_i = e^{-d_i^2/\tau}`: close calibration users override the prior, far ones leave it.
:math:`(\kappa, \tau)` are chosen *episodically* on the source sites (memories of random size
drawn from sites the prior never saw, cross-fitted over two folds of sites) by the capture
efficiency; at the target only the memory changes. (A memory-conditioned network attending over
the retrieved pairs is the other reading of the abstract; tried as a memory-conditioned MLP it
generalised worse across sites than this fusion.) The per-site baseline is an MLP trained only
on the target budget.

All functions work on host NumPy arrays (scikit-learn).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sensing import HostCopy, check_rng

from ._sifo_labels import (
    SiFoConfig,
    beam_power_labels,
    beam_subspace,
    check_config,
    eigen_subspace,
    host_array,
    host_channel,
    select_beams,
)

__all__ = [
    "CalibrationMemory", "SiFoModel", "SiteData", "check_fingerprints", "nearest_memory", "fuse_with_memory",
    "predict_labels", "check_sites", "sifo_pretrain", "per_site_baseline", "sifo_calibrate",
]


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
class SiteData:
    """One site's users for SiFo: RSRP fingerprints and full CSI (host arrays).

    Attributes
    ----------
    name : str
    fingerprints : ndarray, shape (n_users, n_ssb)
        Relative dB fingerprints (:func:`sensing.rsrp_fingerprint`).
    channels : ndarray, shape (n_users, n_ports, n_subbands), complex

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import SiteData
    >>> rng = np.random.default_rng(0)
    >>> site = SiteData("plaza", rng.standard_normal((50, 8)), rng.standard_normal((50, 32, 4)) + 0j)
    >>> site.name, site.fingerprints.shape, site.channels.shape
    ('plaza', (50, 8), (50, 32, 4))
    """

    name: str
    fingerprints: np.ndarray = field(repr=False)
    channels: np.ndarray = field(repr=False)


def check_fingerprints(fingerprints, name="fingerprints", n_fp=None):
    r = host_array(fingerprints, name, ndim=2, kind=("real floating", "integral")).astype(float)
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


def nearest_memory(mem_fp, query_fp, k, metric):
    """The k nearest memory entries of each query: (distances, indices), each (Q, k)."""
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=min(k, mem_fp.shape[0]),
                          metric="euclidean" if metric == "euclidean" else "cosine")
    nn.fit(_metric_space(mem_fp, metric))
    return nn.kneighbors(_metric_space(query_fp, metric))


def fuse_with_memory(prior, mem_labels, dist, idx, kappa, tau):
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
    on benign data; the covariance eigendecomposition is the fallback."""
    from numpy.linalg import LinAlgError
    from sklearn.decomposition import PCA

    seed = int(rng.integers(2**31 - 1))
    try:
        return PCA(n_components=n_components, random_state=seed).fit(labels)
    except LinAlgError:
        return PCA(n_components=n_components, svd_solver="covariance_eigh", random_state=seed).fit(labels)


def predict_labels(pca, reg, fp):
    return pca.inverse_transform(np.asarray(reg.predict(fp)).reshape(fp.shape[0], pca.n_components_))


def check_sites(sources):
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

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import SiFoConfig, SiteData, sifo_pretrain
    >>> rng = np.random.default_rng(0)
    >>> def synthetic_site(name, n):                     # random fingerprints (8 SSB beams) and 32-port CSI
    ...     return SiteData(name, rng.standard_normal((n, 8)), rng.standard_normal((n, 32, 4)) + 1j * rng.standard_normal((n, 32, 4)))
    >>> cfg = SiFoConfig(hidden_layer_sizes=(8,), max_iter=20, n_components=4, min_memory=5, episodes_per_site=1)
    >>> model = sifo_pretrain([synthetic_site("a", 20), synthetic_site("b", 20)], config=cfg, rng=0)
    >>> model.training_sites, model.n_fingerprint, model.uses_memory
    (('a', 'b'), 8, True)
    """
    config = check_config(config)
    rng = check_rng(rng)
    sites = check_sites(sources)
    if len(sites) < 2:
        raise ValueError(f"`sources` must hold at least two source sites (the memory fusion is validated "
                         f"across sites); got {len(sites)}.")
    fps, labels, chans = [], [], []
    n_fp = None
    for s in sites:
        fp = check_fingerprints(s.fingerprints, f"{s.name}.fingerprints", n_fp)
        n_fp = fp.shape[1]
        h = host_channel(s.channels, config, f"{s.name}.channels")
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
            prior[i] = predict_labels(pca, reg, fps[i])
    # episodes -> (kappa, tau) grid
    episodes = []
    for i in range(len(sites)):
        n = fps[i].shape[0]
        for _ in range(config.episodes_per_site):
            hi = max(n // 2, config.min_memory)
            m = int(round(math.exp(rng.uniform(math.log(config.min_memory), math.log(hi)))))
            perm = rng.permutation(n)
            mem, qry = perm[:m], perm[m:m + 200]
            dist, idx = nearest_memory(fps[i][mem], fps[i][qry], config.k_neighbors, config.metric)
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
                sc_q = fuse_with_memory(prior[i][qry], labels[i][mem], dist, idx, kappa, tau)
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
    only on the target site's labelled budget (no pretraining, no memory).

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import SiFoConfig, SiteData, per_site_baseline
    >>> rng = np.random.default_rng(0)
    >>> def synthetic_site(name, n):                     # random fingerprints (8 SSB beams) and 32-port CSI
    ...     return SiteData(name, rng.standard_normal((n, 8)), rng.standard_normal((n, 32, 4)) + 1j * rng.standard_normal((n, 32, 4)))
    >>> cfg = SiFoConfig(hidden_layer_sizes=(8,), max_iter=20, n_components=4, min_memory=5, episodes_per_site=1)
    >>> target = synthetic_site("target", 30)
    >>> model = per_site_baseline(target.fingerprints, target.channels, config=cfg, rng=0)
    >>> model.uses_memory, model.n_training_samples
    (False, 30)
    """
    config = check_config(config)
    rng = check_rng(rng)
    fp = check_fingerprints(fingerprints)
    h = host_channel(channel, config)
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

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import SiFoConfig, SiteData, sifo_calibrate
    >>> rng = np.random.default_rng(0)
    >>> def synthetic_site(name, n):                     # random fingerprints (8 SSB beams) and 32-port CSI
    ...     return SiteData(name, rng.standard_normal((n, 8)), rng.standard_normal((n, 32, 4)) + 1j * rng.standard_normal((n, 32, 4)))
    >>> cfg = SiFoConfig(hidden_layer_sizes=(8,), max_iter=20, n_components=4, min_memory=5, episodes_per_site=1)
    >>> target = synthetic_site("target", 20)
    >>> memory = sifo_calibrate(target.fingerprints, target.channels, config=cfg)
    >>> memory.fingerprints.shape, memory.labels.shape   # labels: one power per grid beam
    ((20, 8), (20, 256))
    """
    config = check_config(config)
    fp = check_fingerprints(fingerprints)
    h = host_channel(channel, config)
    if h.shape[0] != fp.shape[0]:
        raise ValueError(f"`fingerprints` ({fp.shape[0]}) and `channel` ({h.shape[0]}) must describe the same users.")
    return CalibrationMemory(fp.copy(), beam_power_labels(h, config))

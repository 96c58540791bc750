r"""SiFo's configuration, beam-power labels and beam subspaces.

C.-J. Zhao, Z. Wang, Z. Zhao, Y. Liu, "SiFo: Wireless Foundation Model for Low-Overhead
Site-Specific CSI Feedback," arXiv:2605.16141, store "full-CSI-based subspace labels" of
calibration users and infer a "UE-dependent dominant beam subspace" (the companion framework,
arXiv:2604.14524). Here the label is the beam-power vector
:math:`p_j = \sum_{s,\mathrm{pol}}|\mathbf d_j^H\mathbf h_s|^2/(N_1N_2)` over the oversampled 2-D
DFT dictionary (peak-normalised), the ideal reference is the eigen-subspace of
:math:`\sum_s\mathbf h_s\mathbf h_s^H`, and a subspace is the top-L beams of a score vector with a
one-DFT-bin exclusion around each chosen beam, orthonormalised, on both polarisations:
:math:`\mathbf U = \mathrm{blkdiag}(\mathbf Q, \mathbf Q)`, :math:`d = 2L` beamformed CSI-RS ports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sensing import check_array, check_bool, check_choice, check_int, get_xp, is_numpy_namespace

from ._codebook_tables import TYPE2_K2
from ._dft_beams import dft_beams

Array = Any

__all__ = [
    "SiFoConfig", "check_config", "host_array", "host_channel", "beam_power_labels", "eigen_subspace",
    "select_beams", "beam_subspace",
]


@dataclass(frozen=True)
class SiFoConfig:
    """Hyperparameters of SiFo (every choice the papers leave open is here).

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

    Examples
    --------
    >>> from estimators import SiFoConfig
    >>> cfg = SiFoConfig(n_beams=6, k_neighbors=4)
    >>> cfg.n1 * cfg.n2 * cfg.n_polarizations, cfg.n_beams, cfg.hidden_layer_sizes   # ports, L, MLP
    (32, 6, (128, 64))
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


def check_config(config):
    if not isinstance(config, SiFoConfig):
        raise TypeError(f"`config` must be a SiFoConfig; got {type(config).__name__}.")
    return config


def host_array(x, name, **kw):
    if hasattr(x, "shape") and not is_numpy_namespace(get_xp(x)):
        raise TypeError(f"`{name}` must be a NumPy array (SiFo's learning layer is scikit-learn, "
                        f"host memory); call sensing.to_numpy first.")
    return np.asarray(check_array(x, name, **kw))


def host_channel(channel, config, name="channel"):
    h = host_array(channel, name, ndim=3, kind=("complex floating", "real floating"))
    if h.shape[1] != config.n_ports:
        raise ValueError(f"`{name}` must have shape (n_users, {config.n_ports}, n_subbands) "
                         f"(n_polarizations * n1 * n2 ports); got {h.shape}.")
    return h.astype(np.complex128, copy=False)



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

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import SiFoConfig, beam_power_labels, dft_beams
    >>> cfg = SiFoConfig()                               # 4 x 4 dual-polarised panel, 4 x 4 oversampling
    >>> beam = dft_beams(4, 4, 4, 4)[:, 21] / 4          # one unit-norm grid beam
    >>> h = np.concatenate([beam, beam])[None, :, None]  # both polarisations, (users, ports, subbands)
    >>> p = beam_power_labels(h, cfg)
    >>> p.shape, int(np.argmax(p[0]))
    ((1, 256), 21)
    """
    config = check_config(config)
    h = host_channel(channel, config)
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

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import eigen_subspace
    >>> rng = np.random.default_rng(0)
    >>> h = rng.standard_normal((2, 32, 4)) + 1j * rng.standard_normal((2, 32, 4))
    >>> basis, eigenvalues = eigen_subspace(h, 4)
    >>> basis.shape, eigenvalues.shape
    ((2, 32, 4), (2, 32))
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

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import SiFoConfig, select_beams
    >>> scores = np.zeros((1, 256))
    >>> scores[0, [21, 22, 100, 200, 230]] = [5.0, 4.0, 3.0, 2.0, 1.0]
    >>> select_beams(scores, SiFoConfig(n_beams=3))      # 22 is next to 21: inside its exclusion zone
    array([[ 21, 100, 200]])
    """
    config = check_config(config)
    s = host_array(scores, "scores", ndim=2, kind=("real floating", "integral")).astype(float)
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

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import SiFoConfig, beam_subspace
    >>> u = beam_subspace(np.array([[21, 100, 200, 230]]), SiFoConfig())
    >>> u.shape, bool(np.allclose(u[0].conj().T @ u[0], np.eye(8)))   # 2L orthonormal columns
    ((1, 32, 8), True)
    """
    config = check_config(config)
    b = host_array(beams, "beams", ndim=2, kind="integral")
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

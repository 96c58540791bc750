r"""3GPP NR Rel-15 Type-II codebook (TS 38.214 §5.2.2.2.3) and the generalised DFT-subspace codebooks.

Ranks 1 and 2, wideband + subband amplitudes, :math:`N_{PSK}` phases, both polarisations; the
payload follows TS 38.212 §6.3.2. The UE-side encoder chooses the rotation and the L beams
that maximise the captured channel energy, then quantises the coefficients
(:func:`quantize_coefficients`). Beyond the 32-port tables, :func:`dft_subspace_codebook` builds
the same structure for any (N1, N2, O1, O2), one or two polarisations and any L <= N1 N2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sensing import HostCopy, asarray_like, check_bool, check_choice, check_int, get_xp, is_numpy_namespace, to_numpy

from ._codebook_tables import TYPE2_BEAM_COUNTS, TYPE2_K2, combinatorial_decode, combinatorial_index
from ._dft_beams import (
    array_namespace,
    check_channel,
    check_panel,
    combinatorial_index_xp,
    default_oversampling,
    dft_beams,
    project_on_beams,
)
from ._quantization import (
    FeedbackBits,
    QuantizedCoefficients,
    ceil_log2,
    coefficient_feedback_bits,
    quantize_coefficients,
)
from ._type1 import Type1Codebook

Array = Any

__all__ = [
    "Type2PMI", "Type2Codebook", "type2_codebook", "dft_subspace_codebook", "select_orthogonal_beams",
    "orthogonal_beam_matrix",
]


@dataclass(frozen=True)
class Type2PMI(HostCopy):
    """A Rel-15 Type-II PMI report per user (TS 38.214 §5.2.2.2.3).

    Attributes
    ----------
    q1, q2 : array of int, shape (n_users,)
        :math:`i_{1,1} = [q_1, q_2]` (rotation).
    n1, n2 : array of int, shape (n_users, L)
        Orthogonal beams :math:`(n_1^{(i)}, n_2^{(i)})` ordered by :math:`n^{(i)} = N_1n_2^{(i)} + n_1^{(i)}`.
    i12 : array of int, shape (n_users,)
        Combinatorial beam index (Table 5.2.2.2.3-1).
    coefficients : QuantizedCoefficients
        :math:`i_{1,3}, i_{1,4}, i_{2,1}, i_{2,2}` per layer (coefficient ``i < L`` on polarisation 0,
        ``i + L`` on polarisation 1).
    metric : array of float, shape (n_users,)
        Energy captured by the selected beams (before quantisation).
    """

    q1: Array
    q2: Array
    n1: Array
    n2: Array
    i12: Array
    coefficients: QuantizedCoefficients
    metric: Array

    @property
    def rank(self) -> int:
        return int(self.coefficients.k1.shape[1])

    @property
    def n_subbands(self) -> int:
        return int(self.coefficients.c.shape[2])


@dataclass(frozen=True)
class Type2Codebook:
    r"""Rel-15 Type-II codebook (TS 38.214 §5.2.2.2.3), :math:`\mathbf W = \mathbf W_1\mathbf W_2`.

    Layer :math:`l` on subband :math:`s` (Table 5.2.2.2.3-5):

    .. math::
        \mathbf W^l = \frac{1}{\sqrt{N_1N_2\sum_i (p^{(1)}_{l,i}p^{(2)}_{l,i})^2}}
        \begin{bmatrix}\sum_{i<L}\mathbf v_{m^{(i)}}\,p^{(1)}_{l,i}p^{(2)}_{l,i}\varphi_{l,i}\\
        \sum_{i<L}\mathbf v_{m^{(i)}}\,p^{(1)}_{l,i+L}p^{(2)}_{l,i+L}\varphi_{l,i+L}\end{bmatrix},

    :math:`m_1^{(i)} = O_1n_1^{(i)} + q_1`, :math:`m_2^{(i)} = O_2n_2^{(i)} + q_2`; rank 2 is
    :math:`\frac{1}{\sqrt2}[\mathbf W^1\ \mathbf W^2]`.

    Build with :func:`type2_codebook` (standard) or :func:`dft_subspace_codebook` (generalised).

    Examples
    --------
    >>> from estimators import Type2Codebook
    >>> cb = Type2Codebook(4, 2, 4, 4, n_beams=2, phase_alphabet_size=4, subband_amplitude=False)
    >>> cb.n_ports, cb.n_coefficients, cb.dft_beams().shape
    (16, 4, (8, 128))
    """

    n1: int
    n2: int
    o1: int
    o2: int
    n_beams: int
    phase_alphabet_size: int = 8
    subband_amplitude: bool = True
    max_rank: int = 1
    n_polarizations: int = 2
    standard: bool = True

    def __post_init__(self):
        check_panel(self.n1, self.n2, self.o1, self.o2, self.n_polarizations, self.standard)
        n_grid = self.n1 * self.n2
        if self.standard:
            check_choice(self.n_beams, "n_beams", TYPE2_BEAM_COUNTS)
            if n_grid == 2 and self.n_beams != 2:
                raise ValueError(f"`n_beams` must be 2 with 4 CSI-RS ports (TS 38.214 §5.2.2.2.3); "
                                 f"got {self.n_beams}.")
            check_choice(self.phase_alphabet_size, "phase_alphabet_size", (4, 8))
        else:
            check_int(self.n_beams, "n_beams", low=1)
            check_choice(self.phase_alphabet_size, "phase_alphabet_size", (4, 8, 16))
        if self.n_beams > n_grid:
            raise ValueError(f"`n_beams` must be <= N1*N2 = {n_grid} (more beams than orthogonal beams "
                             f"per polarisation); got {self.n_beams}.")
        check_bool(self.subband_amplitude, "subband_amplitude")
        check_int(self.max_rank, "max_rank", low=1, high=2)

    @property
    def n_ports(self) -> int:
        return self.n_polarizations * self.n1 * self.n2

    @property
    def n_grid(self) -> int:
        return self.n1 * self.n2

    @property
    def n_coefficients(self) -> int:
        """Coefficients per layer, :math:`2L` (or :math:`L` with one polarisation)."""
        return self.n_polarizations * self.n_beams

    @property
    def k2(self) -> int:
        """:math:`K^{(2)}` (Table 5.2.2.2.3-4; :math:`\\lceil 3L/2\\rceil` beyond it, generalised)."""
        if self.n_polarizations == 2:
            return TYPE2_K2.get(self.n_beams, int(math.ceil(3 * self.n_beams / 2)))
        return int(math.ceil(3 * self.n_beams / 4))

    def dft_beams(self, *, like=None) -> Array:
        """The oversampled dictionary, shape (N1 N2, N1 O1 N2 O2); see :func:`dft_beams`."""
        return dft_beams(self.n1, self.n2, self.o1, self.o2, like=like)

    def encode_beams(self, n1, n2):
        """:math:`i_{1,2}` of beam sets (NumPy int arrays of shape (..., L), any order)."""
        n = np.sort(np.asarray(n2) * self.n1 + np.asarray(n1), axis=-1)
        return combinatorial_index(n, self.n_grid)

    def decode_beams(self, i12):
        """Beams ``(n1, n2)``, each (..., L), from :math:`i_{1,2}` (NumPy)."""
        n = combinatorial_decode(i12, self.n_grid, self.n_beams)
        return n % self.n1, n // self.n1

    def _layer_targets(self, h, rank):
        xp = get_xp(h)
        u, p, s, r = h.shape
        if r == 1 and rank == 1:
            return xp.moveaxis(h, 3, 1)                           # (U, 1, P, S)
        if rank > r:
            raise ValueError(f"`rank` must be <= the number of receive antennas {r} (the layers are the "
                             f"channel's singular vectors); got {rank}.")
        g = xp.moveaxis(h, 2, 1)                                  # (U, S, P, R)
        uu, sv, _ = xp.linalg.svd(g, full_matrices=False)        # (U, S, P, R), (U, S, R)
        t = uu[..., :rank] * xp.astype(sv[:, :, None, :rank], uu.dtype)
        return xp.moveaxis(t, (1, 3), (3, 1))                    # (U, rank, P, S)

    def pmi_search(self, channel, *, rank: int = 1) -> Type2PMI:
        """UE-side Type-II encoder: rotation and L beams maximising the captured energy,
        then wideband/subband amplitude and phase quantisation per layer.

        Parameters
        ----------
        channel : array, shape (n_users, n_ports, n_subbands[, n_rx]), complex
        rank : {1, 2}, default=1
            Layers (<= ``max_rank``); rank 2 needs ``n_rx >= 2``.

        Returns
        -------
        Type2PMI
        """
        rank = check_int(rank, "rank", low=1, high=self.max_rank,
                         why=f"the codebook was configured with max_rank={self.max_rank}")
        xp, h, _ = check_channel(channel, self.n_ports)
        t = self._layer_targets(h, rank)                          # (U, v, P, S)
        q1, q2, n1b, n2b, i12, metric, x = select_orthogonal_beams(self, t, xp)
        q = quantize_coefficients(x, phase_alphabet_size=self.phase_alphabet_size,
                                  subband_amplitude=self.subband_amplitude, k2=self.k2)
        return Type2PMI(q1, q2, n1b, n2b, i12, q, metric)

    def basis(self, pmi: Type2PMI) -> Array:
        """Orthonormal basis :math:`\\mathbf W_1 = \\mathrm{blkdiag}(\\mathbf B, \\mathbf B)/\\sqrt{N_1N_2}` of the
        reported beam subspace, shape (n_users, n_ports, n_polarizations * L)."""
        xp = array_namespace(pmi.n1)
        dtype = pmi.coefficients.values.dtype
        b = orthogonal_beam_matrix(self, pmi.q1, pmi.q2, pmi.n1, pmi.n2, xp, dtype) / math.sqrt(self.n_grid)
        if self.n_polarizations == 1:
            return b
        z = xp.zeros_like(b)
        return xp.concat([xp.concat([b, z], axis=-1), xp.concat([z, b], axis=-1)], axis=1)

    def reconstruct(self, pmi: Type2PMI) -> Array:
        """BS-side precoder, shape (n_users, n_ports, n_subbands, rank); each layer has unit norm
        before the rank scaling :math:`1/\\sqrt{v}`."""
        if not isinstance(pmi, Type2PMI):
            raise TypeError(f"`pmi` must be a Type2PMI (from pmi_search); got {type(pmi).__name__}.")
        xp = array_namespace(pmi.n1)
        vals = pmi.coefficients.values                            # (U, v, S, C)
        b = orthogonal_beam_matrix(self, pmi.q1, pmi.q2, pmi.n1, pmi.n2, xp, vals.dtype)   # (U, N, L)
        u, v, s, c = vals.shape
        blocks = []
        for pol in range(self.n_polarizations):
            cp = vals[..., pol * self.n_beams:(pol + 1) * self.n_beams]          # (U, v, S, L)
            cp = xp.reshape(xp.moveaxis(cp, -1, 1), (u, self.n_beams, v * s))
            blocks.append(xp.reshape(b @ cp, (u, self.n_grid, v, s)))
        w = xp.concat(blocks, axis=1)                              # (U, P, v, S)
        norm2 = self.n_grid * xp.sum(xp.real(vals * xp.conj(vals)), axis=-1)    # (U, v, S)
        w = w / xp.astype(xp.sqrt(norm2), w.dtype)[:, None, :, :]
        w = w / math.sqrt(v)
        return xp.permute_dims(w, (0, 1, 3, 2))                    # (U, P, S, v)

    def feedback_bits(self, pmi: Type2PMI | None = None, *, n_subbands: int | None = None,
                      n_nonzero=None, rank: int = 1, cqi_bits: int = 4) -> FeedbackBits:
        """Type-II payload per TS 38.212 §6.3.2: Part 1 + Part 2 (wideband + per subband).

        Parameters
        ----------
        pmi : Type2PMI, optional
            Take rank, subbands and :math:`M_l` from a report (per-user arrays result).
        n_subbands : int, optional
            :math:`N_{SB}` (required without ``pmi``).
        n_nonzero : int or array, optional
            :math:`M_l` per layer (default ``2L``, all coefficients non-zero); shape (..., rank).
        rank : {1, 2}, default=1
        cqi_bits : int, default=4

        Returns
        -------
        FeedbackBits
            Part 1 = RI (:math:`\\lceil\\log_2 \\mathrm{max\\_rank}\\rceil`) + CQI + one
            :math:`\\lceil\\log_2(2L-1)\\rceil` indicator per allowed layer.
        """
        cqi_bits = check_int(cqi_bits, "cqi_bits", low=0)
        if pmi is not None:
            if not isinstance(pmi, Type2PMI):
                raise TypeError(f"`pmi` must be a Type2PMI; got {type(pmi).__name__}.")
            rank = pmi.rank
            n_subbands = pmi.n_subbands
            m = to_numpy(pmi.coefficients.n_nonzero)              # (U, v)
        else:
            rank = check_int(rank, "rank", low=1, high=self.max_rank)
            if n_subbands is None:
                raise ValueError("`n_subbands` is required when no `pmi` is given.")
            n_subbands = check_int(n_subbands, "n_subbands", low=1)
            if n_nonzero is None:
                m = np.full(rank, self.n_coefficients)
            else:
                m = np.asarray(n_nonzero)
                if m.dtype.kind not in "iu":
                    raise TypeError(f"`n_nonzero` must be integer(s); got dtype {m.dtype}.")
                if m.ndim == 0:
                    m = np.full(rank, int(m))
                elif m.shape[-1] != rank:
                    raise ValueError(f"`n_nonzero` must have a last axis of length rank={rank}; "
                                     f"got shape {m.shape}.")
                if np.any(m < 1) or np.any(m > self.n_coefficients):
                    raise ValueError(f"`n_nonzero` must lie in [1, {self.n_coefficients}] (M_l counts the "
                                     f"non-zero wideband amplitudes, the strongest included); got {n_nonzero}.")
        c = self.n_coefficients
        wb_l, sb_l = coefficient_feedback_bits(m, n_coef=c, n_subbands=n_subbands,
                                               phase_alphabet_size=self.phase_alphabet_size,
                                               subband_amplitude=self.subband_amplitude, k2=self.k2)
        wb = ceil_log2(self.o1 * self.o2) + ceil_log2(math.comb(self.n_grid, self.n_beams)) + rank * wb_l
        sb = np.sum(sb_l, axis=-1)
        part1 = ceil_log2(self.max_rank) + cqi_bits + self.max_rank * ceil_log2(c - 1)
        if np.ndim(sb) == 0:
            sb = int(sb)
        else:
            wb = np.full(sb.shape, wb)
            part1 = np.full(sb.shape, part1)
        return FeedbackBits(part1, wb, sb, n_subbands)


def select_orthogonal_beams(codebook, t, xp):
    """UE-side beam search of a Type-II ``codebook`` (TS 38.214 §5.2.2.2.3, i_{1,1} and i_{1,2}):
    the rotation and L orthogonal beams maximising the captured energy of the layer targets ``t``
    (U, v, P, S), and the coefficients of ``t`` on the chosen beams, (U, v, S, n_pol * L)."""
    u, v, p, s = t.shape
    beams = codebook.dft_beams(like=t)                            # (N, J)
    th = xp.reshape(xp.moveaxis(t, 1, 2), (u, p, s * v, 1))
    x = project_on_beams(beams, th, codebook.n_polarizations, codebook.n_grid)  # (U, pol, J, S*v, 1)
    pj = xp.sum(xp.real(x * xp.conj(x)), axis=(1, 3, 4))      # (U, J)
    # rotation groups: j = l * (N2 O2) + m, l = O1 n1 + q1, m = O2 n2 + q2
    g = xp.reshape(pj, (u, codebook.n1, codebook.o1, codebook.n2, codebook.o2))
    g = xp.reshape(xp.permute_dims(g, (0, 2, 4, 1, 3)), (u, codebook.o1 * codebook.o2, codebook.n1 * codebook.n2))
    top = xp.argsort(-g, axis=-1)[..., : codebook.n_beams]        # (U, O1O2, L) indices n1 * N2 + n2
    score = xp.sum(xp.take_along_axis(g, top, axis=-1), axis=-1)
    rot = xp.argmax(score, axis=-1)                           # (U,)
    sel = xp.take_along_axis(top, rot[:, None, None], axis=1)[:, 0]   # (U, L)
    metric = xp.take_along_axis(score, rot[:, None], axis=1)[:, 0]
    n1b, n2b = sel // codebook.n2, sel % codebook.n2
    order = xp.argsort(n2b * codebook.n1 + n1b, axis=-1)          # i12 order: n = N1 n2 + n1 increasing
    n1b = xp.take_along_axis(n1b, order, axis=-1)
    n2b = xp.take_along_axis(n2b, order, axis=-1)
    q1, q2 = rot // codebook.o2, rot % codebook.o2
    i12 = asarray_like(codebook.encode_beams(to_numpy(n1b), to_numpy(n2b)), xp, dtype=xp.int64) \
        if is_numpy_namespace(xp) else None
    if i12 is None:  # CuPy: the combinatorial sum is tiny; do it on the device
        i12 = combinatorial_index_xp(n2b * codebook.n1 + n1b, codebook.n_grid, xp)
    basis = orthogonal_beam_matrix(codebook, q1, q2, n1b, n2b, xp, t.dtype)   # (U, N, L), unnormalised
    bh = xp.conj(xp.moveaxis(basis, -1, -2))                   # (U, L, N)
    coef = []
    for pol in range(codebook.n_polarizations):
        tp = xp.reshape(xp.moveaxis(t[:, :, pol * codebook.n_grid:(pol + 1) * codebook.n_grid], 1, 2),
                        (u, codebook.n_grid, v * s))
        coef.append(xp.reshape(bh @ tp, (u, codebook.n_beams, v, s)))
    x = xp.concat(coef, axis=1)                               # (U, C, v, S)
    x = xp.permute_dims(x, (0, 2, 3, 1))                      # (U, v, S, C)
    return q1, q2, n1b, n2b, i12, metric, x


def orthogonal_beam_matrix(codebook, q1, q2, n1b, n2b, xp, dtype):
    r"""The reported beams :math:`\mathbf v_{O_1n_1 + q_1,\,O_2n_2 + q_2}` of a Type-II ``codebook``,
    shape (U, N1 N2, L), unnormalised (norm :math:`\sqrt{N_1N_2}`)."""
    l = xp.astype(codebook.o1 * n1b + q1[:, None], xp.float64)       # (U, L)
    m = xp.astype(codebook.o2 * n2b + q2[:, None], xp.float64)
    a = xp.exp(2j * np.pi * l[:, None, :] * asarray_like(np.arange(codebook.n1), xp, dtype=xp.float64)[None, :, None]
               / (codebook.o1 * codebook.n1))                          # (U, N1, L)
    uu = xp.exp(2j * np.pi * m[:, None, :] * asarray_like(np.arange(codebook.n2), xp, dtype=xp.float64)[None, :, None]
                / (codebook.o2 * codebook.n2))                         # (U, N2, L)
    b = a[:, :, None, :] * uu[:, None, :, :]
    return xp.astype(xp.reshape(b, (b.shape[0], codebook.n_grid, b.shape[-1])), dtype)


def type2_codebook(n1: int, n2: int, *, n_beams: int, o1: int | None = None, o2: int | None = None,
                   phase_alphabet_size: int = 8, subband_amplitude: bool = True,
                   max_rank: int = 1) -> Type2Codebook:
    """Rel-15 Type-II codebook (TS 38.214 §5.2.2.2.3) with the standard's configurations.

    Parameters
    ----------
    n1, n2 : int
        Ports per polarisation (Table 5.2.2.2.1-2).
    n_beams : {2, 3, 4}
        ``numberOfBeams`` L (4 ports: only 2).
    o1, o2 : int, optional
        Oversampling (defaults as :func:`type1_codebook`).
    phase_alphabet_size : {4, 8}, default=8
        ``phaseAlphabetSize`` :math:`N_{PSK}`.
    subband_amplitude : bool, default=True
    max_rank : {1, 2}, default=1
        ``typeII-RI-Restriction`` (ranks allowed; sets the Part 1 size).

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import beamforming_gain, type2_codebook
    >>> cb = type2_codebook(4, 2, n_beams=4)
    >>> cb.n_ports, cb.n_coefficients
    (16, 8)
    >>> rng = np.random.default_rng(0)
    >>> h = rng.standard_normal((3, 16, 4)) + 1j * rng.standard_normal((3, 16, 4))
    >>> pmi = cb.pmi_search(h)
    >>> w = cb.reconstruct(pmi)                           # (users, ports, subbands, rank)
    >>> w.shape, np.round(beamforming_gain(h, w[..., 0]), 2)
    ((3, 16, 4, 1), array([0.54, 0.62, 0.56]))
    """
    o1, o2 = default_oversampling(n2, o1, o2)
    return Type2Codebook(n1, n2, o1, o2, n_beams, phase_alphabet_size, subband_amplitude, max_rank, 2, True)


def dft_subspace_codebook(n1: int, n2: int, *, n_beams: int = 4, o1: int | None = None,
                          o2: int | None = None, n_polarizations: int = 2, phase_alphabet_size: int = 8,
                          subband_amplitude: bool = True, max_rank: int = 1, kind: str = "type2"):
    """Generalised DFT-subspace codebook with the Type-II (or Type-I) structure for any array.

    The standard tables stop at 32 ports (:math:`N_1N_2 \\le 16`). This codebook keeps every
    ingredient of §5.2.2.2.3 and only drops the table restrictions:

    * beams: the oversampled 2-D DFT dictionary of any :math:`N_1, N_2, O_1, O_2`, rotation groups
      :math:`(q_1, q_2)` of :math:`N_1N_2` orthogonal beams, the same L beams on every polarisation;
    * :math:`1 \\le L \\le N_1N_2` beams (:math:`i_{1,2}` stays the combinatorial index, with
      :math:`\\lceil\\log_2\\binom{N_1N_2}{L}\\rceil` bits);
    * coefficients quantised with Tables 5.2.2.2.3-2/-3 and :math:`N_{PSK} \\in \\{4, 8, 16\\}`;
      :math:`K^{(2)}` from Table 5.2.2.2.3-4 for :math:`L \\le 4`, else :math:`\\lceil 3L/2\\rceil`;
    * one or two polarisations (:math:`N_{pol}L` coefficients per layer);
    * bit counts by the same TS 38.212 §6.3.2 formulas with :math:`2L` replaced by :math:`N_{pol}L`.

    ``kind="type1"`` returns the Type-I single-panel structure (mode 1) on the same dictionary.

    Parameters
    ----------
    n1, n2 : int
        Antennas per polarisation, horizontal and vertical.
    n_beams : int, default=4
        L (Type-II only).
    o1, o2 : int, optional
        Oversampling (default 4, and 1 for :math:`N_2 = 1`).
    n_polarizations : {1, 2}, default=2
    phase_alphabet_size : {4, 8, 16}, default=8
    subband_amplitude : bool, default=True
    max_rank : {1, 2}, default=1
    kind : {"type2", "type1"}, default="type2"

    Returns
    -------
    Type2Codebook or Type1Codebook
        With ``standard=False``.

    Examples
    --------
    A Type-II-style codebook for an 8 x 4 panel (64 ports), beyond the standard's port counts:

    >>> from estimators import dft_subspace_codebook
    >>> cb = dft_subspace_codebook(8, 4, n_beams=6)
    >>> type(cb).__name__, cb.n_ports, cb.n_coefficients
    ('Type2Codebook', 64, 12)
    """
    check_choice(kind, "kind", ("type2", "type1"))
    o1, o2 = default_oversampling(n2, o1, o2)
    if kind == "type1":
        return Type1Codebook(n1, n2, o1, o2, mode=1, n_polarizations=n_polarizations, standard=False)
    return Type2Codebook(n1, n2, o1, o2, n_beams, phase_alphabet_size, subband_amplitude, max_rank,
                         n_polarizations, False)

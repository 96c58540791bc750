r"""3GPP NR Type-I single-panel codebook (TS 38.214 §5.2.2.2.1), ranks 1 and 2.

codebookMode 1 and 2 (rank-2 offsets: Table 5.2.2.2.1-3; mode-2 beam groups: Table 5.2.2.2.1-5);
the payload follows TS 38.212 Table 6.3.1.1.2-1. The UE-side PMI search maximises the captured
channel energy, vectorised over users and subbands in the input's array namespace (NumPy or CuPy). Channel and port conventions are
those of :mod:`estimators.feedback._dft_beams`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sensing import HostCopy, asarray_like, check_bool, check_choice, check_int, get_xp

from ._codebook_tables import type1_mode2_offsets, type1_rank2_offsets
from ._dft_beams import (
    array_namespace,
    check_channel,
    check_panel,
    default_oversampling,
    dft_beams,
    project_on_beams,
)
from ._quantization import FeedbackBits, ceil_log2

Array = Any

__all__ = ["Type1PMI", "Type1Codebook", "type1_codebook"]


@dataclass(frozen=True)
class Type1PMI(HostCopy):
    """A Type-I single-panel PMI report per user.

    Attributes
    ----------
    i11, i12 : array of int, shape (n_users,)
        :math:`i_{1,1}`, :math:`i_{1,2}` (beam, or beam group in mode 2).
    i13 : array of int, shape (n_users,)
        :math:`i_{1,3}` (rank 2: orthogonal-beam offset, Table 5.2.2.2.1-3); zeros for rank 1.
    i2 : array of int, shape (n_users, n_i2)
        :math:`i_2` wideband (``n_i2 = 1``) or per subband.
    metric : array of float, shape (n_users,)
        Captured energy :math:`\\sum_{s,r}\\lVert\\mathbf W^H\\mathbf h_{s,r}\\rVert^2` of the chosen codeword.
    rank : int
    mode : int
    """

    i11: Array
    i12: Array
    i13: Array
    i2: Array
    metric: Array
    rank: int = 1
    mode: int = 1


@dataclass(frozen=True)
class Type1Codebook:
    r"""Type-I single-panel codebook (TS 38.214 §5.2.2.2.1), ranks 1 and 2.

    Rank 1, mode 1: :math:`\mathbf W = \frac{1}{\sqrt{P}}[\mathbf v_{l,m}; \varphi_n\mathbf v_{l,m}]`,
    :math:`\varphi_n = e^{j\pi n/2}`, :math:`i_{1,1}=l`, :math:`i_{1,2}=m`, :math:`i_2=n`.
    Rank 1, mode 2: :math:`l = 2i_{1,1} + \delta_l`, :math:`m = 2i_{1,2} + \delta_m` with
    :math:`i_2 = 4g + n` (Table 5.2.2.2.1-5). Rank 2, mode 1:
    :math:`\frac{1}{\sqrt{2P}}[\mathbf v_{l,m}, \mathbf v_{l',m'}; \varphi_n\mathbf v_{l,m}, -\varphi_n\mathbf v_{l',m'}]`,
    :math:`l' = l + k_1`, :math:`m' = m + k_2` from :math:`i_{1,3}` (Table 5.2.2.2.1-3), :math:`n\in\{0,1\}`.
    With ``n_polarizations=1`` (generalised codebook only) the co-phase is absent.

    Build with :func:`type1_codebook` (standard tables) or :func:`dft_subspace_codebook`.

    Examples
    --------
    A user whose channel is a codeword gets that codeword back (gain 1):

    >>> import numpy as np
    >>> from estimators import Type1Codebook, beamforming_gain
    >>> cb = Type1Codebook(4, 2, 4, 4)
    >>> words, indices = cb.codewords(rank=1)
    >>> words.shape, indices.shape                       # (codewords, ports, rank), (i11, i12, i13, i2)
    ((512, 16, 1), (512, 4))
    >>> h = words[None, 37]                              # (users, ports, subbands)
    >>> pmi = cb.pmi_search(h)
    >>> [int(np.ravel(f)[0]) for f in (pmi.i11, pmi.i12, pmi.i13, pmi.i2)] == indices[37].tolist()
    True
    >>> np.round(beamforming_gain(h, cb.reconstruct(pmi)[:, :, 0, :]), 3)
    array([1.])
    """

    n1: int
    n2: int
    o1: int
    o2: int
    mode: int = 1
    n_polarizations: int = 2
    standard: bool = True

    def __post_init__(self):
        check_panel(self.n1, self.n2, self.o1, self.o2, self.n_polarizations, self.standard)
        check_choice(self.mode, "mode", (1, 2))
        if self.mode == 2 and (self.o1 % 2 or (self.n2 > 1 and self.o2 % 2)):
            raise ValueError(f"`mode` 2 needs even oversampling (beam groups of two); got o1={self.o1}, o2={self.o2}.")
        if self.mode == 2 and self.n_polarizations != 2:
            raise ValueError("`mode` 2 needs n_polarizations=2 (i2 selects beam and co-phase); got 1.")

    @property
    def n_ports(self) -> int:
        return self.n_polarizations * self.n1 * self.n2

    @property
    def n_grid(self) -> int:
        return self.n1 * self.n2

    def dft_beams(self, *, like=None) -> Array:
        """The oversampled dictionary, shape (N1 N2, N1 O1 N2 O2); see :func:`dft_beams`."""
        return dft_beams(self.n1, self.n2, self.o1, self.o2, like=like)

    def _n_cophase(self, rank: int) -> int:
        if self.n_polarizations == 1:
            return 1
        return 4 if rank == 1 else 2

    def _offsets(self):
        return type1_rank2_offsets(self.n1, self.n2, self.o1, self.o2)

    def _rank_iv(self, rank):
        rank = check_int(rank, "rank", low=1, high=2)
        if rank == 2 and self.mode == 2:
            raise ValueError("`rank` 2 is implemented for codebookMode 1 only; got rank=2 with mode=2.")
        return rank

    def _beam_index(self, l, m, xp):
        return (l % (self.n1 * self.o1)) * (self.n2 * self.o2) + (m % (self.n2 * self.o2))

    def _energies(self, h, rank: int):
        """Captured energy per candidate: (U, n_i1, S, n_i2), candidate tables (i11, i12, i13), (i2 -> ...)."""
        xp = get_xp(h)
        beams = self.dft_beams(like=h)
        x = project_on_beams(beams, h, self.n_polarizations, self.n_grid)   # (U, pol, J, S, R)
        a = xp.sum(xp.real(x * xp.conj(x)), axis=(1, 4))              # (U, J, S)
        if self.n_polarizations == 2:
            c = xp.sum(x[:, 0] * xp.conj(x[:, 1]), axis=-1)          # (U, J, S)
        p = self.n_ports
        nl, nm = self.n1 * self.o1, self.n2 * self.o2
        n_co = self._n_cophase(rank)
        phi = asarray_like(np.exp(1j * np.pi * np.arange(n_co) / 2), xp, dtype=c.dtype if
                           self.n_polarizations == 2 else xp.complex128)
        if rank == 1 and self.mode == 1:
            if self.n_polarizations == 2:
                e = (a[..., None] + 2 * xp.real(phi * c[..., None])) / p          # (U, J, S, 4)
            else:
                e = a[..., None] / p
            ll, mm = np.meshgrid(np.arange(nl), np.arange(nm), indexing="ij")
            i1 = np.stack([ll.ravel(), mm.ravel(), np.zeros(ll.size, int)], axis=1)
            return e, i1
        if rank == 1:  # mode 2
            offs = type1_mode2_offsets(self.n2)
            g1 = np.arange(nl // 2)
            g2 = np.arange(nm // 2) if self.n2 > 1 else np.zeros(1, int)
            gg1, gg2 = np.meshgrid(g1, g2, indexing="ij")
            gg1, gg2 = gg1.ravel(), gg2.ravel()
            j = np.stack([self._beam_index(2 * gg1 + dl, 2 * gg2 + dm, np) for dl, dm in offs], axis=1)  # (G, 4)
            e = (a[..., None] + 2 * xp.real(phi * c[..., None])) / p                # (U, J, S, 4)
            jj = asarray_like(j.ravel(), xp, dtype=xp.int64)
            eg = xp.take(e, jj, axis=1)                                                # (U, G*4, S, 4n)
            u, _, s, _ = eg.shape
            eg = xp.reshape(eg, (u, j.shape[0], 4, s, 4))
            eg = xp.reshape(xp.moveaxis(eg, 2, 3), (u, j.shape[0], s, 16))            # i2 = 4 g + n
            i1 = np.stack([gg1, gg2, np.zeros(gg1.size, int)], axis=1)
            return eg, i1
        # rank 2, mode 1
        offs = self._offsets()
        ll, mm = np.meshgrid(np.arange(nl), np.arange(nm), indexing="ij")
        ll, mm = ll.ravel(), mm.ravel()
        cands_e = []
        i1 = []
        for i13, (k1, k2) in enumerate(offs):
            jp = asarray_like(self._beam_index(ll + k1, mm + k2, np), xp, dtype=xp.int64)
            a2 = xp.take(a, jp, axis=1)
            if self.n_polarizations == 2:
                c2 = xp.take(c, jp, axis=1)
                e = (a[..., None] + a2[..., None] + 2 * xp.real(phi * (c - c2)[..., None])) / (2 * p)
            else:
                e = (a + a2)[..., None] / (2 * p)
            cands_e.append(e)
            i1.append(np.stack([ll, mm, np.full(ll.size, i13)], axis=1))
        return xp.concat(cands_e, axis=1), np.concatenate(i1, axis=0)

    def pmi_search(self, channel, *, rank: int = 1, subband: bool = False) -> Type1PMI:
        """UE-side PMI selection maximising the captured energy (exhaustive over the codebook).

        Parameters
        ----------
        channel : array, shape (n_users, n_ports, n_subbands[, n_rx]), complex
            :math:`\\mathbf h_s` per user and subband (module docstring convention).
        rank : {1, 2}, default=1
        subband : bool, default=False
            Report :math:`i_2` per subband (``i2`` has ``n_subbands`` columns) instead of wideband.

        Returns
        -------
        Type1PMI
            In the namespace of ``channel``.
        """
        rank = self._rank_iv(rank)
        subband = check_bool(subband, "subband")
        xp, h, _ = check_channel(channel, self.n_ports)
        e, i1 = self._energies(h, rank)                           # (U, n_i1, S, n_i2)
        if subband:
            best_n = xp.max(e, axis=-1)                           # (U, n_i1, S)
            score = xp.sum(best_n, axis=-1)                       # (U, n_i1)
            k = xp.argmax(score, axis=1)
            e_k = xp.take_along_axis(e, k[:, None, None, None], axis=1)[:, 0]     # (U, S, n_i2)
            i2 = xp.argmax(e_k, axis=-1)
            metric = xp.take_along_axis(score, k[:, None], axis=1)[:, 0]
        else:
            ew = xp.sum(e, axis=2)                                # (U, n_i1, n_i2)
            u = ew.shape[0]
            flat = xp.reshape(ew, (u, -1))
            kk = xp.argmax(flat, axis=1)
            k = kk // ew.shape[2]
            i2 = (kk % ew.shape[2])[:, None]
            metric = xp.take_along_axis(flat, kk[:, None], axis=1)[:, 0]
        i1x = asarray_like(i1, xp, dtype=xp.int64)
        sel = xp.take(i1x, k, axis=0)
        return Type1PMI(sel[:, 0], sel[:, 1], sel[:, 2], xp.astype(i2, xp.int64), metric, rank, self.mode)

    def _layer_beams(self, pmi: Type1PMI, xp):
        """Beam indices (l, m) per layer and co-phase index n, each (U, n_i2)."""
        i11, i12, i13, i2 = pmi.i11[:, None], pmi.i12[:, None], pmi.i13[:, None], pmi.i2
        if pmi.mode == 2:
            offs = asarray_like(np.array(type1_mode2_offsets(self.n2)), xp, dtype=xp.int64)
            g, n = i2 // 4, i2 % 4
            l0 = 2 * i11 + offs[g, 0]
            m0 = 2 * i12 + offs[g, 1] if self.n2 > 1 else xp.zeros_like(g)
            return [(l0, m0)], n
        ls, ms = i11 + 0 * i2, i12 + 0 * i2
        out = [(ls, ms)]
        if pmi.rank == 2:
            offs = asarray_like(np.array(self._offsets()), xp, dtype=xp.int64)
            out.append((ls + offs[i13, 0], ms + offs[i13, 1]))
        return out, i2

    def reconstruct(self, pmi: Type1PMI) -> Array:
        """BS-side precoder from a PMI report.

        Returns
        -------
        array, shape (n_users, n_ports, n_i2, rank), complex
            :math:`\\mathbf W` per user and :math:`i_2` entry (wideband: ``n_i2 = 1``); every column
            has norm :math:`1/\\sqrt{\\mathrm{rank}}` as in the specification.
        """
        if not isinstance(pmi, Type1PMI):
            raise TypeError(f"`pmi` must be a Type1PMI (from pmi_search); got {type(pmi).__name__}.")
        xp = array_namespace(pmi.i11)
        nl, nm = self.n1 * self.o1, self.n2 * self.o2
        n1 = asarray_like(np.arange(self.n1), xp, dtype=xp.float64)
        n2 = asarray_like(np.arange(self.n2), xp, dtype=xp.float64)
        layers, n = self._layer_beams(pmi, xp)

        def beam(l, m):  # (U, S, N)
            a = xp.exp(2j * np.pi * xp.astype(l % nl, xp.float64)[..., None] * n1 / nl)
            u = xp.exp(2j * np.pi * xp.astype(m % nm, xp.float64)[..., None] * n2 / nm)
            v = a[..., :, None] * u[..., None, :]
            return xp.reshape(v, v.shape[:-2] + (self.n_grid,))

        cols = []
        for li, (l, m) in enumerate(layers):
            v = beam(l, m)
            if self.n_polarizations == 2:
                phi = xp.exp(1j * np.pi * xp.astype(n, xp.float64) / 2)[..., None]
                sign = 1.0 if li == 0 else -1.0
                w = xp.concat([v, sign * phi * v], axis=-1)
            else:
                w = v
            cols.append(w)
        w = xp.stack(cols, axis=-1) / math.sqrt(pmi.rank * self.n_ports)      # (U, S, P, rank)
        return xp.moveaxis(w, 1, 2)

    def codewords(self, *, rank: int = 1):
        """Every codeword of the (wideband) codebook.

        Returns
        -------
        precoders : ndarray, shape (n_codewords, n_ports, rank), complex128
        indices : ndarray of int, shape (n_codewords, 4)
            Columns ``(i11, i12, i13, i2)``.
        """
        rank = self._rank_iv(rank)
        nl, nm = self.n1 * self.o1, self.n2 * self.o2
        if self.mode == 1:
            l, m = np.meshgrid(np.arange(nl), np.arange(nm), indexing="ij")
            i1 = [(a, b, c) for a, b in zip(l.ravel(), m.ravel())
                  for c in range(len(self._offsets()) if rank == 2 else 1)]
        else:
            g2 = range(nm // 2) if self.n2 > 1 else range(1)
            i1 = [(a, b, 0) for a in range(nl // 2) for b in g2]
        n_i2 = self._n_cophase(rank) if self.mode == 1 else 16
        idx = np.array([(a, b, c, d) for (a, b, c) in i1 for d in range(n_i2)], dtype=np.int64)
        pmi = Type1PMI(idx[:, 0], idx[:, 1], idx[:, 2], idx[:, 3:4], np.zeros(len(idx)), rank, self.mode)
        return self.reconstruct(pmi)[:, :, 0, :], idx

    def feedback_bits(self, *, rank: int = 1, n_subbands: int = 1, subband: bool = False,
                      max_rank: int | None = None, cqi_bits: int = 4) -> FeedbackBits:
        """Type-I payload per TS 38.212 Table 6.3.1.1.2-1 (single panel, > 2 ports).

        Parameters
        ----------
        rank : {1, 2}, default=1
            Reported rank.
        n_subbands : int, default=1
            Subbands with an :math:`i_2` report (used only with ``subband=True``).
        subband : bool, default=False
            Per-subband :math:`i_2`.
        max_rank : int, optional
            Ranks allowed by the RI restriction (RI field :math:`\\lceil\\log_2\\rceil` bits); default ``rank``.
        cqi_bits : int, default=4
            Wideband CQI bits in Part 1.
        """
        rank = self._rank_iv(rank)
        n_subbands = check_int(n_subbands, "n_subbands", low=1)
        subband = check_bool(subband, "subband")
        max_rank = rank if max_rank is None else check_int(max_rank, "max_rank", low=rank, high=8)
        cqi_bits = check_int(cqi_bits, "cqi_bits", low=0)
        nl, nm = self.n1 * self.o1, self.n2 * self.o2
        if self.mode == 1:
            i1 = ceil_log2(nl) + ceil_log2(nm)
            i2 = ceil_log2(self._n_cophase(rank))
        else:
            i1 = ceil_log2(nl // 2) + (ceil_log2(nm // 2) if self.n2 > 1 else 0)
            i2 = 4
        if rank == 2:
            i1 += ceil_log2(len(self._offsets()))
        part1 = ceil_log2(max_rank) + cqi_bits
        if subband:
            return FeedbackBits(part1, i1, i2, n_subbands)
        return FeedbackBits(part1, i1 + i2, 0, n_subbands)


def type1_codebook(n1: int, n2: int, *, o1: int | None = None, o2: int | None = None,
                   mode: int = 1) -> Type1Codebook:
    """Type-I single-panel codebook with the standard's supported (N1, N2, O1, O2).

    Parameters
    ----------
    n1, n2 : int
        Antenna ports per polarisation, horizontal and vertical (:math:`P = 2N_1N_2 \\in \\{4..32\\}`).
    o1, o2 : int, optional
        Oversampling (default :math:`O_1 = 4`, :math:`O_2 = 4` if :math:`N_2 > 1` else 1).
    mode : {1, 2}, default=1
        codebookMode.

    Raises
    ------
    ValueError
        For combinations not in TS 38.214 Table 5.2.2.2.1-2.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import type1_codebook
    >>> cb = type1_codebook(4, 2)                        # 4 x 2 dual-polarised panel, 16 ports
    >>> cb.n_ports, (cb.o1, cb.o2)
    (16, (4, 4))
    >>> rng = np.random.default_rng(0)
    >>> h = rng.standard_normal((3, 16, 4)) + 1j * rng.standard_normal((3, 16, 4))   # (users, ports, subbands)
    >>> pmi = cb.pmi_search(h, rank=1)
    >>> pmi.i11.shape, cb.reconstruct(pmi).shape         # wideband: one i2 entry
    ((3,), (3, 16, 1, 1))
    """
    o1, o2 = default_oversampling(n2, o1, o2)
    return Type1Codebook(n1, n2, o1, o2, mode=mode, n_polarizations=2, standard=True)

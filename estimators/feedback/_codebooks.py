r"""3GPP NR CSI codebooks: Type-I single panel and Rel-15 Type-II (TS 38.214 §5.2.2.2).

Channel convention (``shared/docs/SIFO_AND_CODEBOOKS.md`` A5): ``channel[u, p, s]`` is
:math:`\mathbf h_s` of user ``u`` on subband ``s`` such that the received sample is
:math:`y = \mathbf h_s^H\mathbf w\,x + z`, so the best rank-1 precoder is :math:`\mathbf w\propto\mathbf h_s`.
Ports follow TS 38.214: port :math:`= \mathrm{pol}\cdot N_1N_2 + n_1N_2 + n_2` (``n2`` fastest).
A multi-antenna UE adds a trailing axis: ``channel[u, p, s, r]`` holds the columns of
:math:`\mathbf H_s^H` (one "h" per receive antenna).

Oversampled 2-D DFT beams (B1): :math:`\mathbf v_{l,m} = \mathbf a_l\otimes\mathbf u_m`,
:math:`[\mathbf a_l]_{n_1} = e^{j2\pi l n_1/(O_1N_1)}`, :math:`[\mathbf u_m]_{n_2} = e^{j2\pi m n_2/(O_2N_2)}`,
:math:`\lVert\mathbf v_{l,m}\rVert^2 = N_1N_2`; dictionary column ``j = l * (N2 O2) + m``.

Type-I single panel (B2, §5.2.2.2.1, codebookMode 1 and 2, ranks 1 and 2) and Rel-15 Type-II
(B3, §5.2.2.2.3, ranks 1 and 2, wideband + subband amplitudes, N_PSK phases, both
polarisations) are exact; feedback bit counts follow TS 38.212 (B5). The UE-side PMI search
maximises the captured channel energy (B7); it is vectorised over users and subbands in the
input's array namespace (NumPy or CuPy).

Beyond the 32-port tables, :func:`dft_subspace_codebook` builds the same structure for any
(N1, N2, O1, O2), one or two polarisations and any number of beams L <= N1 N2 (documented there).
Enhanced Type-II (Rel-16, §5.2.2.2.5) is implemented for rank 1 (:func:`etype2_codebook`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sensing import (
    HostCopy,
    asarray_like,
    check_bool,
    check_choice,
    check_int,
    get_xp,
    is_cupy_namespace,
    is_numpy_namespace,
    to_numpy,
)

from ._codebook_tables import (
    SUPPORTED_N1_N2_O1_O2,
    TYPE2_BEAM_COUNTS,
    TYPE2_K2,
    TYPE2_SUBBAND_AMPLITUDES,
    TYPE2_WIDEBAND_AMPLITUDES,
    combinatorial_decode,
    combinatorial_index,
    type1_mode2_offsets,
    type1_rank2_offsets,
)

Array = Any

__all__ = [
    "FeedbackBits",
    "Type1Codebook",
    "Type1PMI",
    "Type2Codebook",
    "Type2PMI",
    "QuantizedCoefficients",
    "type1_codebook",
    "type2_codebook",
    "dft_subspace_codebook",
    "dft_beams",
    "quantize_coefficients",
    "coefficient_feedback_bits",
    "supported_panel_configs",
    "EType2Codebook",
    "EType2PMI",
    "etype2_codebook",
]


def _clog2(x: int) -> int:
    return 0 if x <= 1 else int(math.ceil(math.log2(x)))


def _default_k2(n_coef: int) -> int:
    """K^(2) for ``n_coef`` coefficients: Table 5.2.2.2.3-4 for 2L with L in {2, 3, 4}, else ceil(3 n_coef / 4)."""
    if n_coef % 2 == 0 and n_coef // 2 in TYPE2_K2:
        return TYPE2_K2[n_coef // 2]
    return int(math.ceil(3 * n_coef / 4))


def supported_panel_configs() -> dict[int, tuple[tuple[int, int, int, int], ...]]:
    """TS 38.214 Table 5.2.2.2.1-2: ``{n_ports: ((N1, N2, O1, O2), ...)}``."""
    return dict(SUPPORTED_N1_N2_O1_O2)


def _array_ns(x):
    xp = get_xp(x)
    if not (is_numpy_namespace(xp) or is_cupy_namespace(xp)):
        raise TypeError(f"codebook functions accept NumPy or CuPy arrays (they use advanced indexing); "
                        f"got an array of {xp.__name__}.")
    return xp


def dft_beams(n1: int, n2: int, o1: int, o2: int, *, like=None, dtype=None) -> Array:
    r"""Oversampled 2-D DFT dictionary :math:`[\mathbf v_{0,0}, \mathbf v_{0,1}, \dots]`.

    Parameters
    ----------
    n1, n2 : int
        Antenna columns (horizontal, :math:`N_1`) and rows (vertical, :math:`N_2`) per polarisation.
    o1, o2 : int
        Oversampling factors :math:`O_1, O_2`.
    like : array, optional
        Result goes to this array's namespace (default NumPy).
    dtype : dtype, optional
        Complex dtype (default complex128, or complex64 when ``like`` is complex64).

    Returns
    -------
    array, shape (n1 * n2, n1 * o1 * n2 * o2), complex
        Column ``j = l * (n2 * o2) + m`` is :math:`\mathbf v_{l,m}` (unnormalised, norm :math:`\sqrt{N_1N_2}`),
        rows in port order ``n1 * n2_size + n2``.
    """
    n1, n2 = check_int(n1, "n1", low=1), check_int(n2, "n2", low=1)
    o1, o2 = check_int(o1, "o1", low=1), check_int(o2, "o2", low=1)
    xp = get_xp(like) if like is not None else get_xp()
    if dtype is None:
        dtype = xp.complex64 if (like is not None and like.dtype == xp.complex64) else xp.complex128
    ll = np.arange(n1 * o1)
    mm = np.arange(n2 * o2)
    a = np.exp(2j * np.pi * np.outer(np.arange(n1), ll) / (o1 * n1))   # (N1, L)
    u = np.exp(2j * np.pi * np.outer(np.arange(n2), mm) / (o2 * n2))   # (N2, M)
    v = (a[:, None, :, None] * u[None, :, None, :]).reshape(n1 * n2, ll.size * mm.size)
    return asarray_like(v, xp, dtype=dtype)


@dataclass(frozen=True)
class FeedbackBits:
    """CSI payload in bits (TS 38.212), per report.

    Attributes
    ----------
    part1 : int or ndarray
        CSI Part 1 (RI, wideband CQI and, for Type-II, the non-zero amplitude indicators).
    wideband : int or ndarray
        Wideband PMI bits (Type-II: Part 2 wideband; Type-I: i1 and, without subband reporting, i2).
    per_subband : int or ndarray
        PMI bits per subband.
    n_subbands : int
        Number of subbands :math:`N_{SB}` the subband PMI is reported for.
    """

    part1: Any
    wideband: Any
    per_subband: Any
    n_subbands: int

    @property
    def pmi(self):
        """Wideband + ``n_subbands`` x per-subband PMI bits (Type-II: the whole Part 2)."""
        return self.wideband + self.n_subbands * self.per_subband

    @property
    def total(self):
        """Part 1 + PMI."""
        return self.part1 + self.pmi


def _channel_iv(channel, n_ports: int, name: str = "channel"):
    """Validate a channel tensor -> (xp, h (U, P, S, R), had_rx_axis)."""
    if not (hasattr(channel, "shape") and hasattr(channel, "dtype")):
        raise TypeError(f"`{name}` must be a complex array of shape (n_users, n_ports, n_subbands[, n_rx]); "
                        f"got {type(channel).__name__}.")
    xp = _array_ns(channel)
    if channel.ndim not in (3, 4):
        raise ValueError(f"`{name}` must have shape (n_users, n_ports, n_subbands[, n_rx]); "
                         f"got shape {tuple(channel.shape)}.")
    if channel.shape[1] != n_ports:
        raise ValueError(f"`{name}` must have {n_ports} ports on axis 1 (the codebook's 2*N1*N2 or "
                         f"n_polarizations*N1*N2); got shape {tuple(channel.shape)}.")
    if min(channel.shape) < 1:
        raise ValueError(f"`{name}` must be non-empty; got shape {tuple(channel.shape)}.")
    if not xp.isdtype(channel.dtype, ("complex floating", "real floating")):
        raise TypeError(f"`{name}` must have a floating dtype (complex); got {channel.dtype}.")
    if not bool(xp.all(xp.isfinite(channel))):
        raise ValueError(f"`{name}` must be finite; got NaN/inf entries. Remove those users first.")
    h = channel if channel.ndim == 4 else channel[..., None]
    if not xp.isdtype(h.dtype, "complex floating"):
        h = xp.astype(h, xp.complex64 if h.dtype == xp.float32 else xp.complex128)
    return xp, h, channel.ndim == 4


def _project(beams, h, n_pol: int, n_grid: int):
    """Per-polarisation projections V^H h_pol: (U, n_pol, J, S, R)."""
    xp = get_xp(h)
    vh = xp.conj(beams).T                                   # (J, N)
    u, p, s, r = h.shape
    out = []
    for pol in range(n_pol):
        hp = xp.reshape(h[:, pol * n_grid:(pol + 1) * n_grid], (u, n_grid, s * r))
        out.append(xp.reshape(vh @ hp, (u, vh.shape[0], s, r)))
    return xp.stack(out, axis=1)


# ------------------------------------------------------------------------------------ Type-I

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
    """

    n1: int
    n2: int
    o1: int
    o2: int
    mode: int = 1
    n_polarizations: int = 2
    standard: bool = True

    def __post_init__(self):
        _panel_iv(self.n1, self.n2, self.o1, self.o2, self.n_polarizations, self.standard)
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
        x = _project(beams, h, self.n_polarizations, self.n_grid)   # (U, pol, J, S, R)
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
        xp, h, _ = _channel_iv(channel, self.n_ports)
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
        xp = _array_ns(pmi.i11)
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
            i1 = _clog2(nl) + _clog2(nm)
            i2 = _clog2(self._n_cophase(rank))
        else:
            i1 = _clog2(nl // 2) + (_clog2(nm // 2) if self.n2 > 1 else 0)
            i2 = 4
        if rank == 2:
            i1 += _clog2(len(self._offsets()))
        part1 = _clog2(max_rank) + cqi_bits
        if subband:
            return FeedbackBits(part1, i1, i2, n_subbands)
        return FeedbackBits(part1, i1 + i2, 0, n_subbands)


# ------------------------------------------------------------------------------- quantiser

@dataclass(frozen=True)
class QuantizedCoefficients(HostCopy):
    """Type-II style quantisation of combining coefficients (TS 38.214 §5.2.2.2.3).

    Attributes
    ----------
    i13 : array of int, shape (n_users, n_layers)
        Strongest coefficient (amplitude 1, phase 0, not reported).
    k1 : array of int, shape (n_users, n_layers, n_coef)
        Wideband amplitude indices (Table 5.2.2.2.3-2).
    c : array of int, shape (n_users, n_layers, n_subbands, n_coef)
        Phase indices (N_PSK for the strongest ``K2 - 1``, QPSK for the rest with subband amplitude).
    k2 : array of int, shape (n_users, n_layers, n_subbands, n_coef)
        Subband amplitude indices (Table 5.2.2.2.3-3); 1 where not reported.
    values : array, complex, shape (n_users, n_layers, n_subbands, n_coef)
        :math:`p^{(1)}p^{(2)}\\varphi` per coefficient.
    phase_alphabet_size : int
    """

    i13: Array
    k1: Array
    c: Array
    k2: Array
    values: Array
    phase_alphabet_size: int

    @property
    def n_nonzero(self) -> Array:
        """:math:`M_l`: coefficients with non-zero wideband amplitude, shape (n_users, n_layers)."""
        xp = get_xp(self.k1)
        return xp.sum(xp.astype(self.k1 > 0, xp.int64), axis=-1)


def quantize_coefficients(coefficients, *, phase_alphabet_size: int = 8, subband_amplitude: bool = True,
                          k2: int | None = None) -> QuantizedCoefficients:
    r"""Quantise combining coefficients the Type-II way (the UE encoder of B7, steps 3-4).

    Parameters
    ----------
    coefficients : array, complex, shape (n_users, n_layers, n_subbands, n_coef)
        :math:`x_{s,i}` = projection of the channel (layer target) on basis vector ``i``.
    phase_alphabet_size : {4, 8, 16}, default=8
        :math:`N_{PSK}`.
    subband_amplitude : bool, default=True
    k2 : int, optional
        :math:`K^{(2)}` (default: Table 5.2.2.2.3-4 for ``n_coef = 2L`` with L <= 4, else
        :math:`\lceil 3n_{coef}/4\rceil`).

    Returns
    -------
    QuantizedCoefficients

    Notes
    -----
    Wideband amplitude: RMS over subbands relative to the strongest coefficient, quantised to the
    nearest entry of Table 5.2.2.2.3-2 in the log domain (below :math:`2^{-3.25}` it becomes 0).
    Per subband the ratio :math:`x_{s,i}/x_{s,i_{13}}` gives the phase (nearest PSK point) and,
    divided by :math:`p^{(1)}`, the subband amplitude (threshold :math:`2^{-1/4}`). The selection
    of the :math:`\min(M, K^{(2)}) - 1` coefficients with :math:`N_{PSK}` phases and subband
    amplitudes orders by :math:`k^{(1)}`, ties to the lower index, as in §5.2.2.2.3.
    """
    x = coefficients
    if not (hasattr(x, "shape") and x.ndim == 4):
        raise ValueError(f"`coefficients` must have shape (n_users, n_layers, n_subbands, n_coef); "
                         f"got {getattr(x, 'shape', type(x).__name__)}.")
    xp = _array_ns(x)
    npsk = check_choice(phase_alphabet_size, "phase_alphabet_size", (4, 8, 16))
    subband_amplitude = check_bool(subband_amplitude, "subband_amplitude")
    n_coef = x.shape[-1]
    k2 = _default_k2(n_coef) if k2 is None else k2
    k2 = check_int(k2, "k2", low=1, high=n_coef)
    rdt = xp.float32 if x.dtype == xp.complex64 else xp.float64
    pw = xp.real(x * xp.conj(x))
    amp = xp.sqrt(xp.mean(pw, axis=2))                                        # (U, v, C)
    i13 = xp.argmax(amp, axis=-1)                                              # (U, v)
    amax = xp.take_along_axis(amp, i13[..., None], axis=-1)
    ratio = amp / xp.where(amax > 0, amax, 1.0)
    with np.errstate(divide="ignore"):
        kc = 7 + 2 * xp.log2(xp.where(ratio > 0, ratio, 1e-300))
    k1 = xp.astype(xp.clip(xp.round(kc), 0, 7), xp.int64)
    k1 = xp.where(kc < 0.5, 0, k1)
    cols = asarray_like(np.arange(n_coef), xp, dtype=xp.int64)
    strongest = cols == i13[..., None]                                         # (U, v, C)
    k1 = xp.where(strongest, 7, k1)
    nonzero = k1 > 0
    m = xp.sum(xp.astype(nonzero, xp.int64), axis=-1)                          # (U, v)
    # N_PSK + subband-amplitude set: the min(M, K2) - 1 strongest non-strongest by k1 (ties: lower index)
    key = xp.where(strongest | ~nonzero, -1, k1 * n_coef + (n_coef - 1 - cols))
    order = xp.argsort(-key, axis=-1)
    rank_pos = xp.argsort(order, axis=-1)
    n_sel = xp.minimum(m, k2) - 1 if subband_amplitude else m - 1
    selected = (rank_pos < n_sel[..., None]) & nonzero & ~strongest          # (U, v, C)
    qpsk = nonzero & ~strongest & ~selected
    # per-subband ratios to the strongest coefficient
    ref = xp.take_along_axis(x, xp.broadcast_to(i13[:, :, None, None], x.shape[:3] + (1,)), axis=-1)
    ok = xp.abs(ref) > 0
    r = xp.where(ok, x / xp.where(ok, ref, 1.0), 0.0)
    ang = xp.angle(r)
    c_n = xp.astype(xp.round(ang / (2 * np.pi / npsk)), xp.int64) % npsk
    c_4 = xp.astype(xp.round(ang / (np.pi / 2)), xp.int64) % 4
    c = xp.where(selected[:, :, None, :], c_n, xp.where(qpsk[:, :, None, :], c_4, 0))
    p1 = asarray_like(TYPE2_WIDEBAND_AMPLITUDES, xp, dtype=rdt)[k1]           # (U, v, C)
    if subband_amplitude:
        target = xp.abs(r) / xp.where(p1 > 0, p1, 1.0)[:, :, None, :]
        k2i = xp.where(selected[:, :, None, :] & (target < 2 ** -0.25), 0, 1)
    else:
        k2i = xp.ones(c.shape, dtype=xp.int64)
    k2i = xp.astype(k2i, xp.int64)
    p2 = asarray_like(TYPE2_SUBBAND_AMPLITUDES, xp, dtype=rdt)[k2i]
    base = xp.where(qpsk[:, :, None, :], 4, npsk)
    phase = xp.exp(1j * 2 * np.pi * xp.astype(c, rdt) / xp.astype(base, rdt))
    values = xp.astype(p1[:, :, None, :] * p2, x.dtype) * xp.astype(phase, x.dtype)
    return QuantizedCoefficients(i13, k1, c, k2i, values, npsk)


def coefficient_feedback_bits(n_nonzero, *, n_coef: int, n_subbands: int, phase_alphabet_size: int = 8,
                              subband_amplitude: bool = True, k2: int | None = None):
    """Bits of the quantised coefficients of one layer (the i_{1,3}, i_{1,4}, i_{2,1}, i_{2,2} fields).

    Returns ``(wideband, per_subband)``: :math:`\\lceil\\log_2 n_{coef}\\rceil + 3(n_{coef}-1)` and the
    per-subband count of B5 for :math:`M_l` = ``n_nonzero`` (scalar or array).
    """
    npsk = check_choice(phase_alphabet_size, "phase_alphabet_size", (4, 8, 16))
    k2 = _default_k2(n_coef) if k2 is None else k2
    m = np.asarray(n_nonzero)
    bpsk = int(math.log2(npsk))
    wb = _clog2(n_coef) + 3 * (n_coef - 1)
    if subband_amplitude:
        mk = np.minimum(m, k2)
        sb = (mk - 1) * bpsk + 2 * (m - mk) + (mk - 1)
    else:
        sb = (m - 1) * bpsk
    sb = sb if sb.ndim else int(sb)
    return wb, sb


# ------------------------------------------------------------------------------- Type-II

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
        _panel_iv(self.n1, self.n2, self.o1, self.o2, self.n_polarizations, self.standard)
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
        """UE-side Type-II encoder (B7): rotation and L beams maximising the captured energy,
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
        xp, h, _ = _channel_iv(channel, self.n_ports)
        t = self._layer_targets(h, rank)                          # (U, v, P, S)
        q1, q2, n1b, n2b, i12, metric, x = self._beams_and_coefficients(t, xp)
        q = quantize_coefficients(x, phase_alphabet_size=self.phase_alphabet_size,
                                  subband_amplitude=self.subband_amplitude, k2=self.k2)
        return Type2PMI(q1, q2, n1b, n2b, i12, q, metric)

    def _beams_and_coefficients(self, t, xp):
        """Rotation and L beams maximising the captured energy of layer targets ``t`` (U, v, P, S),
        and the coefficients of ``t`` on the chosen beams, (U, v, S, n_pol * L)."""
        u, v, p, s = t.shape
        beams = self.dft_beams(like=t)                            # (N, J)
        th = xp.reshape(xp.moveaxis(t, 1, 2), (u, p, s * v, 1))
        x = _project(beams, th, self.n_polarizations, self.n_grid)  # (U, pol, J, S*v, 1)
        pj = xp.sum(xp.real(x * xp.conj(x)), axis=(1, 3, 4))      # (U, J)
        # rotation groups: j = l * (N2 O2) + m, l = O1 n1 + q1, m = O2 n2 + q2
        g = xp.reshape(pj, (u, self.n1, self.o1, self.n2, self.o2))
        g = xp.reshape(xp.permute_dims(g, (0, 2, 4, 1, 3)), (u, self.o1 * self.o2, self.n1 * self.n2))
        top = xp.argsort(-g, axis=-1)[..., : self.n_beams]        # (U, O1O2, L) indices n1 * N2 + n2
        score = xp.sum(xp.take_along_axis(g, top, axis=-1), axis=-1)
        rot = xp.argmax(score, axis=-1)                           # (U,)
        sel = xp.take_along_axis(top, rot[:, None, None], axis=1)[:, 0]   # (U, L)
        metric = xp.take_along_axis(score, rot[:, None], axis=1)[:, 0]
        n1b, n2b = sel // self.n2, sel % self.n2
        order = xp.argsort(n2b * self.n1 + n1b, axis=-1)          # i12 order: n = N1 n2 + n1 increasing
        n1b = xp.take_along_axis(n1b, order, axis=-1)
        n2b = xp.take_along_axis(n2b, order, axis=-1)
        q1, q2 = rot // self.o2, rot % self.o2
        i12 = asarray_like(self.encode_beams(to_numpy(n1b), to_numpy(n2b)), xp, dtype=xp.int64) \
            if is_numpy_namespace(xp) else None
        if i12 is None:  # CuPy: the combinatorial sum is tiny; do it on the device
            i12 = _combinatorial_xp(n2b * self.n1 + n1b, self.n_grid, xp)
        basis = self._beam_matrix(q1, q2, n1b, n2b, xp, t.dtype)   # (U, N, L), unnormalised
        bh = xp.conj(xp.moveaxis(basis, -1, -2))                   # (U, L, N)
        coef = []
        for pol in range(self.n_polarizations):
            tp = xp.reshape(xp.moveaxis(t[:, :, pol * self.n_grid:(pol + 1) * self.n_grid], 1, 2),
                            (u, self.n_grid, v * s))
            coef.append(xp.reshape(bh @ tp, (u, self.n_beams, v, s)))
        x = xp.concat(coef, axis=1)                               # (U, C, v, S)
        x = xp.permute_dims(x, (0, 2, 3, 1))                      # (U, v, S, C)
        return q1, q2, n1b, n2b, i12, metric, x

    def _beam_matrix(self, q1, q2, n1b, n2b, xp, dtype):
        l = xp.astype(self.o1 * n1b + q1[:, None], xp.float64)       # (U, L)
        m = xp.astype(self.o2 * n2b + q2[:, None], xp.float64)
        a = xp.exp(2j * np.pi * l[:, None, :] * asarray_like(np.arange(self.n1), xp, dtype=xp.float64)[None, :, None]
                   / (self.o1 * self.n1))                          # (U, N1, L)
        uu = xp.exp(2j * np.pi * m[:, None, :] * asarray_like(np.arange(self.n2), xp, dtype=xp.float64)[None, :, None]
                    / (self.o2 * self.n2))                         # (U, N2, L)
        b = a[:, :, None, :] * uu[:, None, :, :]
        return xp.astype(xp.reshape(b, (b.shape[0], self.n_grid, b.shape[-1])), dtype)

    def basis(self, pmi: Type2PMI) -> Array:
        """Orthonormal basis :math:`\\mathbf W_1 = \\mathrm{blkdiag}(\\mathbf B, \\mathbf B)/\\sqrt{N_1N_2}` of the
        reported beam subspace, shape (n_users, n_ports, n_polarizations * L)."""
        xp = _array_ns(pmi.n1)
        dtype = pmi.coefficients.values.dtype
        b = self._beam_matrix(pmi.q1, pmi.q2, pmi.n1, pmi.n2, xp, dtype) / math.sqrt(self.n_grid)
        if self.n_polarizations == 1:
            return b
        z = xp.zeros_like(b)
        return xp.concat([xp.concat([b, z], axis=-1), xp.concat([z, b], axis=-1)], axis=1)

    def reconstruct(self, pmi: Type2PMI) -> Array:
        """BS-side precoder, shape (n_users, n_ports, n_subbands, rank); each layer has unit norm
        before the rank scaling :math:`1/\\sqrt{v}`."""
        if not isinstance(pmi, Type2PMI):
            raise TypeError(f"`pmi` must be a Type2PMI (from pmi_search); got {type(pmi).__name__}.")
        xp = _array_ns(pmi.n1)
        vals = pmi.coefficients.values                            # (U, v, S, C)
        b = self._beam_matrix(pmi.q1, pmi.q2, pmi.n1, pmi.n2, xp, vals.dtype)   # (U, N, L)
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
        """Type-II payload per TS 38.212 (B5): Part 1 + Part 2 (wideband + per subband).

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
        wb = _clog2(self.o1 * self.o2) + _clog2(math.comb(self.n_grid, self.n_beams)) + rank * wb_l
        sb = np.sum(sb_l, axis=-1)
        part1 = _clog2(self.max_rank) + cqi_bits + self.max_rank * _clog2(c - 1)
        if np.ndim(sb) == 0:
            sb = int(sb)
        else:
            wb = np.full(sb.shape, wb)
            part1 = np.full(sb.shape, part1)
        return FeedbackBits(part1, wb, sb, n_subbands)


def _combinatorial_xp(n, n_grid: int, xp):
    """i12 on the device (n sorted increasing, shape (U, L))."""
    lb = n.shape[-1]
    table = np.array([[math.comb(x, y) if x >= y else 0 for y in range(lb + 1)] for x in range(n_grid)])
    tab = asarray_like(table.ravel(), xp, dtype=xp.int64)
    out = xp.zeros(n.shape[0], dtype=xp.int64)
    for i in range(lb):
        out = out + xp.take(tab, (n_grid - 1 - n[:, i]) * (lb + 1) + (lb - i))
    return out


# ------------------------------------------------------------------------------ constructors

def _panel_iv(n1, n2, o1, o2, n_pol, standard):
    check_int(n1, "n1", low=1)
    check_int(n2, "n2", low=1)
    check_int(o1, "o1", low=1)
    check_int(o2, "o2", low=1)
    check_choice(n_pol, "n_polarizations", (1, 2))
    check_bool(standard, "standard")
    if standard:
        ports = 2 * n1 * n2
        combos = SUPPORTED_N1_N2_O1_O2.get(ports, ())
        if n_pol != 2 or (n1, n2, o1, o2) not in combos:
            allowed = "; ".join(f"{p} ports: " + ", ".join(f"({a},{b}) ({c},{d})" for a, b, c, d in cs)
                                for p, cs in SUPPORTED_N1_N2_O1_O2.items())
            raise ValueError(
                f"(N1, N2) with (O1, O2) must be a supported combination of TS 38.214 Table 5.2.2.2.1-2 "
                f"({allowed}); got ({n1},{n2}) ({o1},{o2}) with {n_pol} polarisation(s). "
                "Use estimators.dft_subspace_codebook for other arrays.")
        if n1 * n2 < 2:
            raise ValueError("the standard codebooks need at least 4 CSI-RS ports.")


def _default_o(n2: int, o1, o2):
    return (4 if o1 is None else o1), ((4 if n2 > 1 else 1) if o2 is None else o2)


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
    """
    o1, o2 = _default_o(n2, o1, o2)
    return Type1Codebook(n1, n2, o1, o2, mode=mode, n_polarizations=2, standard=True)


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
    """
    o1, o2 = _default_o(n2, o1, o2)
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
    * bit counts by the same TS 38.212 formulas (B5) with :math:`2L` replaced by :math:`N_{pol}L`.

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
    """
    check_choice(kind, "kind", ("type2", "type1"))
    o1, o2 = _default_o(n2, o1, o2)
    if kind == "type1":
        return Type1Codebook(n1, n2, o1, o2, mode=1, n_polarizations=n_polarizations, standard=False)
    return Type2Codebook(n1, n2, o1, o2, n_beams, phase_alphabet_size, subband_amplitude, max_rank,
                         n_polarizations, False)


# ----------------------------------------------------------------------- enhanced Type-II

# TS 38.214 Table 5.2.2.2.5-1 (paramCombination-r16): L, p_v for v in {1, 2}, p_v for v in {3, 4}, beta
ETYPE2_PARAM_COMBINATIONS: dict[int, tuple[int, float, float | None, float]] = {
    1: (2, 1 / 4, 1 / 8, 1 / 4), 2: (2, 1 / 4, 1 / 8, 1 / 2), 3: (4, 1 / 4, 1 / 8, 1 / 4),
    4: (4, 1 / 4, 1 / 8, 1 / 2), 5: (4, 1 / 4, 1 / 4, 3 / 4), 6: (4, 1 / 2, 1 / 4, 1 / 2),
    7: (6, 1 / 4, None, 1 / 2), 8: (6, 1 / 2, None, 3 / 4),
}
# Table 5.2.2.2.5-2: reference amplitude p^(1) = 2^{-(15-k)/4}, k = 1..15 (k = 0 reserved)
ETYPE2_REFERENCE_AMPLITUDES = np.concatenate([[np.nan], 2.0 ** (-(15 - np.arange(1, 16)) / 4)])
ETYPE2_REFERENCE_AMPLITUDES.setflags(write=False)
# Table 5.2.2.2.5-3: differential amplitude p^(2) = 2^{-(7-k)/2}, k = 0..7
ETYPE2_DIFFERENTIAL_AMPLITUDES = 2.0 ** (-(7 - np.arange(8)) / 2)
ETYPE2_DIFFERENTIAL_AMPLITUDES.setflags(write=False)


@dataclass(frozen=True)
class EType2PMI(HostCopy):
    """An enhanced Type-II (Rel-16) PMI report per user, rank 1 (TS 38.214 §5.2.2.2.5).

    Attributes
    ----------
    q1, q2, n1, n2, i12 : arrays
        Spatial basis, as in :class:`Type2PMI`.
    freq_indices : array of int, shape (n_users, M)
        Remapped frequency-basis indices :math:`n_3^{(f)}` (the strongest coefficient's is 0, first).
    window_start : array of int, shape (n_users,)
        :math:`M_{initial}` (:math:`i_{1,5}`, used only when :math:`N_3 > 19`).
    bitmap : array of bool, shape (n_users, 2L, M)
        :math:`i_{1,7}`: non-zero coefficients.
    strongest : array of int, shape (n_users,)
        Index ``i`` (0..2L-1) of the strongest coefficient (at frequency index 0), :math:`i_{1,8}`.
    k_ref : array of int, shape (n_users, 2)
        Reference amplitude per polarisation (:math:`i_{2,3}`; 15 = amplitude 1 for the strongest's).
    k_diff : array of int, shape (n_users, 2L, M)
        Differential amplitudes (:math:`i_{2,4}`).
    phase : array of int, shape (n_users, 2L, M)
        16PSK phases (:math:`i_{2,5}`).
    metric : array, shape (n_users,)
    """

    q1: Array
    q2: Array
    n1: Array
    n2: Array
    i12: Array
    freq_indices: Array
    window_start: Array
    bitmap: Array
    strongest: Array
    k_ref: Array
    k_diff: Array
    phase: Array
    metric: Array

    @property
    def n_nonzero(self) -> Array:
        """:math:`K^{NZ}` per user."""
        xp = get_xp(self.bitmap)
        return xp.sum(xp.astype(self.bitmap, xp.int64), axis=(1, 2))


@dataclass(frozen=True)
class EType2Codebook:
    r"""Enhanced Type-II codebook (Rel-16, TS 38.214 §5.2.2.2.5), rank 1:
    :math:`\mathbf W = \mathbf W_1\tilde{\mathbf W}_2\mathbf W_f^H`.

    For PMI subband :math:`t` (Part B6 of the doc):

    .. math::
        \mathbf W_t = \frac{1}{\sqrt{N_1N_2\gamma_t}}\begin{bmatrix}
        \sum_{i<L}\mathbf v_{m^{(i)}}\,p^{(1)}_{0}\sum_f y^{(f)}_t p^{(2)}_{i,f}\varphi_{i,f}\\
        \sum_{i<L}\mathbf v_{m^{(i)}}\,p^{(1)}_{1}\sum_f y^{(f)}_t p^{(2)}_{i+L,f}\varphi_{i+L,f}\end{bmatrix},
        \quad y^{(f)}_t = e^{j2\pi t n_3^{(f)}/N_3},

    with :math:`M = \lceil p_1 N_3/R\rceil` frequency-basis vectors, at most
    :math:`K_0 = \lceil\beta\,2LM\rceil` non-zero coefficients, 4-bit reference amplitudes
    (Table 5.2.2.2.5-2), 3-bit differential amplitudes (Table 5.2.2.2.5-3) and 16PSK phases.

    Build with :func:`etype2_codebook`. Only rank 1 is implemented (the Rel-16 layers 2-4 reuse the
    same structure per layer with the rank-dependent ``p_v``).
    """

    n1: int
    n2: int
    o1: int
    o2: int
    param_combination: int
    n_subbands: int
    pmi_subbands_per_cqi_subband: int = 1

    def __post_init__(self):
        _panel_iv(self.n1, self.n2, self.o1, self.o2, 2, True)
        check_choice(self.param_combination, "param_combination", tuple(ETYPE2_PARAM_COMBINATIONS))
        check_int(self.n_subbands, "n_subbands", low=1)
        check_choice(self.pmi_subbands_per_cqi_subband, "pmi_subbands_per_cqi_subband", (1, 2))
        ports = 2 * self.n1 * self.n2
        if ports == 4 and self.param_combination > 2:
            raise ValueError(f"`param_combination` {self.param_combination} is not used with 4 CSI-RS ports "
                             "(TS 38.214 §5.2.2.2.5: only 1 and 2); got it with 4 ports.")
        if self.param_combination in (7, 8) and ports != 32:
            raise ValueError(f"`param_combination` {self.param_combination} needs 32 CSI-RS ports; got {ports}.")
        if self.n_beams > self.n1 * self.n2:
            raise ValueError(f"`param_combination` {self.param_combination} has L = {self.n_beams} beams, "
                             f"more than N1*N2 = {self.n1 * self.n2}.")

    @property
    def n_beams(self) -> int:
        return ETYPE2_PARAM_COMBINATIONS[self.param_combination][0]

    @property
    def beta(self) -> float:
        return ETYPE2_PARAM_COMBINATIONS[self.param_combination][3]

    @property
    def n3(self) -> int:
        """PMI subbands :math:`N_3 = N_{SB}R`."""
        return self.n_subbands * self.pmi_subbands_per_cqi_subband

    @property
    def n_freq(self) -> int:
        """:math:`M_1 = \\lceil p_1 N_3/R\\rceil`."""
        p1 = ETYPE2_PARAM_COMBINATIONS[self.param_combination][1]
        return int(math.ceil(p1 * self.n3 / self.pmi_subbands_per_cqi_subband))

    @property
    def k0(self) -> int:
        """:math:`K_0 = \\lceil\\beta\\,2LM_1\\rceil`."""
        return int(math.ceil(self.beta * 2 * self.n_beams * self.n_freq))

    @property
    def n_ports(self) -> int:
        return 2 * self.n1 * self.n2

    def _spatial(self) -> Type2Codebook:
        return Type2Codebook(self.n1, self.n2, self.o1, self.o2, self.n_beams, 8, True, 1, 2, False)

    def pmi_search(self, channel) -> EType2PMI:
        """UE-side encoder: spatial beams as Type-II, then the M strongest DFT frequency-basis
        vectors (window of 2M when :math:`N_3 > 19`), the :math:`K_0` strongest coefficients
        (fewer when the rest fall below half a step under the smallest differential amplitude)
        and their quantisation (nearest table entries in the log domain, 16PSK).

        Parameters
        ----------
        channel : array, shape (n_users, n_ports, N3), complex
            One column per PMI subband.
        """
        xp, h, _ = _channel_iv(channel, self.n_ports)
        if h.shape[2] != self.n3:
            raise ValueError(f"`channel` must have N3 = {self.n3} PMI subbands on axis 2; got shape "
                             f"{tuple(channel.shape)}.")
        if h.shape[3] != 1:
            raise ValueError("enhanced Type-II is implemented for rank 1 with one receive antenna; "
                             f"got {h.shape[3]} receive antennas.")
        sp = self._spatial()
        t = xp.moveaxis(h, 3, 1)                                                 # (U, 1, P, N3)
        q1, q2, n1b, n2b, i12, metric, x = sp._beams_and_coefficients(t, xp)
        x = x[:, 0]                                                              # (U, N3, 2L)
        u, n3, c2l = x.shape
        m = self.n_freq
        tt = np.arange(n3)
        y = asarray_like(np.exp(2j * np.pi * np.outer(tt, tt) / n3), xp, dtype=x.dtype)   # y[t, f]
        cfull = xp.moveaxis(xp.conj(y).T @ x, 1, 2) / n3                        # (U, 2L, N3): c_{i,f}
        pw = xp.real(cfull * xp.conj(cfull))
        flat = xp.argmax(xp.reshape(pw, (u, -1)), axis=1)
        i_star, f_star = flat // n3, flat % n3
        # remap frequencies so that the strongest coefficient sits at index 0
        shift = (asarray_like(tt, xp, dtype=xp.int64)[None, :] + f_star[:, None]) % n3   # new f' -> old f
        c = xp.take_along_axis(cfull, xp.broadcast_to(shift[:, None, :], cfull.shape), axis=2)
        e = xp.sum(xp.real(c * xp.conj(c)), axis=1)                              # (U, N3)
        if n3 <= 19:
            e0 = xp.where(asarray_like(tt, xp, dtype=xp.int64)[None, :] == 0, xp.inf, e)
            fsel = xp.sort(xp.argsort(-e0, axis=1)[:, :m], axis=1)              # contains 0 first
            mstart = xp.zeros(u, dtype=xp.int64)
        else:
            best, fsel, mstart = None, None, None
            for m0 in range(-2 * m + 1, 1):
                win = (np.arange(2 * m) + m0) % n3                              # contains 0
                ew = e[:, win]
                ew = xp.where(asarray_like(win, xp, dtype=xp.int64)[None, :] == 0, xp.inf, ew)
                pick = xp.argsort(-ew, axis=1)[:, :m]
                cand = asarray_like(win, xp, dtype=xp.int64)[pick]
                score = xp.sum(xp.take_along_axis(e, cand, axis=1), axis=1)
                cand = xp.sort(cand, axis=1)
                if best is None:
                    best, fsel, mstart = score, cand, xp.full(u, m0, dtype=xp.int64)
                else:
                    better = score > best
                    best = xp.where(better, score, best)
                    fsel = xp.where(better[:, None], cand, fsel)
                    mstart = xp.where(better, m0, mstart)
        w2 = xp.take_along_axis(c, xp.broadcast_to(fsel[:, None, :], (u, c2l, m)), axis=2)   # (U, 2L, M)
        ref = xp.take_along_axis(w2[:, :, 0], i_star[:, None], axis=1)          # strongest, at f' = 0
        w2 = w2 / xp.where(xp.abs(ref) > 0, ref, 1.0)[:, :, None]
        amp = xp.abs(w2)
        # bitmap: the K0 strongest coefficients (the strongest always among them)
        k = min(self.k0, c2l * m)
        order = xp.argsort(-xp.reshape(amp, (u, -1)), axis=1)
        rank_pos = xp.reshape(xp.argsort(order, axis=1), amp.shape)
        bitmap = (rank_pos < k) & (amp > 0)
        # reference amplitude of the polarisation without the strongest coefficient
        pol_star = i_star // self.n_beams
        amp_nz = xp.where(bitmap, amp, 0.0)
        pol_max = xp.stack([xp.max(amp_nz[:, :self.n_beams], axis=(1, 2)),
                            xp.max(amp_nz[:, self.n_beams:], axis=(1, 2))], axis=1)   # (U, 2)
        with np.errstate(divide="ignore"):
            kr = xp.clip(xp.round(15 + 4 * xp.log2(xp.where(pol_max > 0, pol_max, 1e-300))), 1, 15)
        kr = xp.astype(kr, xp.int64)
        k_ref = xp.where(asarray_like(np.arange(2), xp, dtype=xp.int64)[None, :] == pol_star[:, None], 15, kr)
        p_ref = asarray_like(ETYPE2_REFERENCE_AMPLITUDES, xp, dtype=xp.float64)[k_ref]     # (U, 2)
        p_ref_i = xp.repeat(p_ref, self.n_beams, axis=1)[:, :, None]                  # (U, 2L, 1)
        # the encoder reports fewer than K0 coefficients when the others are below half a step
        # under the smallest differential amplitude 2^{-7/2} (the bitmap signals zeros)
        bitmap = bitmap & (amp >= p_ref_i * 2.0 ** -3.75)
        with np.errstate(divide="ignore"):
            kd = xp.clip(xp.round(7 + 2 * xp.log2(xp.where(amp > 0, amp / p_ref_i, 1e-300))), 0, 7)
        k_diff = xp.where(bitmap, xp.astype(kd, xp.int64), 0)
        phase = xp.where(bitmap, xp.astype(xp.round(xp.angle(w2) / (2 * np.pi / 16)), xp.int64) % 16, 0)
        return EType2PMI(q1, q2, n1b, n2b, i12, fsel, mstart, bitmap, i_star, k_ref, k_diff, phase, metric)

    def coefficients(self, pmi: EType2PMI) -> Array:
        """Quantised :math:`\\tilde{\\mathbf W}_2`, shape (n_users, 2L, M): :math:`p^{(1)}p^{(2)}\\varphi`, zero off the bitmap."""
        xp = _array_ns(pmi.k_diff)
        p_ref = asarray_like(ETYPE2_REFERENCE_AMPLITUDES, xp, dtype=xp.float64)[pmi.k_ref]
        p1 = xp.repeat(p_ref, self.n_beams, axis=1)[:, :, None]
        p2 = asarray_like(ETYPE2_DIFFERENTIAL_AMPLITUDES, xp, dtype=xp.float64)[pmi.k_diff]
        ph = xp.exp(2j * np.pi * xp.astype(pmi.phase, xp.float64) / 16)
        return xp.where(pmi.bitmap, p1 * p2 * ph, 0.0)

    def reconstruct(self, pmi: EType2PMI) -> Array:
        """Precoder per PMI subband, shape (n_users, n_ports, N3, 1), unit norm per subband."""
        if not isinstance(pmi, EType2PMI):
            raise TypeError(f"`pmi` must be an EType2PMI (from pmi_search); got {type(pmi).__name__}.")
        xp = _array_ns(pmi.k_diff)
        w2 = self.coefficients(pmi)                                              # (U, 2L, M)
        t = asarray_like(np.arange(self.n3), xp, dtype=xp.float64)
        y = xp.exp(2j * np.pi * t[None, :, None] * xp.astype(pmi.freq_indices, xp.float64)[:, None, :] / self.n3)
        coef = w2 @ xp.moveaxis(y, 1, 2)                                         # (U, 2L, N3)
        b = self._spatial()._beam_matrix(pmi.q1, pmi.q2, pmi.n1, pmi.n2, xp, coef.dtype)   # (U, N, L)
        w = xp.concat([b @ coef[:, :self.n_beams], b @ coef[:, self.n_beams:]], axis=1)     # (U, P, N3)
        gamma = self.n1 * self.n2 * xp.sum(xp.real(coef * xp.conj(coef)), axis=1)          # (U, N3)
        w = w / xp.astype(xp.sqrt(xp.where(gamma > 0, gamma, 1.0)), w.dtype)[:, None, :]
        return w[..., None]

    def basis(self, pmi: EType2PMI) -> Array:
        """Orthonormal spatial basis blkdiag(B, B)/sqrt(N1 N2), shape (n_users, n_ports, 2L)."""
        sp = self._spatial()
        xp = _array_ns(pmi.n1)
        b = sp._beam_matrix(pmi.q1, pmi.q2, pmi.n1, pmi.n2, xp, xp.complex128) / math.sqrt(self.n1 * self.n2)
        z = xp.zeros_like(b)
        return xp.concat([xp.concat([b, z], axis=-1), xp.concat([z, b], axis=-1)], axis=1)

    def feedback_bits(self, pmi: EType2PMI | None = None, *, n_nonzero=None, cqi_bits: int = 4) -> FeedbackBits:
        """Rel-16 payload (TS 38.212, doc B6), rank 1 only allowed: Part 1 = CQI + K_NZ
        (:math:`\\lceil\\log_2K_0\\rceil`); Part 2 as ``wideband`` (every PMI field is wideband).

        Parameters
        ----------
        pmi : EType2PMI, optional
            Per-user K_NZ from a report.
        n_nonzero : int, optional
            :math:`K^{NZ}` (default :math:`K_0`).
        """
        cqi_bits = check_int(cqi_bits, "cqi_bits", low=0)
        if pmi is not None:
            knz = to_numpy(pmi.n_nonzero)
        else:
            knz = np.asarray(self.k0 if n_nonzero is None else check_int(n_nonzero, "n_nonzero", low=1, high=self.k0))
        lb, m, n3 = self.n_beams, self.n_freq, self.n3
        p2 = _clog2(self.o1 * self.o2) + _clog2(math.comb(self.n1 * self.n2, lb))
        if n3 > 19:
            p2 += _clog2(2 * m) + _clog2(math.comb(2 * m - 1, m - 1))
        else:
            p2 += _clog2(math.comb(n3 - 1, m - 1))
        p2 += 2 * lb * m + 4                                                     # bitmap + i_{2,3}
        i18 = np.vectorize(_clog2)(knz)
        part2 = p2 + i18 + 3 * (knz - 1) + 4 * (knz - 1)
        part1 = cqi_bits + _clog2(self.k0)
        if np.ndim(part2) == 0:
            return FeedbackBits(int(part1), int(part2), 0, self.n3)
        return FeedbackBits(np.full(part2.shape, part1), part2.astype(np.int64), 0, self.n3)


def etype2_codebook(n1: int, n2: int, *, param_combination: int, n_subbands: int,
                    pmi_subbands_per_cqi_subband: int = 1, o1: int | None = None,
                    o2: int | None = None) -> EType2Codebook:
    """Enhanced Type-II (Rel-16) codebook, rank 1 (the stretch goal of issue 6).

    Parameters
    ----------
    n1, n2 : int
        Ports per polarisation (Table 5.2.2.2.1-2).
    param_combination : int in 1..8
        ``paramCombination-r16`` (Table 5.2.2.2.5-1: L, p_v, beta).
    n_subbands : int
        CQI subbands :math:`N_{SB}`.
    pmi_subbands_per_cqi_subband : {1, 2}, default=1
        R (:math:`N_3 = N_{SB}R`).
    o1, o2 : int, optional
    """
    o1, o2 = _default_o(n2, o1, o2)
    return EType2Codebook(n1, n2, o1, o2, param_combination, n_subbands, pmi_subbands_per_cqi_subband)

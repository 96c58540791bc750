r"""3GPP NR enhanced Type-II codebook (Rel-16, TS 38.214 §5.2.2.2.5), rank 1.

:math:`\mathbf W = \mathbf W_1\tilde{\mathbf W}_2\mathbf W_f^H`: the Type-II spatial beams of
:mod:`estimators.feedback._type2`, a DFT frequency basis, a bitmap of at most :math:`K_0` non-zero
coefficients with the reference / differential amplitudes of Tables 5.2.2.2.5-2/-3 and 16PSK
phases; the payload follows the Rel-16 field widths of TS 38.212 §6.3.2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sensing import HostCopy, asarray_like, check_choice, check_int, get_xp, to_numpy

from ._codebook_tables import ETYPE2_DIFFERENTIAL_AMPLITUDES, ETYPE2_PARAM_COMBINATIONS, ETYPE2_REFERENCE_AMPLITUDES
from ._dft_beams import array_namespace, check_channel, check_panel, default_oversampling
from ._quantization import FeedbackBits, ceil_log2
from ._type2 import Type2Codebook, orthogonal_beam_matrix, select_orthogonal_beams

Array = Any

__all__ = ["EType2PMI", "EType2Codebook", "etype2_codebook"]


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

    For PMI subband :math:`t` (§5.2.2.2.5):

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

    Examples
    --------
    >>> from estimators import EType2Codebook
    >>> cb = EType2Codebook(4, 2, 4, 4, param_combination=3, n_subbands=8)
    >>> cb.n_beams, cb.beta, cb.n3
    (4, 0.25, 8)
    """

    n1: int
    n2: int
    o1: int
    o2: int
    param_combination: int
    n_subbands: int
    pmi_subbands_per_cqi_subband: int = 1

    def __post_init__(self):
        check_panel(self.n1, self.n2, self.o1, self.o2, 2, True)
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
        xp, h, _ = check_channel(channel, self.n_ports)
        if h.shape[2] != self.n3:
            raise ValueError(f"`channel` must have N3 = {self.n3} PMI subbands on axis 2; got shape "
                             f"{tuple(channel.shape)}.")
        if h.shape[3] != 1:
            raise ValueError("enhanced Type-II is implemented for rank 1 with one receive antenna; "
                             f"got {h.shape[3]} receive antennas.")
        sp = self._spatial()
        t = xp.moveaxis(h, 3, 1)                                                 # (U, 1, P, N3)
        q1, q2, n1b, n2b, i12, metric, x = select_orthogonal_beams(sp, t, xp)
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
        xp = array_namespace(pmi.k_diff)
        p_ref = asarray_like(ETYPE2_REFERENCE_AMPLITUDES, xp, dtype=xp.float64)[pmi.k_ref]
        p1 = xp.repeat(p_ref, self.n_beams, axis=1)[:, :, None]
        p2 = asarray_like(ETYPE2_DIFFERENTIAL_AMPLITUDES, xp, dtype=xp.float64)[pmi.k_diff]
        ph = xp.exp(2j * np.pi * xp.astype(pmi.phase, xp.float64) / 16)
        return xp.where(pmi.bitmap, p1 * p2 * ph, 0.0)

    def reconstruct(self, pmi: EType2PMI) -> Array:
        """Precoder per PMI subband, shape (n_users, n_ports, N3, 1), unit norm per subband."""
        if not isinstance(pmi, EType2PMI):
            raise TypeError(f"`pmi` must be an EType2PMI (from pmi_search); got {type(pmi).__name__}.")
        xp = array_namespace(pmi.k_diff)
        w2 = self.coefficients(pmi)                                              # (U, 2L, M)
        t = asarray_like(np.arange(self.n3), xp, dtype=xp.float64)
        y = xp.exp(2j * np.pi * t[None, :, None] * xp.astype(pmi.freq_indices, xp.float64)[:, None, :] / self.n3)
        coef = w2 @ xp.moveaxis(y, 1, 2)                                         # (U, 2L, N3)
        b = orthogonal_beam_matrix(self._spatial(), pmi.q1, pmi.q2, pmi.n1, pmi.n2, xp, coef.dtype)   # (U, N, L)
        w = xp.concat([b @ coef[:, :self.n_beams], b @ coef[:, self.n_beams:]], axis=1)     # (U, P, N3)
        gamma = self.n1 * self.n2 * xp.sum(xp.real(coef * xp.conj(coef)), axis=1)          # (U, N3)
        w = w / xp.astype(xp.sqrt(xp.where(gamma > 0, gamma, 1.0)), w.dtype)[:, None, :]
        return w[..., None]

    def basis(self, pmi: EType2PMI) -> Array:
        """Orthonormal spatial basis blkdiag(B, B)/sqrt(N1 N2), shape (n_users, n_ports, 2L)."""
        sp = self._spatial()
        xp = array_namespace(pmi.n1)
        b = orthogonal_beam_matrix(sp, pmi.q1, pmi.q2, pmi.n1, pmi.n2, xp, xp.complex128) / math.sqrt(self.n1 * self.n2)
        z = xp.zeros_like(b)
        return xp.concat([xp.concat([b, z], axis=-1), xp.concat([z, b], axis=-1)], axis=1)

    def feedback_bits(self, pmi: EType2PMI | None = None, *, n_nonzero=None, cqi_bits: int = 4) -> FeedbackBits:
        """Rel-16 payload (TS 38.212 §6.3.2, Rel-16 field widths), rank 1 only allowed: Part 1 = CQI + K_NZ
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
        p2 = ceil_log2(self.o1 * self.o2) + ceil_log2(math.comb(self.n1 * self.n2, lb))
        if n3 > 19:
            p2 += ceil_log2(2 * m) + ceil_log2(math.comb(2 * m - 1, m - 1))
        else:
            p2 += ceil_log2(math.comb(n3 - 1, m - 1))
        p2 += 2 * lb * m + 4                                                     # bitmap + i_{2,3}
        i18 = np.vectorize(ceil_log2)(knz)
        part2 = p2 + i18 + 3 * (knz - 1) + 4 * (knz - 1)
        part1 = cqi_bits + ceil_log2(self.k0)
        if np.ndim(part2) == 0:
            return FeedbackBits(int(part1), int(part2), 0, self.n3)
        return FeedbackBits(np.full(part2.shape, part1), part2.astype(np.int64), 0, self.n3)


def etype2_codebook(n1: int, n2: int, *, param_combination: int, n_subbands: int,
                    pmi_subbands_per_cqi_subband: int = 1, o1: int | None = None,
                    o2: int | None = None) -> EType2Codebook:
    """Enhanced Type-II (Rel-16) codebook, rank 1 (TS 38.214 §5.2.2.2.5).

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

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import etype2_codebook
    >>> cb = etype2_codebook(4, 2, param_combination=1, n_subbands=8)
    >>> cb.n_beams, cb.n_ports
    (2, 16)
    >>> rng = np.random.default_rng(0)
    >>> h = rng.standard_normal((2, 16, 8)) + 1j * rng.standard_normal((2, 16, 8))
    >>> pmi = cb.pmi_search(h)
    >>> pmi.metric.shape, cb.coefficients(pmi).shape
    ((2,), (2, 4, 2))
    """
    o1, o2 = default_oversampling(n2, o1, o2)
    return EType2Codebook(n1, n2, o1, o2, param_combination, n_subbands, pmi_subbands_per_cqi_subband)

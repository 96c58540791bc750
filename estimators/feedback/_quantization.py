r"""Type-II coefficient quantisation and CSI payload sizes (TS 38.214 §5.2.2.2.3, TS 38.212 §6.3.2).

Shared by the Type-II codebooks and SiFo's coefficient feedback: the wideband amplitudes of
Table 5.2.2.2.3-2, the subband amplitudes of Table 5.2.2.2.3-3 with :math:`K^{(2)}` of Table
5.2.2.2.3-4, :math:`N_{PSK}` / QPSK phases, and the bit counts of those fields.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sensing import HostCopy, asarray_like, check_bool, check_choice, check_int, get_xp

from ._codebook_tables import TYPE2_K2, TYPE2_SUBBAND_AMPLITUDES, TYPE2_WIDEBAND_AMPLITUDES
from ._dft_beams import array_namespace

Array = Any

__all__ = [
    "ceil_log2", "default_k2", "FeedbackBits", "QuantizedCoefficients", "quantize_coefficients",
    "coefficient_feedback_bits",
]


def ceil_log2(x: int) -> int:
    return 0 if x <= 1 else int(math.ceil(math.log2(x)))


def default_k2(n_coef: int) -> int:
    """K^(2) for ``n_coef`` coefficients: Table 5.2.2.2.3-4 for 2L with L in {2, 3, 4}, else ceil(3 n_coef / 4)."""
    if n_coef % 2 == 0 and n_coef // 2 in TYPE2_K2:
        return TYPE2_K2[n_coef // 2]
    return int(math.ceil(3 * n_coef / 4))


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
    r"""Quantise combining coefficients the Type-II way (TS 38.214 §5.2.2.2.3, i_{1,3}, i_{1,4}, i_{2,1}, i_{2,2}).

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

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import quantize_coefficients
    >>> c = np.array([1.0, 0.5j, -0.25, 0.1 + 0.1j]).reshape(1, 1, 1, 4)   # (users, layers, subbands, coef)
    >>> q = quantize_coefficients(c, phase_alphabet_size=8)
    >>> q.values.shape, int(q.i13[0, 0])                 # the strongest coefficient is the reference
    ((1, 1, 1, 4), 0)
    >>> np.round(np.abs(q.values[0, 0, 0]), 3)           # quantised amplitudes
    array([1.   , 0.5  , 0.25 , 0.125])
    >>> np.round(np.angle(q.values[0, 0, 0]) / (np.pi / 4), 3)   # phases on the 8-PSK grid
    array([0., 2., 4., 1.])
    """
    x = coefficients
    if not (hasattr(x, "shape") and x.ndim == 4):
        raise ValueError(f"`coefficients` must have shape (n_users, n_layers, n_subbands, n_coef); "
                         f"got {getattr(x, 'shape', type(x).__name__)}.")
    xp = array_namespace(x)
    npsk = check_choice(phase_alphabet_size, "phase_alphabet_size", (4, 8, 16))
    subband_amplitude = check_bool(subband_amplitude, "subband_amplitude")
    n_coef = x.shape[-1]
    k2 = default_k2(n_coef) if k2 is None else k2
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
    per-subband count of TS 38.212 §6.3.2 (Type-II CSI Part 2) for :math:`M_l` =
    ``n_nonzero`` (scalar or array).

    Examples
    --------
    >>> from estimators import coefficient_feedback_bits
    >>> coefficient_feedback_bits(8, n_coef=8, n_subbands=13)   # (wideband, per-subband) bits
    (24, 24)
    """
    npsk = check_choice(phase_alphabet_size, "phase_alphabet_size", (4, 8, 16))
    k2 = default_k2(n_coef) if k2 is None else k2
    m = np.asarray(n_nonzero)
    bpsk = int(math.log2(npsk))
    wb = ceil_log2(n_coef) + 3 * (n_coef - 1)
    if subband_amplitude:
        mk = np.minimum(m, k2)
        sb = (mk - 1) * bpsk + 2 * (m - mk) + (mk - 1)
    else:
        sb = (m - 1) * bpsk
    sb = sb if sb.ndim else int(sb)
    return wb, sb

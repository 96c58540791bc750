r"""Tables of the 3GPP NR CSI codebooks (TS 38.214 §5.2.2.2, TS 38.212 §6.3.1/§6.3.2).

Every value is transcribed from the specification (Release 15/16 text: TS 38.214 Tables
5.2.2.2.1-2, -3 and -5, 5.2.2.2.3-1 to -4 and 5.2.2.2.5-1 to -3) and checked by
``tests/test_codebooks.py``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "SUPPORTED_N1_N2_O1_O2",
    "TYPE2_WIDEBAND_AMPLITUDES",
    "TYPE2_SUBBAND_AMPLITUDES",
    "TYPE2_K2",
    "TYPE2_BEAM_COUNTS",
    "ETYPE2_PARAM_COMBINATIONS",
    "ETYPE2_REFERENCE_AMPLITUDES",
    "ETYPE2_DIFFERENTIAL_AMPLITUDES",
    "type1_rank2_offsets",
    "type1_mode2_offsets",
    "combinatorial_index",
    "combinatorial_decode",
]

# TS 38.214 Table 5.2.2.2.1-2: supported (N1, N2) and (O1, O2) per number of CSI-RS ports.
# (Shared by Type-I single panel and Rel-15 Type-II, §5.2.2.2.3.)
SUPPORTED_N1_N2_O1_O2: dict[int, tuple[tuple[int, int, int, int], ...]] = {
    4: ((2, 1, 4, 1),),
    8: ((2, 2, 4, 4), (4, 1, 4, 1)),
    12: ((3, 2, 4, 4), (6, 1, 4, 1)),
    16: ((4, 2, 4, 4), (8, 1, 4, 1)),
    24: ((4, 3, 4, 4), (6, 2, 4, 4), (12, 1, 4, 1)),
    32: ((4, 4, 4, 4), (8, 2, 4, 4), (16, 1, 4, 1)),
}

# TS 38.214 Table 5.2.2.2.3-2: wideband amplitude p^(1) for k^(1) = 0..7.
TYPE2_WIDEBAND_AMPLITUDES = np.sqrt(np.array([0.0, 1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0]))
TYPE2_WIDEBAND_AMPLITUDES.setflags(write=False)

# TS 38.214 Table 5.2.2.2.3-3: subband amplitude p^(2) for k^(2) = 0, 1.
TYPE2_SUBBAND_AMPLITUDES = np.sqrt(np.array([0.5, 1.0]))
TYPE2_SUBBAND_AMPLITUDES.setflags(write=False)

# TS 38.214 Table 5.2.2.2.3-4: K^(2) (coefficients with N_PSK phase and subband amplitude).
TYPE2_K2: dict[int, int] = {2: 4, 3: 4, 4: 6}

# `numberOfBeams` L allowed by the RRC configuration (4 ports allow only L = 2).
TYPE2_BEAM_COUNTS = (2, 3, 4)

# TS 38.214 Table 5.2.2.2.5-1 (paramCombination-r16): L, p_v for v in {1, 2}, p_v for v in {3, 4}, beta
ETYPE2_PARAM_COMBINATIONS: dict[int, tuple[int, float, float | None, float]] = {
    1: (2, 1 / 4, 1 / 8, 1 / 4), 2: (2, 1 / 4, 1 / 8, 1 / 2), 3: (4, 1 / 4, 1 / 8, 1 / 4),
    4: (4, 1 / 4, 1 / 8, 1 / 2), 5: (4, 1 / 4, 1 / 4, 3 / 4), 6: (4, 1 / 2, 1 / 4, 1 / 2),
    7: (6, 1 / 4, None, 1 / 2), 8: (6, 1 / 2, None, 3 / 4),
}
# TS 38.214 Table 5.2.2.2.5-2: reference amplitude p^(1) = 2^{-(15-k)/4}, k = 1..15 (k = 0 reserved)
ETYPE2_REFERENCE_AMPLITUDES = np.concatenate([[np.nan], 2.0 ** (-(15 - np.arange(1, 16)) / 4)])
ETYPE2_REFERENCE_AMPLITUDES.setflags(write=False)
# TS 38.214 Table 5.2.2.2.5-3: differential amplitude p^(2) = 2^{-(7-k)/2}, k = 0..7
ETYPE2_DIFFERENTIAL_AMPLITUDES = 2.0 ** (-(7 - np.arange(8)) / 2)
ETYPE2_DIFFERENTIAL_AMPLITUDES.setflags(write=False)


def type1_rank2_offsets(n1: int, n2: int, o1: int, o2: int) -> tuple[tuple[int, int], ...]:
    """TS 38.214 Table 5.2.2.2.1-3: (k1, k2) for i_{1,3} = 0, 1, ... (2-layer reporting)."""
    if n1 > n2 > 1:
        return ((0, 0), (o1, 0), (0, o2), (2 * o1, 0))
    if n1 == n2:
        return ((0, 0), (o1, 0), (0, o2), (o1, o2))
    if n1 == 2 and n2 == 1:
        return ((0, 0), (o1, 0))
    if n1 > 2 and n2 == 1:
        return ((0, 0), (o1, 0), (2 * o1, 0), (3 * o1, 0))
    # N2 > N1 does not occur in Table 5.2.2.2.1-2; the generalised codebook mirrors the N1 > N2 rule
    return ((0, 0), (0, o2), (o1, 0), (0, 2 * o2))


def type1_mode2_offsets(n2: int) -> tuple[tuple[int, int], ...]:
    """TS 38.214 Table 5.2.2.2.1-5 (codebookMode 2, rank 1): beam offsets (dl, dm) of the
    four beams of a group; i_2 = 4 * group_index + n picks offset ``group_index`` and co-phase n.
    With N2 > 1: l = 2 i11 + {0, 1}, m = 2 i12 + {0, 1}; with N2 = 1: l = 2 i11 + {0..3}, m = 0."""
    if n2 > 1:
        return ((0, 0), (1, 0), (0, 1), (1, 1))
    return ((0, 0), (1, 0), (2, 0), (3, 0))


def _c(x: int, y: int) -> int:
    return math.comb(x, y) if x >= y >= 0 else 0


def combinatorial_index(n: np.ndarray, n_grid: int) -> np.ndarray:
    r"""TS 38.214 Table 5.2.2.2.3-1 encoder: :math:`i_{1,2}=\sum_i C(N_1N_2-1-n^{(i)}, L-i)`.

    Parameters
    ----------
    n : ndarray of int, shape (..., L)
        Beam indices :math:`n^{(i)} = N_1 n_2^{(i)} + n_1^{(i)}`, strictly increasing along the last axis.
    n_grid : int
        :math:`N_1N_2`.
    """
    n = np.asarray(n, dtype=np.int64)
    n_beams = n.shape[-1]
    table = np.array([[_c(x, y) for y in range(n_beams + 1)] for x in range(n_grid)], dtype=np.int64)
    out = np.zeros(n.shape[:-1], dtype=np.int64)
    for i in range(n_beams):
        out = out + table[n_grid - 1 - n[..., i], n_beams - i]
    return out


def combinatorial_decode(i12: np.ndarray, n_grid: int, n_beams: int) -> np.ndarray:
    """TS 38.214 §5.2.2.2.3 decoder of :func:`combinatorial_index`: returns n^{(i)}, shape (..., L)."""
    i12 = np.asarray(i12, dtype=np.int64)
    out = np.empty(i12.shape + (n_beams,), dtype=np.int64)
    s = np.zeros(i12.shape, dtype=np.int64)
    for i in range(n_beams):
        lo, hi = n_beams - 1 - i, n_grid - 1 - i
        xs = np.arange(lo, hi + 1)
        cvals = np.array([_c(int(x), n_beams - i) for x in xs], dtype=np.int64)
        ok = (i12 - s)[..., None] >= cvals                  # (..., n_x); C increases with x
        xstar_idx = np.sum(ok, axis=-1) - 1                  # largest x with the inequality
        xstar = xs[np.clip(xstar_idx, 0, xs.size - 1)]
        s = s + cvals[np.clip(xstar_idx, 0, xs.size - 1)]
        out[..., i] = n_grid - 1 - xstar
    return out

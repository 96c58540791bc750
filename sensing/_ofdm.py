r"""OFDM numerology and symbol mapping (QAM / PSK with Gray labelling).

Frequency-domain channel model used across the package: resource element (RE)
:math:`(k, t)`, subcarrier :math:`k = 0, \dots, N_K - 1` and OFDM symbol
:math:`t = 0, \dots, N_T - 1`, sits at baseband frequency :math:`f_k` (see
:attr:`Numerology.subcarrier_frequencies_hz`) and time :math:`t\,T_O` with
:math:`T_O = 1/\Delta f + T_{CP}` the symbol duration including the cyclic prefix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._backend import to_numpy
from ._validation import check_bool, check_choice, check_float, check_int, check_rng

__all__ = [
    "SPEED_OF_LIGHT",
    "Numerology",
    "constellation",
    "random_symbols",
    "bits_to_symbols",
    "symbols_to_bits",
    "hard_decision",
]

SPEED_OF_LIGHT = 299_792_458.0
"""Speed of light in vacuum [m/s] (exact, SI)."""


@dataclass(frozen=True)
class Numerology:
    """OFDM numerology of a sensing/communication frame.

    Parameters
    ----------
    carrier_hz : float
        Carrier frequency :math:`f_c` [Hz].
    subcarrier_spacing_hz : float
        Subcarrier spacing :math:`\\Delta f` [Hz].
    n_subcarriers : int
        Number of used subcarriers :math:`N_K`.
    n_symbols : int
        Number of OFDM symbols :math:`N_T`.
    cp_fraction : float, default=1/14
        Cyclic-prefix length as a fraction of the useful symbol :math:`1/\\Delta f`
        (1/14 is NR's average normal CP: :math:`T_O = (1 + 1/14)/\\Delta f`, so 14 symbols fill
        a slot of :math:`15/\\Delta f`, e.g. 0.25 ms at 60 kHz).
    fft_size : int, optional
        IFFT size :math:`N_\\mathrm{FFT} \\ge N_K` (sampling rate :math:`N_\\mathrm{FFT}\\Delta f`);
        default: :math:`N_K`.
    centered : bool, default=False
        If False, subcarrier :math:`k` sits at :math:`f_k = k\\Delta f` (the first used subcarrier
        is the frequency reference, as in PLAIN); if True at :math:`(k - \\lfloor N_K/2\\rfloor)\\Delta f`.

    Examples
    --------
    >>> from sensing import Numerology
    >>> num = Numerology(28e9, 120e3, 64, 32)            # carrier, spacing, subcarriers, symbols
    >>> round(num.wavelength_m * 1e3, 3), num.subcarrier_frequencies_hz.shape
    (10.707, (64,))
    """

    carrier_hz: float
    subcarrier_spacing_hz: float
    n_subcarriers: int
    n_symbols: int
    cp_fraction: float = 1.0 / 14.0
    fft_size: int | None = None
    centered: bool = False

    def __post_init__(self):
        check_float(self.carrier_hz, "carrier_hz", low=0.0, low_inclusive=False)
        check_float(self.subcarrier_spacing_hz, "subcarrier_spacing_hz", low=0.0, low_inclusive=False)
        check_int(self.n_subcarriers, "n_subcarriers", low=1)
        check_int(self.n_symbols, "n_symbols", low=1)
        check_float(self.cp_fraction, "cp_fraction", low=0.0, high=1.0)
        if self.fft_size is not None:
            check_int(self.fft_size, "fft_size", low=self.n_subcarriers,
                      why="the IFFT must hold every used subcarrier")
        check_bool(self.centered, "centered")
        if self.bandwidth_hz >= self.carrier_hz:
            raise ValueError(
                f"`carrier_hz` must exceed the occupied bandwidth {self.bandwidth_hz:g} Hz "
                f"(narrowband model); got {self.carrier_hz:g}."
            )

    # -- derived quantities (SI units) ------------------------------------------------------
    @property
    def wavelength_m(self) -> float:
        """Carrier wavelength :math:`\\lambda = c/f_c` [m]."""
        return SPEED_OF_LIGHT / self.carrier_hz

    @property
    def n_fft(self) -> int:
        return self.n_subcarriers if self.fft_size is None else int(self.fft_size)

    @property
    def sample_rate_hz(self) -> float:
        return self.n_fft * self.subcarrier_spacing_hz

    @property
    def useful_duration_s(self) -> float:
        """:math:`1/\\Delta f` [s]."""
        return 1.0 / self.subcarrier_spacing_hz

    @property
    def cp_duration_s(self) -> float:
        return self.cp_fraction / self.subcarrier_spacing_hz

    @property
    def symbol_duration_s(self) -> float:
        """:math:`T_O = 1/\\Delta f + T_{CP}` [s]."""
        return self.useful_duration_s + self.cp_duration_s

    @property
    def bandwidth_hz(self) -> float:
        """Occupied bandwidth :math:`B = N_K\\Delta f` [Hz]."""
        return self.n_subcarriers * self.subcarrier_spacing_hz

    @property
    def subcarrier_frequencies_hz(self) -> np.ndarray:
        """Baseband frequencies :math:`f_k` [Hz], shape (n_subcarriers,)."""
        k = np.arange(self.n_subcarriers, dtype=np.float64)
        if self.centered:
            k = k - self.n_subcarriers // 2
        return k * self.subcarrier_spacing_hz

    @property
    def symbol_times_s(self) -> np.ndarray:
        """Start times :math:`t\\,T_O` [s], shape (n_symbols,)."""
        return np.arange(self.n_symbols, dtype=np.float64) * self.symbol_duration_s

    @property
    def observation_time_s(self) -> float:
        return self.n_symbols * self.symbol_duration_s

    # -- sensing limits ---------------------------------------------------------------------
    @property
    def delay_resolution_s(self) -> float:
        """Rayleigh delay resolution :math:`1/B` [s]."""
        return 1.0 / self.bandwidth_hz

    @property
    def max_delay_s(self) -> float:
        """Unambiguous delay :math:`1/\\Delta f` [s]."""
        return 1.0 / self.subcarrier_spacing_hz

    @property
    def doppler_resolution_hz(self) -> float:
        """Rayleigh Doppler resolution :math:`1/(N_T T_O)` [Hz]."""
        return 1.0 / self.observation_time_s

    @property
    def max_doppler_hz(self) -> float:
        """Unambiguous Doppler: :math:`|f_D| < 1/(2T_O)` [Hz]."""
        return 0.5 / self.symbol_duration_s


# ---------------------------------------------------------------------------------------------
# constellations
# ---------------------------------------------------------------------------------------------

def _gray(n: int) -> np.ndarray:
    i = np.arange(n)
    return i ^ (i >> 1)


def constellation(kind: str, order: int) -> np.ndarray:
    """Unit-average-energy constellation indexed by its Gray-coded bit label.

    Parameters
    ----------
    kind : {"qam", "psk"}
    order : int
        Number of points: a power of 2; for QAM an even power of 2 (4, 16, 64, 256, 1024);
        ``("psk", 2)`` is BPSK.

    Returns
    -------
    ndarray, shape (order,), complex128
        ``points[label]`` is the symbol carrying the bits of ``label`` (MSB first); neighbouring
        points differ in one bit.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import constellation
    >>> np.round(constellation("psk", 4), 3)               # QPSK, indexed by the Gray label
    array([ 0.707+0.707j, -0.707+0.707j,  0.707-0.707j, -0.707-0.707j])
    >>> pts = constellation("qam", 16)
    >>> pts.shape, round(float(np.mean(np.abs(pts) ** 2)), 6)   # unit average energy
    ((16,), 1.0)
    """
    check_choice(kind, "kind", ("qam", "psk"))
    order = check_int(order, "order", low=2, high=4096)
    m = int(round(math.log2(order)))
    if 2**m != order:
        raise ValueError(f"`order` must be a power of 2; got {order}.")
    if kind == "psk":
        pts = np.empty(order, dtype=np.complex128)
        phase = 2 * np.pi * np.arange(order) / order + (np.pi / 4 if order == 4 else 0.0)
        pts[_gray(order)] = np.exp(1j * phase)
        return pts
    if m % 2:
        raise ValueError(f"`order` for QAM must be an even power of 2 (4, 16, 64, ...); got {order}.")
    side = 2 ** (m // 2)
    levels = 2 * np.arange(side) - (side - 1)  # PAM levels, ascending
    g = _gray(side)  # gray label of level index i
    pam = np.empty(side)
    pam[g] = levels
    lab = np.arange(order)
    hi, lo = lab >> (m // 2), lab & (side - 1)
    pts = pam[hi] + 1j * pam[lo]
    return pts / np.sqrt(np.mean(np.abs(pts) ** 2))


def bits_to_symbols(bits: np.ndarray, kind: str, order: int) -> np.ndarray:
    """Map bits (last axis a multiple of log2(order), MSB first) to symbols.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import bits_to_symbols, constellation
    >>> s = bits_to_symbols(np.array([[0, 0, 1, 1], [0, 1, 1, 0]]), "psk", 4)   # 2 bits per symbol
    >>> s.shape, bool(np.allclose(s[0], constellation("psk", 4)[[0, 3]]))
    ((2, 2), True)
    """
    pts = constellation(kind, order)
    m = int(round(math.log2(order)))
    b = np.asarray(bits)
    if b.ndim == 0:
        raise ValueError("`bits` must have at least one axis (bits along the last axis); got a scalar.")
    if b.dtype.kind not in "biu" or (b.size and (b.min() < 0 or b.max() > 1)):
        raise ValueError("`bits` must contain only 0 and 1.")
    if b.shape[-1] % m:
        raise ValueError(f"`bits` last axis must be a multiple of {m} (bits per symbol); got {b.shape[-1]}.")
    b = b.reshape(b.shape[:-1] + (b.shape[-1] // m, m)).astype(np.int64)
    labels = b @ (1 << np.arange(m - 1, -1, -1))
    return pts[labels]


def hard_decision(symbols, kind: str, order: int) -> np.ndarray:
    """Nearest-point labels (integers) of received symbols (host arrays).

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import constellation, hard_decision
    >>> pts = constellation("qam", 16)
    >>> hard_decision(pts[[3, 7, 12]] + 0.05, "qam", 16)    # a small offset still decides right
    array([ 3,  7, 12])
    """
    pts = constellation(kind, order)
    s = np.asarray(to_numpy(symbols))
    if s.dtype.kind not in "fc":
        raise TypeError(f"`symbols` must be a real or complex float array; got dtype {s.dtype}.")
    if not np.all(np.isfinite(s)):
        raise ValueError("`symbols` must be finite; got NaN/inf (a failed equaliser?). Remove them before deciding.")
    return np.argmin(np.abs(s[..., None] - pts), axis=-1)


def symbols_to_bits(labels: np.ndarray, order: int) -> np.ndarray:
    """Bit labels (MSB first) of integer constellation labels; last axis grows by log2(order).

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import symbols_to_bits
    >>> symbols_to_bits(np.array([0, 3, 5]), 8)             # 3 bits per label, MSB first
    array([0, 0, 0, 0, 1, 1, 1, 0, 1])
    """
    order = check_int(order, "order", low=2, high=4096)
    m = int(round(math.log2(order)))
    if 2**m != order:
        raise ValueError(f"`order` must be a power of 2; got {order}.")
    lab = np.asarray(labels)
    if lab.dtype.kind not in "iu":
        raise TypeError(f"`labels` must be integers; got dtype {lab.dtype}.")
    if lab.size and (lab.min() < 0 or lab.max() >= order):
        raise ValueError(f"`labels` must be in [0, {order - 1}]; got values in [{lab.min()}, {lab.max()}].")
    lab = lab.astype(np.int64)
    bits = (lab[..., None] >> np.arange(m - 1, -1, -1)) & 1
    return bits.reshape(lab.shape[:-1] + (lab.shape[-1] * m,)) if lab.ndim else bits


def random_symbols(kind: str, order: int, shape: tuple[int, ...], *, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """Uniform random constellation symbols (drawn on the host).

    Returns
    -------
    labels : ndarray of int64, shape ``shape``
    symbols : ndarray of complex128, shape ``shape`` (unit average energy)

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import bits_to_symbols, random_symbols, symbols_to_bits
    >>> labels, x = random_symbols("qam", 16, (4, 8), rng=0)
    >>> labels.shape, x.shape, x.dtype
    ((4, 8), (4, 8), dtype('complex128'))
    >>> bool(np.allclose(bits_to_symbols(symbols_to_bits(labels, 16), "qam", 16), x))   # bits round trip
    True
    """
    rng = check_rng(rng)
    pts = constellation(kind, order)
    shape = tuple(check_int(s, "shape", low=1) for s in shape)
    labels = rng.integers(0, order, size=shape)
    return labels, pts[labels]

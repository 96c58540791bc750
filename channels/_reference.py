"""Plain-NumPy twins of the numba kernels (readable, used by tests and as the benchmark baseline).

The twin evaluates the full phase of every (link, path, antenna, subcarrier, symbol) entry —
the textbook form of the sum — with no separability tricks.
"""

from __future__ import annotations

import numpy as np


def cfr_reference(gains, rx_phase, delays_s, doppler_hz, freqs_hz, times_s, tx_phase=None):
    """H[b, r, k, t(, s)] = sum_p g e^{j(phi_r - 2pi f_k tau + 2pi fD t (- psi_s))} by brute force."""
    g = gains[:, None, None, None, :]                       # (B, 1, 1, 1, P)
    ph = (rx_phase.transpose(0, 1, 2)[:, :, None, None, :]  # (B, R, 1, 1, P)
          - 2 * np.pi * freqs_hz[None, None, :, None, None] * delays_s[:, None, None, None, :]
          + 2 * np.pi * times_s[None, None, None, :, None] * doppler_hz[:, None, None, None, :])
    if tx_phase is None:
        return np.sum(g * np.exp(1j * ph), axis=-1)
    ph = ph[:, :, :, :, None, :] - tx_phase[:, None, None, None, :, :]
    return np.sum(g[..., None, :] * np.exp(1j * ph), axis=-1)

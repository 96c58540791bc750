"""numba kernels for channel synthesis (no validation; preallocated outputs).

Each kernel has a readable NumPy twin in :mod:`channels._reference` that the tests compare it
with (hypothesis, derandomised). The kernels exploit separability: per path, one complex
exponential per antenna, subcarrier and symbol (R + K + T exps instead of R*K*T), then a fused
multiply-accumulate over the resource grid, parallel over (link, rx antenna).
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(parallel=True, cache=True, fastmath=False)
def cfr_kernel(gains, rx_phase, delays_s, doppler_hz, freqs_hz, times_s, out):  # pragma: no cover - jitted
    """out[b, r, k, t] = sum_p gains[b, p] e^{j rx_phase[b, r, p]} e^{-j2pi f_k tau_bp} e^{j2pi fD_bp t_t}.

    gains (B, P) complex128; rx_phase (B, R, P) float64 [rad]; delays_s, doppler_hz (B, P);
    freqs_hz (K,); times_s (T,); out (B, R, K, T) complex128, overwritten.
    """
    n_b, n_r, n_k, n_t = out.shape
    n_p = gains.shape[1]
    two_pi = 2.0 * np.pi
    for idx in nb.prange(n_b * n_r):
        b = idx // n_r
        r = idx % n_r
        dk = np.empty(n_k, dtype=np.complex128)
        vt = np.empty(n_t, dtype=np.complex128)
        acc = np.zeros((n_k, n_t), dtype=np.complex128)
        for p in range(n_p):
            g = gains[b, p]
            if g == 0:
                continue
            c = g * np.exp(1j * rx_phase[b, r, p])
            tau = delays_s[b, p]
            fd = doppler_hz[b, p]
            for k in range(n_k):
                dk[k] = c * np.exp(-1j * two_pi * freqs_hz[k] * tau)
            for t in range(n_t):
                vt[t] = np.exp(1j * two_pi * fd * times_s[t])
            for k in range(n_k):
                dkk = dk[k]
                for t in range(n_t):
                    acc[k, t] += dkk * vt[t]
        for k in range(n_k):
            for t in range(n_t):
                out[b, r, k, t] = acc[k, t]
    return out


@nb.njit(parallel=True, cache=True)
def cfr_kernel_mimo(gains, rx_phase, tx_phase, delays_s, doppler_hz, freqs_hz, times_s, out):  # pragma: no cover
    """As :func:`cfr_kernel` with a transmit array: out[b, r, k, t, s] (tx phase conjugated)."""
    n_b, n_r, n_k, n_t, n_s = out.shape
    n_p = gains.shape[1]
    two_pi = 2.0 * np.pi
    for idx in nb.prange(n_b * n_r):
        b = idx // n_r
        r = idx % n_r
        dk = np.empty(n_k, dtype=np.complex128)
        vt = np.empty(n_t, dtype=np.complex128)
        ts = np.empty(n_s, dtype=np.complex128)
        acc = np.zeros((n_k, n_t, n_s), dtype=np.complex128)
        for p in range(n_p):
            g = gains[b, p]
            if g == 0:
                continue
            c = g * np.exp(1j * rx_phase[b, r, p])
            tau = delays_s[b, p]
            fd = doppler_hz[b, p]
            for k in range(n_k):
                dk[k] = c * np.exp(-1j * two_pi * freqs_hz[k] * tau)
            for t in range(n_t):
                vt[t] = np.exp(1j * two_pi * fd * times_s[t])
            for s in range(n_s):
                ts[s] = np.exp(-1j * tx_phase[b, s, p])
            for k in range(n_k):
                for t in range(n_t):
                    dv = dk[k] * vt[t]
                    for s in range(n_s):
                        acc[k, t, s] += dv * ts[s]
        out[b, r] = acc
    return out

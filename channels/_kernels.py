"""numba kernels for channel synthesis (no validation; preallocated outputs).

Each kernel has a readable NumPy twin in :mod:`channels._reference` that the tests compare it
with (hypothesis, derandomised). The kernels exploit separability: per link and path the delay–Doppler
factor over the resource grid is computed once (K + T exponentials, shared by every antenna) and
per antenna one more exponential, instead of R*K*T; then a contiguous complex multiply-accumulate
over the grid, parallel over (link, rx antenna). The wrapper chunks links to bound the memory
of the shared factors.
"""

from __future__ import annotations

import sensing._numba_cache  # noqa: F401  (numba's cache folder: set before any @njit below)

import numba as nb
import numpy as np


@nb.njit(parallel=True, cache=True)
def grid_factors(delays_s, doppler_hz, freqs_hz, times_s):  # pragma: no cover - jitted
    """w[b, p, k*T + t] = e^{-j2pi f_k tau_bp} e^{j2pi fD_bp t_t}: computed once per link and path,
    shared by every antenna (K + T exponentials instead of K*T per path)."""
    n_b, n_p = delays_s.shape
    n_k, n_t = freqs_hz.shape[0], times_s.shape[0]
    w = np.empty((n_b, n_p, n_k * n_t), dtype=np.complex128)
    two_pi = 2.0 * np.pi
    for b in nb.prange(n_b):
        vt = np.empty(n_t, dtype=np.complex128)
        for p in range(n_p):
            tau = delays_s[b, p]
            fd = doppler_hz[b, p]
            for t in range(n_t):
                ph = two_pi * fd * times_s[t]
                vt[t] = complex(np.cos(ph), np.sin(ph))
            for k in range(n_k):
                ph = -two_pi * freqs_hz[k] * tau
                dk = complex(np.cos(ph), np.sin(ph))
                for t in range(n_t):
                    w[b, p, k * n_t + t] = dk * vt[t]
    return w


@nb.njit(parallel=True, cache=True)
def cfr_kernel(gains, rx_phase, delays_s, doppler_hz, freqs_hz, times_s, out):  # pragma: no cover - jitted
    """out[b, r, k, t] = sum_p gains[b, p] e^{j rx_phase[b, r, p]} e^{-j2pi f_k tau_bp} e^{j2pi fD_bp t_t}.

    gains (B, P) complex128; rx_phase (B, R, P) float64 [rad]; delays_s, doppler_hz (B, P);
    freqs_hz (K,); times_s (T,); out (B, R, K, T) complex128 C-contiguous, overwritten.
    """
    n_b, n_r, n_k, n_t = out.shape
    n_p = gains.shape[1]
    n_j = n_k * n_t
    w = grid_factors(delays_s, doppler_hz, freqs_hz, times_s)
    flat = out.reshape((n_b, n_r, n_j))
    for idx in nb.prange(n_b * n_r):
        b = idx // n_r
        r = idx % n_r
        o = flat[b, r]
        for j in range(n_j):
            o[j] = 0.0
        for p in range(n_p):
            g = gains[b, p]
            if g == 0:
                continue
            ph = rx_phase[b, r, p]
            c = g * complex(np.cos(ph), np.sin(ph))
            wp = w[b, p]
            for j in range(n_j):   # contiguous complex multiply-accumulate over the grid
                o[j] += c * wp[j]
    return out


@nb.njit(parallel=True, cache=True)
def cfr_kernel_mimo(gains, rx_phase, tx_phase, delays_s, doppler_hz, freqs_hz, times_s, out):  # pragma: no cover
    """As :func:`cfr_kernel` with a transmit array: out[b, r, k, t, s] (tx phase conjugated)."""
    n_b, n_r, n_k, n_t, n_s = out.shape
    n_p = gains.shape[1]
    n_j = n_k * n_t
    w = grid_factors(delays_s, doppler_hz, freqs_hz, times_s)
    flat = out.reshape((n_b, n_r, n_j, n_s))
    for idx in nb.prange(n_b * n_r):
        b = idx // n_r
        r = idx % n_r
        o = flat[b, r]
        ts = np.empty(n_s, dtype=np.complex128)
        for j in range(n_j):
            for s in range(n_s):
                o[j, s] = 0.0
        for p in range(n_p):
            g = gains[b, p]
            if g == 0:
                continue
            ph = rx_phase[b, r, p]
            c = g * complex(np.cos(ph), np.sin(ph))
            for s in range(n_s):
                ts[s] = c * complex(np.cos(tx_phase[b, s, p]), -np.sin(tx_phase[b, s, p]))
            wp = w[b, p]
            for j in range(n_j):
                wj = wp[j]
                for s in range(n_s):
                    o[j, s] += wj * ts[s]
    return out

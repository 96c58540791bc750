"""Plain-NumPy twins of the numba kernels in ``_kernels`` (used by the tests only).

Each twin computes the same quantity in the most readable vectorised way (materialising the
steering matrix, or calling ``numpy.roots``); the hypothesis tests compare kernel and twin.
"""

from __future__ import annotations

import numpy as np

__all__ = ["trig_poly_reference", "array_power_reference", "roots_reference",
           "music_spectrum_reference"]


def trig_poly_reference(c, mu):
    """q(mu) = c_0 + 2 Re sum_{l>=1} c_l exp(j l mu); c: (B, M), mu: (G,) -> (B, G)."""
    c = np.asarray(c)
    m = c.shape[-1]
    e = np.exp(1j * np.outer(np.arange(1, m), mu))          # (M-1, G)
    return c[:, :1].real + 2.0 * (c[:, 1:] @ e).real


def array_power_reference(u, pos, dirs):
    """sum_k |a_g^H u[b, :, k]|^2 with a_g = exp(j pos @ dirs_g); u: (B, M, r) -> (B, G)."""
    a = np.exp(1j * (pos @ dirs.T))                           # (M, G)
    g = a.conj().T[None] @ u                                  # (B, G, r)
    return np.sum(np.abs(g) ** 2, axis=-1)


def roots_reference(coefs):
    """All roots of each polynomial (highest power first) by numpy.roots; (B, n+1) -> (B, n)."""
    coefs = np.asarray(coefs)
    return np.stack([np.roots(c) for c in coefs])


def music_spectrum_reference(covariance, steering, n_sources):
    """Textbook MUSIC: 1 / ||E_n^H a||^2 from a full eigendecomposition (noise-subspace form).

    covariance: (..., M, M); steering: (M, G) -> (..., G).
    """
    _, vecs = np.linalg.eigh(covariance)
    en = vecs[..., : covariance.shape[-1] - n_sources]
    proj = np.swapaxes(en.conj(), -1, -2) @ steering
    return 1.0 / np.sum(np.abs(proj) ** 2, axis=-2)


def upa_power_reference(u, nr, nc, kdr, kdc, az, el):
    """sum_k |a(az, el)^H u_k|^2 for a yz-plane UPA (m = row*nc + col), materialised; -> (B, G_az, G_el)."""
    rows, cols = np.divmod(np.arange(nr * nc), nc)
    aa, ee = np.meshgrid(az, el, indexing="ij")
    ph = kdr * rows[:, None] * np.sin(ee.ravel())[None, :] + kdc * cols[:, None] * (np.cos(ee) * np.sin(aa)).ravel()[None, :]
    a = np.exp(1j * ph)                                        # (M, G_az * G_el)
    g = a.conj().T[None] @ u
    return np.sum(np.abs(g) ** 2, axis=-1).reshape((u.shape[0],) + aa.shape)

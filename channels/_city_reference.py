"""Plain-NumPy twins of the city-model numba kernels (readable; used by the tests)."""

from __future__ import annotations

import numpy as np


def segments_blocked_reference(p0, p1, boxes, skip):
    """Vectorised slab test over (segment, building); see :func:`channels._city_kernels.segments_blocked_kernel`."""
    eps = 1e-9
    d = p1 - p0                                                        # (N, 3)
    out = np.zeros(p0.shape[0], dtype=bool)
    if boxes.shape[0] == 0 or p0.shape[0] == 0:
        return out
    t0 = np.full((p0.shape[0], boxes.shape[0]), eps)
    t1 = np.full_like(t0, 1.0 - eps)
    ok = np.ones_like(t0, dtype=bool)
    for axis, (lo, hi) in enumerate(((0, 1), (2, 3))):
        o = p0[:, axis][:, None]
        dd = d[:, axis][:, None]
        flat = np.abs(dd) < 1e-12
        with np.errstate(divide="ignore", invalid="ignore"):
            ta = (boxes[None, :, lo] - o) / dd
            tb = (boxes[None, :, hi] - o) / dd
        tmin, tmax = np.minimum(ta, tb), np.maximum(ta, tb)
        inside = (o > boxes[None, :, lo]) & (o < boxes[None, :, hi])
        ok &= np.where(flat, inside, True)
        t0 = np.where(flat, t0, np.maximum(t0, tmin))
        t1 = np.where(flat, t1, np.minimum(t1, tmax))
    z0 = p0[:, 2][:, None]
    dz = d[:, 2][:, None]
    zmin = np.minimum(z0 + t0 * dz, z0 + t1 * dz)
    hit = ok & (t0 < t1) & (zmin < boxes[None, :, 4])
    hit[np.arange(p0.shape[0]), np.where(skip >= 0, skip, 0)] &= skip < 0
    return hit.any(axis=1)

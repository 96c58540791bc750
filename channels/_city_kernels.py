"""numba kernels of the geometric city model (no validation; NumPy input only).

The readable twin of every kernel lives in :mod:`channels._city_reference`; the tests compare them
(hypothesis, derandomised).
"""

from __future__ import annotations

import sensing._numba_cache  # noqa: F401  (numba's cache folder: set before any @njit below)

import numba as nb


@nb.njit(cache=True)
def _slab(o, d, lo, hi, t0, t1):  # pragma: no cover - jitted
    """Clip the parameter interval [t0, t1] of o + t d to the slab lo < . < hi (one axis).

    Returns (inside, t0, t1); ``inside`` is False for a segment parallel to the slab and outside it.
    """
    if abs(d) < 1e-12:
        return lo < o < hi, t0, t1
    ta = (lo - o) / d
    tb = (hi - o) / d
    if ta > tb:
        ta, tb = tb, ta
    return True, max(t0, ta), min(t1, tb)


@nb.njit(parallel=True, cache=True)
def segments_blocked_kernel(p0, p1, boxes, skip, out):  # pragma: no cover - jitted
    """out[i] = True when segment p0[i] -> p1[i] passes through a building of ``boxes``.

    p0, p1 (N, 3) float64 [m]; boxes (B, 5) rows ``(x_min, x_max, y_min, y_max, height)``;
    skip (N,) int64: a building index to ignore (the reflecting one) or -1; out (N,) bool.

    A segment is blocked by box b when its 2-D trace crosses the footprint on a parameter
    interval [t0, t1] (strictly inside (0, 1) up to 1e-9) and the segment height at either end
    of that interval is below the roof (heights vary linearly, so the minimum is at an end).
    """
    n = p0.shape[0]
    n_b = boxes.shape[0]
    eps = 1e-9
    for i in nb.prange(n):
        x0, y0, z0 = p0[i, 0], p0[i, 1], p0[i, 2]
        dx, dy, dz = p1[i, 0] - x0, p1[i, 1] - y0, p1[i, 2] - z0
        hit = False
        for b in range(n_b):
            if b == skip[i]:
                continue
            t0 = eps
            t1 = 1.0 - eps
            ok, t0, t1 = _slab(x0, dx, boxes[b, 0], boxes[b, 1], t0, t1)
            if ok:
                ok, t0, t1 = _slab(y0, dy, boxes[b, 2], boxes[b, 3], t0, t1)
            if ok and t0 < t1:
                zmin = min(z0 + t0 * dz, z0 + t1 * dz)
                if zmin < boxes[b, 4]:
                    hit = True
                    break
        out[i] = hit
    return out

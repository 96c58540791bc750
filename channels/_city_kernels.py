"""numba kernels of the geometric city model (no validation; NumPy input only).

The readable twin of every kernel lives in :mod:`channels._city_reference`; the tests compare them
(hypothesis, derandomised).
"""

from __future__ import annotations

import numba as nb


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
            ok = True
            # slab x
            if abs(dx) < 1e-12:
                if x0 <= boxes[b, 0] or x0 >= boxes[b, 1]:
                    ok = False
            else:
                ta = (boxes[b, 0] - x0) / dx
                tb = (boxes[b, 1] - x0) / dx
                if ta > tb:
                    ta, tb = tb, ta
                if ta > t0:
                    t0 = ta
                if tb < t1:
                    t1 = tb
            if ok:
                if abs(dy) < 1e-12:
                    if y0 <= boxes[b, 2] or y0 >= boxes[b, 3]:
                        ok = False
                else:
                    ta = (boxes[b, 2] - y0) / dy
                    tb = (boxes[b, 3] - y0) / dy
                    if ta > tb:
                        ta, tb = tb, ta
                    if ta > t0:
                        t0 = ta
                    if tb < t1:
                        t1 = tb
            if ok and t0 < t1:
                zmin = min(z0 + t0 * dz, z0 + t1 * dz)
                if zmin < boxes[b, 4]:
                    hit = True
                    break
        out[i] = hit
    return out

r"""The coarse stage of EM-Turbo-BiSVBI (MUSIC-SCVBI): pilot least squares, directions, location grid.

Liu, Xu, Xu, Caire, arXiv:2502.00811, Sec. V: pilot-only least-squares channel estimates per user
and subcarrier, 2-D MUSIC on the BS array with the subcarriers and users as snapshots, and a
reduced location grid on and around the detected rays; plus the clock-offset start from the
direct paths. The pilot-only SC-VBI pass on that grid is run by :func:`em_turbo_bisvbi`.
"""

from __future__ import annotations

import math

import numpy as np

from sensing import SPEED_OF_LIGHT, asarray_like, to_numpy

from ..subspace import mdl, music_2d
from ._variational import take

__all__ = ["pilot_least_squares", "coarse_time_offsets", "music_directions", "ray_grid", "clear_grid"]


def pilot_least_squares(y, pil, pm, xp, *, return_index=False):
    """Ridge LS per subcarrier from the pilot REs: (K, M, N_p) channel estimates."""
    k = int(pil.shape[0])
    out, idx = [], []
    for n in range(pm.shape[0]):
        tt = np.flatnonzero(pm[n])
        if tt.size == 0:
            continue
        idx.append(n)
        yn = take(xp, y[:, n, :], tt, axis=1)                                # (M, Tp)
        sn = take(xp, pil[:, n, :], tt, axis=1)                              # (K, Tp)
        gram = sn @ xp.conj(sn.T)
        eps = 1e-2 * float(xp.real(xp.sum(xp.linalg.diagonal(gram)))) / k + 1e-12
        h = yn @ xp.conj(sn.T) @ xp.linalg.inv(gram + eps * xp.eye(k, dtype=gram.dtype))   # (M, K)
        out.append(h.T)
    h = xp.stack(out, axis=2)
    return (h, np.asarray(idx)) if return_index else h


def coarse_time_offsets(y, pil, pm, freqs, users, pb, bs_array, lam, max_offset_s, xp):
    """Clock offsets from the direct paths: delay peak of the pilot LS channel beamformed towards
    each nominal user position, minus the nominal LoS delay (error ~ the user-position error / c)."""
    h, idx = pilot_least_squares(y, pil, pm, xp, return_index=True)                     # (K, M, Np)
    f = freqs[idx]
    bw = float(f.max() - f.min()) + (float(np.min(np.diff(f))) if f.size > 1 else 1.0)
    taus = np.arange(-max_offset_s, max_offset_s + 1e-15, 1.0 / (16 * bw))
    out = np.zeros(users.shape[0])
    for k in range(users.shape[0]):
        v = users[k] - pb
        r0 = float(np.linalg.norm(v))
        a = np.exp(1j * 2 * np.pi / lam * (bs_array.positions_m @ (v / r0)))
        g = to_numpy(xp.conj(asarray_like(a, xp)) @ h[k]) / bs_array.n_elements      # (Np,)
        tau = r0 / SPEED_OF_LIGHT + taus
        spec = np.abs(np.exp(2j * np.pi * np.outer(tau, f)) @ g) ** 2
        # the direct path arrives first: take the earliest local maximum within 6 dB of the
        # strongest one (a scattered path seen in the same beam may be stronger)
        peaks = np.flatnonzero((spec[1:-1] >= spec[:-2]) & (spec[1:-1] >= spec[2:])) + 1
        peaks = peaks[spec[peaks] >= 0.25 * spec.max()]
        out[k] = taus[int(peaks[0]) if peaks.size else int(np.argmax(spec))]
    return out


def music_directions(y, pil, pm, bs_array, lam, n_directions, max_directions, xp):
    """MUSIC-SCVBI steps 1-2: directions (azimuth, elevation) [rad] from the pilot LS estimates.

    :func:`estimators.music_2d` does the 2-D search; the model order comes from MDL on the
    covariance eigenvalues when not given.
    """
    h = pilot_least_squares(y, pil, pm, xp)                                             # (K, M, Np)
    k, m, npil = (int(v) for v in h.shape)
    snaps = xp.reshape(xp.permute_dims(h, (1, 0, 2)), (m, k * npil))
    cov = snaps @ xp.conj(snaps.T) / (k * npil)
    if n_directions is None:
        vals = xp.linalg.eigvalsh(cov)
        nd = int(to_numpy(mdl(eigenvalues=vals, n_snapshots=k * npil).n_sources))
        nd = max(1, min(nd, max_directions, m - 1))
    else:
        nd = min(int(n_directions), m - 1)
    est = music_2d(cov, covariance=True, n_sources=nd, geometry=bs_array, wavelength_m=lam,
                   forward_backward=bs_array.kind == "upa", return_spectrum=False)
    return np.asarray(to_numpy(est.estimates), dtype=float).reshape(-1, 2)


def ray_grid(directions, bs_array, bs_pos, region, spacing, range_spacing, users):
    """MUSIC-SCVBI step 3: grid points on and around the rays p_B + r u_i inside the region."""
    box = np.asarray(region, float)
    lo, hi = box[0] - spacing, box[1] + spacing
    corners = np.array([[x, y, z] for x in box[:, 0] for y in box[:, 1] for z in box[:, 2]])
    dist = np.linalg.norm(corners - bs_pos, axis=1)
    r_min = max(1.0, 0.0 if np.all((bs_pos >= box[0]) & (bs_pos <= box[1])) else
                float(np.linalg.norm(np.clip(bs_pos, box[0], box[1]) - bs_pos)))
    ranges = np.arange(r_min, dist.max() + range_spacing, range_spacing)
    if bs_array.kind == "upa":
        nr, nc = bs_array.shape
    else:
        nr = nc = max(2, int(round(math.sqrt(bs_array.n_elements))))
    haz, hel = 1.0 / max(nc, 1), 1.0 / max(nr, 1)
    pts = []
    for az, el in directions:
        for daz, de in ((0, 0), (haz, 0), (-haz, 0), (0, hel), (0, -hel)):
            a, e = az + daz / max(math.cos(el), 0.2), el + de
            u = np.array([math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)])
            p = bs_pos + ranges[:, None] * u
            pts.append(p[np.all((p >= lo) & (p <= hi), axis=1)])
    g = np.concatenate(pts, axis=0) if pts else np.zeros((0, 3))
    return clear_grid(g, users, bs_pos)


def clear_grid(grid, users, bs_pos, min_dist=1.0):
    """Drop grid points within ``min_dist`` of a user or the BS (undefined or LoS-degenerate)."""
    if grid.size == 0:
        return grid
    d = np.linalg.norm(grid[:, None, :] - np.vstack([users, bs_pos[None]])[None], axis=-1)
    return grid[d.min(axis=1) > min_dist]

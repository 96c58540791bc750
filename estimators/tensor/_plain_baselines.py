r"""Baselines for PLAIN: sequential and joint 3-D estimation on the OFDM tensor.

The "practical sequential and joint estimation baselines" that Tahir, Svoboda, Rupp
(arXiv:2503.21242) compare PLAIN with, in the taxonomy of the MIMO-OFDM ISAC tutorial
arXiv:2504.19091 (their exact definitions are not part of PLAIN's reference code).

Both take the same input as :func:`estimators.plain` (a channel tensor, the receive ULA and the
numerology) and the same stage-1 compression options, so the comparison isolates the estimation
architecture:

* :func:`sequential_estimator` — angle first, then delay per beam, then Doppler per
  (angle, delay) pair; pairing is implicit and errors propagate from stage to stage;
* :func:`joint_esprit_estimator` — 3-D Unitary (tensor) ESPRIT with multidimensional smoothing
  (from the subspace toolbox, :func:`estimators.esprit_nd`); pairing is automatic. Its cost is an
  EVD/SVD of dimension :math:`\prod_m M^s_m` (the subarray sizes), reported with the result.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sensing import (
    SPEED_OF_LIGHT,
    Array,
    ArrayGeometry,
    HostCopy,
    Numerology,
    asarray_like,
    check_int,
    to_numpy,
)

from ..subspace._esprit import esprit_nd
from ._plain import PathLengthAlias, plain_iv, sync
from ._plain_compression import compress, deltas_iv, steps_iv, tensor_iv
from ._plain_fusion import dictionary, physical_gains
from ._plain_modes import (
    estimate_order_and_roots,
    map_mode,
    normalise_fb,
    normalised_fb_covariance,
)
from ._tensor_algebra import mode_product

__all__ = ["BaselineResult", "sequential_estimator", "joint_esprit_estimator"]


@dataclass(frozen=True)
class BaselineResult(PathLengthAlias, HostCopy):
    r"""Paired estimates of a PLAIN baseline (same units and conventions as :class:`PlainResult`).

    Attributes
    ----------
    method : str
        ``"sequential"`` or ``"joint_esprit"``.
    azimuths_rad, path_lengths_m, velocities_mps, delays_s, doppler_hz : array, shape (n_objects,)
        Azimuth [rad] (package convention), one-way path length [m], radial velocity [m/s], delay [s],
        Doppler [Hz].
    gains : array, shape (n_objects,) or (S, n_objects), complex
        Least-squares path gains on the compressed tensor with the compression factor removed.
    powers : array, shape (n_objects,)
        Mean :math:`|\text{gain}|^2` on the compressed grid (selection metric).
    stage_names : tuple of str
    stage_times_s : tuple of float
        Wall-clock time per stage [s].
    total_s : float
    details : tuple of (str, object) pairs
        Method-specific information (per-beam counts, subarray sizes, ...).
    """

    method: str
    azimuths_rad: Array
    path_lengths_m: Array
    velocities_mps: Array
    delays_s: Array
    doppler_hz: Array
    gains: Array
    powers: Array
    stage_names: tuple
    stage_times_s: tuple
    total_s: float
    details: tuple = ()

    @property
    def n_objects(self) -> int:
        return int(self.azimuths_rad.shape[0])


# ------------------------------------------------------------------------------------------------
# shared helpers
# ------------------------------------------------------------------------------------------------
def _fit_gains(xp, y, omegas3: np.ndarray):
    """LS amplitudes of the given (P, 3) compressed-grid triples: min ||vec(Y_s) - G g_s||."""
    n1, n2, n3 = (int(s) for s in y.shape[1:])
    a = dictionary(xp, omegas3[:, 0], n1, y.dtype)
    d = dictionary(xp, omegas3[:, 1], n2, y.dtype)
    v = dictionary(xp, omegas3[:, 2], n3, y.dtype)
    p = omegas3.shape[0]
    g = xp.reshape(a[:, None, None, :] * d[None, :, None, :] * v[None, None, :, :], (-1, p))  # (N, P)
    rhs = xp.matrix_transpose(xp.reshape(y, (y.shape[0], -1)))                               # (N, S')
    gh = xp.conj(xp.matrix_transpose(g))
    coef = xp.linalg.solve(gh @ g, gh @ rhs)                                                 # (P, S')
    return xp.matrix_transpose(coef)                                                         # (S', P)


def _finish(xp, method, y, comp, omegas3, phys, numerology, geometry, squeeze, n_keep, names, times, t_start,
            details):
    """Fit gains, keep the n_keep strongest, map gains to physical values, build the result."""
    t0 = time.perf_counter()
    if omegas3.shape[0]:
        core = _fit_gains(xp, y, omegas3)
        pw = to_numpy(xp.mean(xp.abs(core) ** 2, axis=0))
        keep = np.argsort(-pw, kind="stable")[: (omegas3.shape[0] if n_keep is None else n_keep)]
        core_h = to_numpy(core)[:, keep]
        phys = phys[keep]
        pw = pw[keep]
    else:
        core_h = np.zeros((y.shape[0], 0), complex)
        pw = np.zeros(0)
    az, dist, vel = phys[:, 0], phys[:, 1], phys[:, 2]
    tau = dist / SPEED_OF_LIGHT
    fd = vel * numerology.carrier_hz / SPEED_OF_LIGHT
    fine = np.stack([2 * np.pi * geometry.spacing_m[0] / numerology.wavelength_m * np.sin(az),
                     -2 * np.pi * numerology.subcarrier_spacing_hz * tau,
                     2 * np.pi * fd * numerology.symbol_duration_s]) if len(az) else np.zeros((3, 0))
    g = physical_gains(core_h, fine, comp, float(numerology.subcarrier_frequencies_hz[0]), tau)

    def dev(v, dtype=xp.float64):
        return asarray_like(np.asarray(v), xp, dtype=dtype)

    times = tuple(times) + (time.perf_counter() - t0,)
    return BaselineResult(method, dev(az), dev(dist), dev(vel), dev(tau), dev(fd),
                          dev(g[0] if squeeze else g, xp.complex128), dev(pw), tuple(names) + ("gains",), times,
                          time.perf_counter() - t_start, tuple(details))


def _checked_compression(tensor, geometry, numerology, compression, deltas, selection, n_objects,
                         smoothing_steps, max_virtual_snapshots, rng):
    """Validated inputs and PLAIN's stage 1 for a baseline: (xp, squeeze, selection, deltas,
    compressed tensor, [stage-1 time])."""
    xp, x, squeeze, selection, d, steps, cap = _baseline_iv(
        tensor, geometry, numerology, compression, deltas, selection, n_objects, smoothing_steps,
        max_virtual_snapshots)
    t0 = time.perf_counter()
    comp = compress(xp, x, compression, d, steps, cap, rng)
    sync(comp.tensor)
    return xp, squeeze, selection, d, comp, [time.perf_counter() - t0]


def _baseline_iv(tensor, geometry, numerology, compression, deltas, selection, n_objects, smoothing_steps,
                 max_virtual_snapshots):
    xp, x, squeeze = tensor_iv(tensor)
    if selection not in (None, "aic", "aic_true_count"):
        raise ValueError(f"`selection` must be one of 'aic', 'aic_true_count' for the baselines; got {selection!r}.")
    selection = plain_iv(geometry, numerology, x.shape[1:], compression, "omp", selection, n_objects)
    d = deltas_iv(deltas, tuple(int(s) for s in x.shape[1:]), compression)
    steps = steps_iv(smoothing_steps)
    cap = check_int(max_virtual_snapshots, "max_virtual_snapshots", low=1)
    small = tuple(int(s) // dm for s, dm in zip(x.shape[1:], d))
    if min(small) < 2:
        raise ValueError(f"every compressed size must be >= 2; got {small}.")
    if n_objects is not None:
        check_int(n_objects, "n_objects", low=1, high=math.prod(n - 1 for n in small),
                  why=f"at most prod(N'_m - 1) triples with compressed sizes {small}")
    return xp, x, squeeze, selection, d, steps, cap


# ------------------------------------------------------------------------------------------------
# sequential
# ------------------------------------------------------------------------------------------------
def _smoothed_fb_covariance(z: np.ndarray, sub: int) -> tuple[np.ndarray, int]:
    """Forward spatial smoothing of (S, N) single series with windows of length `sub`, FB, normalised."""
    s, n = z.shape
    idx = np.arange(sub)[:, None] + np.arange(n - sub + 1)[None, :]          # (sub, n_win)
    cols = z[:, idx]                                                          # (S, sub, n_win)
    mat = np.moveaxis(cols, 0, 1).reshape(sub, -1)
    r = mat @ mat.conj().T / mat.shape[1]
    return normalise_fb(r), int(mat.shape[1])


def sequential_estimator(tensor: Array, *, geometry: ArrayGeometry, numerology: Numerology,
                         compression: str = "averaging", deltas: Sequence[int] = (1, 1, 1),
                         selection: str | None = None, n_objects: int | None = None,
                         doppler_subarray: int | None = None, smoothing_steps: Sequence[int] = (1, 10, 30),
                         max_virtual_snapshots: int = 100, rng=None) -> BaselineResult:
    r"""Sequential baseline: angle → delay per beam → Doppler per (angle, delay).

    1. **Angles**: PLAIN's per-mode routine on the antenna mode (FB covariance, AIC,
       signal-subspace root-MUSIC).
    2. **Beams**: :math:`\mathbf Z = \hat{\mathbf A}^{+}\mathbf H_{(1)}`; beam :math:`a` is
       :math:`\mathbf Z_a \in \mathbb C^{S'\times N'_K\times N'_T}`.
    3. **Delays per beam**: the same routine on the frequency mode of :math:`\mathbf Z_a`
       (symbols and snapshots as columns).
    4. **Doppler per (angle, delay)**: :math:`\hat{\mathbf D}_a^{+}` applied to :math:`\mathbf Z_a`
       gives one time series per delay; forward–backward spatial smoothing with subarray length
       ``doppler_subarray``, AIC and root-MUSIC.

    Pairing is implicit. Gains are a joint least-squares fit of all found triples.

    Parameters
    ----------
    tensor, geometry, numerology, compression, deltas, smoothing_steps, max_virtual_snapshots, rng
        As in :func:`estimators.plain` (the same stage-1 compression).
    selection : {"aic", "aic_true_count"}, optional
        ``"aic"``: report every triple found; ``"aic_true_count"``: keep the ``n_objects``
        strongest. Default: the latter when ``n_objects`` is given.
    n_objects : int, optional
    doppler_subarray : int, optional
        Smoothing subarray length for the Doppler step, :math:`2 \le L \le N'_T - 1`; default
        :math:`\lceil (N'_T + 1)/2\rceil`.

    Returns
    -------
    BaselineResult
        ``method="sequential"``; stages ``("compression", "angle", "delay", "doppler", "gains")``.

    Examples
    --------
    >>> import numpy as np
    >>> from channels import Paths, cfr_from_paths
    >>> from sensing import Numerology, ula
    >>> from estimators import sequential_estimator
    >>> num = Numerology(28e9, 120e3, 64, 32)
    >>> g = ula(8, num.wavelength_m / 2)
    >>> paths = Paths.from_arrays(np.array([1.0, 0.7j, -0.5]), np.array([100e-9, 400e-9, 700e-9]),
    ...                           np.array([2000.0, -3000.0, 500.0]), np.array([-0.5, 0.1, 0.6]))
    >>> h = cfr_from_paths(paths, g, num)
    >>> res = sequential_estimator(h, geometry=g, numerology=num, deltas=(1, 2, 2), n_objects=3)
    >>> res.method, res.stage_names
    ('sequential', ('compression', 'angle', 'delay', 'doppler', 'gains'))
    >>> np.round(res.azimuths_rad, 2), np.round(res.delays_s * 1e9), np.round(res.doppler_hz, -2)
    (array([-0.5,  0.1,  0.6]), array([100., 400., 700.]), array([ 2000., -3000.,   500.]))
    """
    t_start = time.perf_counter()
    xp, squeeze, selection, d, comp, times = _checked_compression(
        tensor, geometry, numerology, compression, deltas, selection, n_objects, smoothing_steps,
        max_virtual_snapshots, rng)
    y = comp.tensor
    n3 = int(y.shape[3])
    sub = (n3 + 2) // 2 if doppler_subarray is None else check_int(doppler_subarray, "doppler_subarray", low=2,
                                                                   high=n3 - 1)
    spacing = float(geometry.spacing_m[0])

    # 1. angles
    t0 = time.perf_counter()
    r, n_cols = normalised_fb_covariance(xp, y, 1)
    om_a, _, _, _, _ = estimate_order_and_roots(r, n_cols, None)
    om_a, az, _ = map_mode(0, om_a, delta=comp.deltas[0], spacing_m=spacing, numerology=numerology)
    times.append(time.perf_counter() - t0)

    # 2.-3. beams and delays per beam
    t0 = time.perf_counter()
    per_beam = []
    if om_a.size:
        a_hat = dictionary(xp, om_a, int(y.shape[1]), y.dtype)
        z = mode_product(xp, y, xp.linalg.pinv(a_hat), 1, 0)                     # (S', K_a, N2, N3)
        for i in range(om_a.size):
            za = z[:, i, ...]
            ra, nc = normalised_fb_covariance(xp, za, 1)
            om_f, _, _, _, _ = estimate_order_and_roots(ra, nc, None)
            om_f, dist, _ = map_mode(1, om_f, delta=comp.deltas[1], spacing_m=spacing, numerology=numerology)
            per_beam.append((za, om_f, dist))
    times.append(time.perf_counter() - t0)

    # 4. Doppler per (angle, delay)
    t0 = time.perf_counter()
    trip_om, trip_phys, counts = [], [], []
    for i, (za, om_f, dist) in enumerate(per_beam):
        if not om_f.size:
            counts.append((0, ()))
            continue
        d_hat = dictionary(xp, om_f, int(za.shape[1]), za.dtype)
        series = to_numpy(mode_product(xp, za, xp.linalg.pinv(d_hat), 1, 0))   # (S', K_f, N3): small, host
        dop_counts = []
        for j in range(om_f.size):
            rt, nc = _smoothed_fb_covariance(series[:, j, :], sub)
            om_t, _, _, _, _ = estimate_order_and_roots(rt, nc, None)
            om_t, vel, _ = map_mode(2, om_t, delta=comp.deltas[2], spacing_m=spacing, numerology=numerology)
            dop_counts.append(int(om_t.size))
            for k in range(om_t.size):
                trip_om.append((om_a[i], om_f[j], om_t[k]))
                trip_phys.append((az[i], dist[j], vel[k]))
        counts.append((int(om_f.size), tuple(dop_counts)))
    times.append(time.perf_counter() - t0)
    omegas3 = np.asarray(trip_om, dtype=float).reshape(-1, 3)
    phys = np.asarray(trip_phys, dtype=float).reshape(-1, 3)
    n_keep = None if selection == "aic" else int(n_objects)
    return _finish(xp, "sequential", y, comp, omegas3, phys, numerology, geometry, squeeze, n_keep,
                   ("compression", "angle", "delay", "doppler"), times, t_start,
                   (("n_angles", int(om_a.size)), ("per_beam_counts", tuple(counts)),
                    ("doppler_subarray", sub), ("compressed_shape", tuple(int(s) for s in y.shape))))


# ------------------------------------------------------------------------------------------------
# joint 3-D Unitary ESPRIT
# ------------------------------------------------------------------------------------------------
def _default_subarray(small: tuple[int, int, int], budget: int = 512) -> tuple[int, int, int]:
    """Subarray sizes about N'/2 + 1 per dimension, shrunk (largest first) until prod <= budget."""
    sub = [max(2, n // 2 + 1) if n > 2 else n for n in small]
    sub = [min(s, n) for s, n in zip(sub, small)]
    while math.prod(sub) > budget:
        i = int(np.argmax(sub))
        if sub[i] <= 2:
            break
        sub[i] -= 1
    return tuple(sub)


def joint_esprit_estimator(tensor: Array, *, geometry: ArrayGeometry, numerology: Numerology,
                           compression: str = "averaging", deltas: Sequence[int] = (1, 1, 1),
                           selection: str | None = None, n_objects: int | None = None,
                           subarray_shape: Sequence[int] | None = None, smoothing_steps: Sequence[int] = (1, 10, 30),
                           max_virtual_snapshots: int = 100, rng=None) -> BaselineResult:
    r"""Joint baseline: 3-D Unitary ESPRIT with multidimensional smoothing.

    Runs :func:`estimators.esprit_nd` (subspace toolbox: smoothing with subarrays
    :math:`(M^s_1, M^s_2, M^s_3)`, real-valued Unitary transform, signal subspace, three
    shift-invariance equations, automatic pairing) on the stage-1 compressed tensor, maps the
    paired frequencies like PLAIN (Δ scaling, delay wrap rule) and fits the gains by least
    squares. Virtual snapshots (smoothing/shifted decimation compression, or a 4-D input) are
    passed as snapshots.

    Parameters
    ----------
    tensor, geometry, numerology, compression, deltas, smoothing_steps, max_virtual_snapshots, rng
        As in :func:`estimators.plain`.
    selection : {"aic", "aic_true_count"}, optional
        ``"aic_true_count"`` (default when ``n_objects`` is given): ESPRIT order = ``n_objects``;
        ``"aic"``: the order is chosen by the toolbox (MDL on the smoothed data).
    n_objects : int, optional
    subarray_shape : sequence of 3 int, optional
        :math:`M^s_m \le N'_m`. The cost is an EVD of dimension :math:`\prod_m M^s_m`; default:
        about :math:`N'_m/2 + 1`, shrunk until the product is at most 512.

    Returns
    -------
    BaselineResult
        ``method="joint_esprit"``; stages ``("compression", "esprit", "gains")``; ``details``
        holds the subarray shape.

    Examples
    --------
    >>> import numpy as np
    >>> from channels import Paths, cfr_from_paths
    >>> from sensing import Numerology, ula
    >>> from estimators import joint_esprit_estimator
    >>> num = Numerology(28e9, 120e3, 64, 32)
    >>> g = ula(8, num.wavelength_m / 2)
    >>> paths = Paths.from_arrays(np.array([1.0, 0.7j, -0.5]), np.array([100e-9, 400e-9, 700e-9]),
    ...                           np.array([2000.0, -3000.0, 500.0]), np.array([-0.5, 0.1, 0.6]))
    >>> h = cfr_from_paths(paths, g, num)
    >>> res = joint_esprit_estimator(h, geometry=g, numerology=num, deltas=(1, 4, 4), n_objects=3)
    >>> res.method, np.round(res.azimuths_rad, 2), np.round(res.delays_s * 1e9)
    ('joint_esprit', array([-0.5,  0.1,  0.6]), array([100., 400., 700.]))
    """
    t_start = time.perf_counter()
    xp, squeeze, selection, d, comp, times = _checked_compression(
        tensor, geometry, numerology, compression, deltas, selection, n_objects, smoothing_steps,
        max_virtual_snapshots, rng)
    y = comp.tensor
    small = tuple(int(s) for s in y.shape[1:])
    if subarray_shape is None:
        sub = _default_subarray(small)
    else:
        if not isinstance(subarray_shape, Sequence) or len(subarray_shape) != 3:
            raise ValueError(f"`subarray_shape` must be a sequence of 3 integers; got {subarray_shape!r}.")
        sub = tuple(check_int(m, f"subarray_shape[{i}]", low=2, high=small[i]) for i, m in enumerate(subarray_shape))
    t0 = time.perf_counter()
    k = None if selection == "aic" else int(n_objects)
    if y.shape[0] == 1:
        est = esprit_nd(y[0, ...], n_sources=k, subarray_shape=sub)
    else:
        est = esprit_nd(xp.moveaxis(y, 0, -1), n_sources=k, subarray_shape=sub, snapshots=True)
    om = to_numpy(est.estimates).reshape(-1, 3)
    sync(est.estimates)
    times.append(time.perf_counter() - t0)
    spacing = float(geometry.spacing_m[0])
    w0, az, keep = map_mode(0, om[:, 0], delta=comp.deltas[0], spacing_m=spacing, numerology=numerology)
    w1, dist, _ = map_mode(1, om[keep, 1], delta=comp.deltas[1], spacing_m=spacing, numerology=numerology)
    w2, vel, _ = map_mode(2, om[keep, 2], delta=comp.deltas[2], spacing_m=spacing, numerology=numerology)
    omegas3 = np.stack([w0, w1, w2], axis=-1)
    phys = np.stack([az, dist, vel], axis=-1)
    return _finish(xp, "joint_esprit", y, comp, omegas3, phys, numerology, geometry, squeeze, None,
                   ("compression", "esprit"), times, t_start,
                   (("subarray_shape", sub), ("compressed_shape", tuple(int(s) for s in y.shape)),
                    ("n_sources", int(est.n_sources))))

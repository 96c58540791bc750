r"""Uplink multi-user ISAC geometry: a BS with a planar array, users with imperfect positions and
clocks, and point scatterers that each user sees a (partially shared) subset of.

Signal model (the location-domain model of A. Liu, W. Xu, W. Xu, G. Caire, "Bilinear Subspace
Variational Bayesian Inference for Joint Scattering Environment Sensing and Data Recovery in ISAC
Systems," arXiv:2502.00811, Sec. II, as reconstructed from W. Xu, Y. Xiao, A. Liu, M. Lei, M. Zhao,
"Joint Scattering Environment Sensing and Channel Estimation Based on Non-stationary Markov Random
Field," arXiv:2302.02587): user :math:`k` at the true position
:math:`\mathbf p_k = \bar{\mathbf p}_k + \Delta\mathbf p_k` (nominal position known, error unknown)
with clock offset :math:`\delta_k` reaches the BS array at :math:`\mathbf p_B` over the direct path
(when unobstructed) and over single bounces off the scatterers :math:`\mathbf r_l` it illuminates:

.. math::
    \tau_{k,l} = \frac{\lVert\mathbf p_k - \mathbf r_l\rVert + \lVert\mathbf r_l - \mathbf p_B\rVert}{c}
                 + \delta_k, \qquad
    \tau_{k,0} = \frac{\lVert\mathbf p_k - \mathbf p_B\rVert}{c} + \delta_k,

    \mathbf h_{k,n} = \sum_{l} \alpha_{k,l}\,\mathbf a(\mathbf u_l)\,e^{-j2\pi f_n\tau_{k,l}},

with the AoA unit vector :math:`\mathbf u_l` from the BS towards the scatterer (or the user) and
:math:`f_n = n\,\Delta f` the baseband subcarrier frequency. The clock offset shifts every delay
of a user by the same amount; it does not enter the carrier phase, which the complex gains
:math:`\alpha_{k,l}` absorb (it is not identifiable separately from them).

The paths come from :func:`channels.uplink_paths` (bistatic radar amplitudes, Friis for the direct
path, the carrier phase in the gains); this module adds the offsets and the random draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from sensing import (
    ArrayGeometry,
    Numerology,
    check_array,
    check_float,
    check_int,
    check_rng,
)

from ._cfr import cfr_from_paths
from ._geometry import uplink_paths
from ._paths import Paths

__all__ = ["UplinkGeometry", "draw_uplink_geometry", "uplink_channel"]


def _vec3(x, name):
    v = np.asarray(check_array(x, name, shape=(3,), kind=("real floating", "integral")), dtype=float)
    return v.copy()


@dataclass(frozen=True)
class UplinkGeometry:
    r"""Ground truth of an uplink multi-user scene (host arrays, SI units).

    Attributes
    ----------
    bs_array : ArrayGeometry
        BS array; element positions are relative to ``bs_position_m`` (element 0 there).
    bs_position_m : ndarray, shape (3,)
        :math:`\mathbf p_B` [m]. The array's boresight is global :math:`+x` (no yaw).
    nominal_user_positions_m : ndarray, shape (n_users, 3)
        :math:`\bar{\mathbf p}_k` [m], known to the receiver.
    user_position_errors_m : ndarray, shape (n_users, 3)
        :math:`\Delta\mathbf p_k` [m], unknown to the receiver.
    time_offsets_s : ndarray, shape (n_users,)
        Clock offsets :math:`\delta_k` [s], unknown to the receiver.
    scatterer_positions_m : ndarray, shape (n_scatterers, 3)
        :math:`\mathbf r_l` [m].
    visibility : ndarray of bool, shape (n_users, n_scatterers)
        ``visibility[k, l]``: user :math:`k` illuminates scatterer :math:`l` (the joint sparsity:
        columns with several True entries are shared scatterers).
    los : ndarray of bool, shape (n_users,)
        Whether the direct path of each user is unobstructed.
    rcs_m2 : ndarray, shape (n_scatterers,)
        Radar cross-section of each scatterer [m^2] (bistatic amplitude model).

    Examples
    --------
    >>> import numpy as np
    >>> from channels import UplinkGeometry
    >>> from sensing import SPEED_OF_LIGHT, upa
    >>> geo = UplinkGeometry(                              # or draw one with draw_uplink_geometry
    ...     bs_array=upa(2, 2, 0.005), bs_position_m=np.zeros(3),
    ...     nominal_user_positions_m=np.array([[40.0, 5.0, -10.0]]), user_position_errors_m=np.zeros((1, 3)),
    ...     time_offsets_s=np.array([2e-9]), scatterer_positions_m=np.array([[30.0, -5.0, 0.0]]),
    ...     visibility=np.array([[True]]), los=np.array([True]), rcs_m2=np.array([1000.0]))
    >>> p = geo.paths(28e9)
    >>> geo.n_users, geo.n_scatterers, p.batch_shape, p.n_paths   # LoS path last
    (1, 1, (1,), 2)
    >>> np.round((p.delays_s - 2e-9) * SPEED_OF_LIGHT, 2)  # path lengths [m]: 17.32 + 30.41, then LoS
    array([[47.73, 41.53]])
    """

    bs_array: ArrayGeometry
    bs_position_m: np.ndarray = field(repr=False)
    nominal_user_positions_m: np.ndarray = field(repr=False)
    user_position_errors_m: np.ndarray = field(repr=False)
    time_offsets_s: np.ndarray = field(repr=False)
    scatterer_positions_m: np.ndarray = field(repr=False)
    visibility: np.ndarray = field(repr=False)
    los: np.ndarray = field(repr=False)
    rcs_m2: np.ndarray = field(repr=False)

    def __post_init__(self):
        if not isinstance(self.bs_array, ArrayGeometry):
            raise TypeError(f"`bs_array` must be an ArrayGeometry; got {type(self.bs_array).__name__}.")
        bs = _vec3(self.bs_position_m, "bs_position_m")
        pn = np.asarray(check_array(self.nominal_user_positions_m, "nominal_user_positions_m", ndim=2,
                                    kind=("real floating", "integral")), dtype=float)
        if pn.shape[1] != 3 or pn.shape[0] < 1:
            raise ValueError(f"`nominal_user_positions_m` must have shape (n_users >= 1, 3); got {pn.shape}.")
        k = pn.shape[0]
        dp = np.asarray(check_array(self.user_position_errors_m, "user_position_errors_m", shape=(k, 3),
                                    kind=("real floating", "integral")), dtype=float)
        dt = np.asarray(check_array(self.time_offsets_s, "time_offsets_s", shape=(k,),
                                    kind=("real floating", "integral")), dtype=float)
        sc = np.asarray(check_array(self.scatterer_positions_m, "scatterer_positions_m", ndim=2,
                                    kind=("real floating", "integral")), dtype=float)
        if sc.shape[1] != 3:
            raise ValueError(f"`scatterer_positions_m` must have shape (n_scatterers, 3); got {sc.shape}.")
        vis = np.asarray(self.visibility)
        if vis.dtype != bool or vis.shape != (k, sc.shape[0]):
            raise ValueError(f"`visibility` must be a bool array of shape ({k}, {sc.shape[0]}); "
                             f"got {vis.dtype} {vis.shape}.")
        los = np.asarray(self.los)
        if los.dtype != bool or los.shape != (k,):
            raise ValueError(f"`los` must be a bool array of shape ({k},); got {los.dtype} {los.shape}.")
        rcs = np.asarray(check_array(self.rcs_m2, "rcs_m2", shape=(sc.shape[0],),
                                     kind=("real floating", "integral")), dtype=float)
        if np.any(rcs < 0):
            raise ValueError("`rcs_m2` must be >= 0.")
        for name, val in (("bs_position_m", bs), ("nominal_user_positions_m", pn),
                          ("user_position_errors_m", dp), ("time_offsets_s", dt),
                          ("scatterer_positions_m", sc), ("visibility", vis.copy()), ("los", los.copy()),
                          ("rcs_m2", rcs)):
            object.__setattr__(self, name, val)

    @property
    def n_users(self) -> int:
        return int(self.nominal_user_positions_m.shape[0])

    @property
    def n_scatterers(self) -> int:
        return int(self.scatterer_positions_m.shape[0])

    @property
    def user_positions_m(self) -> np.ndarray:
        r"""True positions :math:`\mathbf p_k = \bar{\mathbf p}_k + \Delta\mathbf p_k` [m], shape (n_users, 3)."""
        return self.nominal_user_positions_m + self.user_position_errors_m

    def paths(self, carrier_hz: float, *, carrier_phase: bool = True) -> Paths:
        r"""Propagation paths of every user, batched ``(n_users, n_scatterers + 1)``, LoS last.

        Delays include the clock offsets :math:`\delta_k`; invisible scatterers and blocked direct
        paths carry zero gain. Angles are in the BS array's frame (package convention).
        """
        p = uplink_paths(self.user_positions_m, self.scatterer_positions_m, carrier_hz=carrier_hz,
                         bs_position_m=self.bs_position_m, visibility=self.visibility,
                         rcs_m2=self.rcs_m2[None, :], los=self.los, carrier_phase=carrier_phase)
        delays = p.delays_s + self.time_offsets_s[:, None]
        if np.any(delays < 0):
            raise ValueError("a clock offset makes a path delay negative; shrink `time_offsets_s` "
                             f"(min geometric delay {float(np.min(p.delays_s)):.3g} s, "
                             f"min offset {float(np.min(self.time_offsets_s)):.3g} s).")
        return replace(p, delays_s=delays)


def draw_uplink_geometry(*, bs_array: ArrayGeometry, n_users: int, n_scatterers: int,
                         scatterer_region_m=((20.0, -20.0, -8.0), (60.0, 20.0, 2.0)),
                         user_region_m=((25.0, -25.0, -10.0), (65.0, 25.0, -10.0)),
                         bs_position_m=(0.0, 0.0, 0.0), visibility_probability: float = 0.6,
                         min_shared: int = 1, los_probability: float = 1.0,
                         position_error_std_m: float = 0.5, max_time_offset_s: float = 10e-9,
                         rcs_range_m2=(300.0, 3000.0), min_separation_m: float = 4.0,
                         rng=None) -> UplinkGeometry:
    r"""Draw a random uplink scene.

    Scatterers are uniform in the box ``scatterer_region_m`` (rejection sampling keeps them at
    least ``min_separation_m`` apart and away from users), users uniform in ``user_region_m``.
    Each user sees each scatterer with probability ``visibility_probability``; afterwards every
    scatterer is made visible to at least one user and, where possible, at least ``min_shared``
    scatterers to two or more users, so the joint-sparsity structure is present.

    Parameters
    ----------
    bs_array : ArrayGeometry
        BS array (e.g. ``sensing.upa(8, 8, wavelength/2)``).
    n_users, n_scatterers : int
        :math:`K \ge 1` and :math:`L \ge 0`.
    scatterer_region_m, user_region_m : pair of 3-vectors
        ``(min_corner, max_corner)`` of the axis-aligned boxes [m] (a degenerate axis, min = max,
        fixes that coordinate, e.g. the users' height).
    bs_position_m : 3-vector, default=(0, 0, 0)
    visibility_probability : float in [0, 1], default=0.6
    min_shared : int, default=1
        Scatterers forced to be seen by at least two users (when :math:`K \ge 2`).
    los_probability : float in [0, 1], default=1
        Probability that a user's direct path is unobstructed.
    position_error_std_m : float, default=0.5
        Standard deviation of each coordinate of :math:`\Delta\mathbf p_k` [m].
    max_time_offset_s : float, default=10e-9
        :math:`\delta_k` is uniform in ``[-max, max]`` [s].
    rcs_range_m2 : pair of float, default=(300, 3000)
        Radar cross-sections are log-uniform in this range [m^2]; large reflectors (facades,
        vehicles at mmWave) keep the single-bounce paths within about 10 dB of the direct path.
    min_separation_m : float, default=4
        Minimum distance between scatterers, and between scatterers and users [m].
    rng : None, int or numpy.random.Generator

    Returns
    -------
    UplinkGeometry

    Examples
    --------
    >>> import numpy as np
    >>> from channels import draw_uplink_geometry
    >>> from sensing import upa
    >>> geo = draw_uplink_geometry(bs_array=upa(4, 4, 0.005), n_users=3, n_scatterers=5, rng=0)
    >>> geo.n_users, geo.n_scatterers, geo.visibility.shape
    (3, 5, (3, 5))
    >>> bool(geo.visibility.any(axis=0).all()), bool((geo.visibility.sum(axis=0) >= 2).any())
    (True, True)
    >>> bool(np.all(np.abs(geo.time_offsets_s) <= 10e-9)), geo.user_positions_m.shape
    (True, (3, 3))
    """
    rng = check_rng(rng)
    if not isinstance(bs_array, ArrayGeometry):
        raise TypeError(f"`bs_array` must be an ArrayGeometry; got {type(bs_array).__name__}.")
    k = check_int(n_users, "n_users", low=1)
    n_sc = check_int(n_scatterers, "n_scatterers", low=0)
    pv = check_float(visibility_probability, "visibility_probability", low=0.0, high=1.0)
    plos = check_float(los_probability, "los_probability", low=0.0, high=1.0)
    sd = check_float(position_error_std_m, "position_error_std_m", low=0.0)
    dmax = check_float(max_time_offset_s, "max_time_offset_s", low=0.0)
    sep = check_float(min_separation_m, "min_separation_m", low=0.0)
    n_shared = check_int(min_shared, "min_shared", low=0)
    bs = _vec3(bs_position_m, "bs_position_m")

    def box(b, name):
        arr = np.asarray(check_array(b, name, shape=(2, 3), kind=("real floating", "integral")), dtype=float)
        if np.any(arr[1] < arr[0]):
            raise ValueError(f"`{name}` must be (min_corner, max_corner) with min <= max; got {arr.tolist()}.")
        return arr

    sbox, ubox = box(scatterer_region_m, "scatterer_region_m"), box(user_region_m, "user_region_m")
    lo_rcs, hi_rcs = (check_float(v, "rcs_range_m2", low=0.0, low_inclusive=False) for v in rcs_range_m2)
    if hi_rcs < lo_rcs:
        raise ValueError(f"`rcs_range_m2` must be (low, high) with low <= high; got {rcs_range_m2!r}.")

    users = ubox[0] + (ubox[1] - ubox[0]) * rng.random((k, 3))
    scat = np.empty((0, 3))
    for _ in range(1000 * max(1, n_sc)):
        if scat.shape[0] == n_sc:
            break
        cand = sbox[0] + (sbox[1] - sbox[0]) * rng.random(3)
        far = np.all(np.linalg.norm(scat - cand, axis=1) >= sep) if scat.size else True
        far_u = np.all(np.linalg.norm(users - cand, axis=1) >= sep)
        if far and far_u and np.linalg.norm(cand - bs) >= sep:
            scat = np.vstack([scat, cand])
    if scat.shape[0] < n_sc:
        raise ValueError(f"could not place {n_sc} scatterers {sep:g} m apart in `scatterer_region_m`; "
                         "enlarge the region or reduce `min_separation_m`.")
    vis = rng.random((k, n_sc)) < pv
    for l in range(n_sc):
        if not vis[:, l].any():
            vis[rng.integers(k), l] = True
    if k >= 2:
        shared = np.flatnonzero(vis.sum(0) >= 2)
        need = min(n_shared, n_sc) - shared.size
        for l in rng.permutation(np.flatnonzero(vis.sum(0) < 2))[:max(0, need)]:
            others = np.flatnonzero(~vis[:, l])
            vis[rng.choice(others), l] = True
    los = rng.random(k) < plos
    dp = sd * rng.standard_normal((k, 3))
    delta = dmax * (2 * rng.random(k) - 1)
    rcs = np.exp(np.log(lo_rcs) + (np.log(hi_rcs) - np.log(lo_rcs)) * rng.random(n_sc))
    return UplinkGeometry(bs_array, bs, users, dp, delta, scat, vis, los, rcs)


def uplink_channel(geometry: UplinkGeometry, numerology: Numerology, *, carrier_phase: bool = True) -> np.ndarray:
    r"""Static uplink channel :math:`\mathbf h_{k,n}` of every user on every subcarrier.

    Returns
    -------
    ndarray, shape (n_users, n_antennas, n_subcarriers), complex128
        :math:`H[k, m, n] = \sum_l \alpha_{k,l}[\mathbf a(\mathbf u_l)]_m e^{-j2\pi f_n\tau_{k,l}}`
        with :math:`f_n` from ``numerology.subcarrier_frequencies_hz`` (constant over the frame).

    Examples
    --------
    >>> import numpy as np
    >>> from channels import draw_uplink_geometry, uplink_channel
    >>> from sensing import Numerology, upa
    >>> num = Numerology(28e9, 120e3, 32, 1)
    >>> geo = draw_uplink_geometry(bs_array=upa(4, 4, num.wavelength_m / 2), n_users=2, n_scatterers=3, rng=0)
    >>> h = uplink_channel(geo, num)
    >>> h.shape, h.dtype                                   # (users, antennas, subcarriers)
    ((2, 16, 32), dtype('complex128'))
    """
    if not isinstance(geometry, UplinkGeometry):
        raise TypeError(f"`geometry` must be an UplinkGeometry; got {type(geometry).__name__}.")
    if not isinstance(numerology, Numerology):
        raise TypeError(f"`numerology` must be a sensing.Numerology; got {type(numerology).__name__}.")
    paths = geometry.paths(numerology.carrier_hz, carrier_phase=carrier_phase)
    h = cfr_from_paths(paths, geometry.bs_array, numerology, symbol_times_s=np.zeros(1))
    return np.ascontiguousarray(h[..., 0])

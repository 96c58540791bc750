r"""Geometry -> propagation paths: monostatic echoes and single-bounce uplink paths.

All positions are in the global frame [m]; the base-station (BS) array sits at ``bs_position_m``
with its boresight along global :math:`+x` rotated by ``bs_yaw_rad`` about :math:`z`, so the
angles in the returned :class:`Paths` are in the array's own frame and follow the package
convention (broadside = azimuth 0). The speed of light is the only physical constant used.

Doppler sign: :math:`f_D = -\frac{f_c}{c}\frac{d\ell}{dt}` for a path of length :math:`\ell`, so
an approaching object (shrinking path) has positive Doppler.
"""

from __future__ import annotations

import math

import numpy as np

from sensing import SPEED_OF_LIGHT, check_array, check_float

from ._paths import Paths

__all__ = [
    "monostatic_paths",
    "uplink_paths",
    "free_space_amplitude",
    "uma_los_path_loss_db",
    "local_angles",
]


def _rotation_z(yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def local_angles(vectors, *, yaw_rad: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Azimuth, elevation [rad] and length [m] of vectors (..., 3) seen from an array with boresight yaw ``yaw_rad``.

    Examples
    --------
    >>> import numpy as np
    >>> from channels import local_angles
    >>> az, el, r = local_angles(np.array([[10.0, 10.0, 0.0], [0.0, 0.0, 5.0]]))
    >>> np.round(np.degrees(az), 1), np.round(np.degrees(el), 1), np.round(r, 3)
    (array([45.,  0.]), array([ 0., 90.]), array([14.142,  5.   ]))
    >>> az, _, _ = local_angles(np.array([10.0, 10.0, 0.0]), yaw_rad=np.pi / 4)   # array faces the point
    >>> float(np.round(az, 6)) + 0.0
    0.0
    """
    v = np.asarray(vectors, dtype=float) @ _rotation_z(yaw_rad)  # R^T v for row vectors
    r = np.linalg.norm(v, axis=-1)
    if np.any(r == 0):
        raise ValueError("an object coincides with an array position (zero distance); move it.")
    az = np.arctan2(v[..., 1], v[..., 0])
    el = np.arcsin(np.clip(v[..., 2] / r, -1.0, 1.0))
    return az, el, r


def _broadcast_param(value, name: str, shape: tuple[int, ...], kind) -> np.ndarray:
    """``value`` checked (kind, finite) and broadcast to ``shape``, or a ValueError naming it."""
    v = np.asarray(check_array(value, name, kind=kind))
    try:
        return np.broadcast_to(v, shape)
    except ValueError:
        raise ValueError(f"`{name}` must be a scalar or broadcast to shape {shape}; got shape {v.shape}.") from None


def free_space_amplitude(distance_m, carrier_hz: float) -> np.ndarray:
    r"""Friis amplitude gain :math:`\lambda / (4\pi d)` (isotropic antennas).

    Examples
    --------
    >>> import numpy as np
    >>> from channels import free_space_amplitude
    >>> a = free_space_amplitude(np.array([10.0, 100.0]), 28e9)
    >>> np.round(20 * np.log10(a), 2)                      # -FSPL [dB]: 20 dB per decade
    array([ -81.39, -101.39])
    """
    lam = SPEED_OF_LIGHT / check_float(carrier_hz, "carrier_hz", low=0.0, low_inclusive=False)
    d = np.asarray(distance_m, dtype=float)
    if np.any(~np.isfinite(d)) or np.any(d <= 0):
        raise ValueError(f"`distance_m` must be finite and > 0; got min {np.min(d)!r}.")
    return lam / (4 * math.pi * d)


def uma_los_path_loss_db(distance_m, carrier_hz: float, *, margin_db: float = 0.0) -> np.ndarray:
    r"""3GPP TR 38.901 UMa LoS path loss below the breakpoint distance [dB].

    :math:`\mathrm{PL} = 28 + 22\log_{10}(d/\mathrm{m}) + 20\log_{10}(f_c/\mathrm{GHz}) + m`, where
    ``margin_db`` :math:`m` is an optional constant (the PLAIN reference code uses 2.96 dB).

    Examples
    --------
    >>> import numpy as np
    >>> from channels import uma_los_path_loss_db
    >>> np.round(uma_los_path_loss_db(np.array([10.0, 100.0]), 3.5e9), 2)
    array([60.88, 82.88])
    >>> round(float(uma_los_path_loss_db(100.0, 3.5e9, margin_db=2.96)), 2)
    85.84
    """
    d = np.asarray(distance_m, dtype=float)
    if np.any(~np.isfinite(d)) or np.any(d <= 0):
        raise ValueError(f"`distance_m` must be finite and > 0; got min {np.min(d)!r}.")
    check_float(carrier_hz, "carrier_hz", low=0.0, low_inclusive=False)
    return 28.0 + 22.0 * np.log10(d) + 20.0 * np.log10(carrier_hz / 1e9) + margin_db


def monostatic_paths(target_positions_m, *, carrier_hz: float, bs_position_m=(0.0, 0.0, 0.0),
                     target_velocities_mps=None, rcs_m2=1.0, bs_yaw_rad: float = 0.0,
                     carrier_phase: bool = True) -> Paths:
    r"""Two-way echoes of point targets at a co-located (monostatic) BS.

    Parameters
    ----------
    target_positions_m : array, shape (..., n_targets, 3)
        Target positions [m].
    carrier_hz : float
        Carrier :math:`f_c` [Hz].
    bs_position_m : array, shape (3,)
        Array reference (element 0) position [m].
    target_velocities_mps : array, shape (..., n_targets, 3), optional
        Target velocities [m/s] (default static).
    rcs_m2 : float or array broadcastable to (..., n_targets)
        Radar cross-section :math:`\sigma` [m^2].
    bs_yaw_rad : float
        Boresight azimuth of the array in the global frame [rad].
    carrier_phase : bool
        Include the carrier phase :math:`e^{-j2\pi f_c\tau}` in the gains.

    Returns
    -------
    Paths
        Delay :math:`\tau = 2R/c`; Doppler :math:`f_D = 2 v_r f_c / c` with :math:`v_r = -\dot R`
        (approaching positive); AoA = AoD = the target direction; amplitude from the radar
        equation :math:`|\alpha| = \sqrt{\lambda^2\sigma / ((4\pi)^3 R^4)}`.

    Examples
    --------
    >>> import numpy as np
    >>> from channels import monostatic_paths
    >>> targets = np.array([[30.0, 0.0, 0.0], [40.0, 30.0, 0.0]])          # 30 m and 50 m away
    >>> velocities = np.array([[-10.0, 0.0, 0.0], [0.0, 0.0, 0.0]])         # the first approaches
    >>> p = monostatic_paths(targets, carrier_hz=28e9, target_velocities_mps=velocities)
    >>> p.n_paths, np.round(p.delays_s * 1e9, 1)                           # 2R/c [ns]
    (2, array([200.1, 333.6]))
    >>> np.round(p.doppler_hz) + 0.0, np.round(np.degrees(p.aoa_az_rad), 2)   # 2 v fc / c; AoA [deg]
    (array([1868.,    0.]), array([ 0.  , 36.87]))
    """
    p = np.asarray(check_array(target_positions_m, "target_positions_m", min_ndim=2,
                               kind=("real floating", "integral")), dtype=float)
    if p.shape[-1] != 3:
        raise ValueError(f"`target_positions_m` must have a last axis of 3; got shape {p.shape}.")
    fc = check_float(carrier_hz, "carrier_hz", low=0.0, low_inclusive=False)
    bs = np.asarray(check_array(bs_position_m, "bs_position_m", shape=(3,), kind=("real floating", "integral")),
                    dtype=float)
    vel = np.zeros_like(p) if target_velocities_mps is None else np.asarray(
        check_array(target_velocities_mps, "target_velocities_mps", kind=("real floating", "integral")), dtype=float)
    if vel.shape != p.shape:
        raise ValueError(f"`target_velocities_mps` must have shape {p.shape}; got {vel.shape}.")
    rcs = _broadcast_param(rcs_m2, "rcs_m2", p.shape[:-1], ("real floating", "integral")).astype(float)
    if np.any(rcs < 0):
        raise ValueError(f"`rcs_m2` must be >= 0; got min {rcs.min():g}.")
    az, el, r = local_angles(p - bs, yaw_rad=bs_yaw_rad)
    radial_rate = np.sum(vel * (p - bs), axis=-1) / r    # dR/dt
    lam = SPEED_OF_LIGHT / fc
    tau = 2 * r / SPEED_OF_LIGHT
    amp = np.sqrt(lam**2 * rcs / ((4 * math.pi) ** 3 * r**4))
    gains = amp * (np.exp(-2j * math.pi * fc * tau) if carrier_phase else 1.0)
    return Paths(gains.astype(np.complex128), tau, -2 * radial_rate * fc / SPEED_OF_LIGHT,
                 az, el, az.copy(), el.copy())


def uplink_paths(user_positions_m, scatterer_positions_m, *, carrier_hz: float,
                 bs_position_m=(0.0, 0.0, 0.0), user_velocities_mps=None, visibility=None,
                 rcs_m2=1.0, los: bool | np.ndarray = True, bs_yaw_rad: float = 0.0,
                 carrier_phase: bool = True) -> Paths:
    r"""Single-bounce uplink paths user -> scatterer -> BS (plus the direct path).

    Parameters
    ----------
    user_positions_m : array, shape (n_users, 3)
    scatterer_positions_m : array, shape (n_scatterers, 3)
    visibility : bool array, shape (n_users, n_scatterers), optional
        Which scatterers each user illuminates (default all): the shared-support structure.
    los : bool or bool array (n_users,)
        Include the direct user -> BS path.
    user_velocities_mps : array, shape (n_users, 3), optional

    Returns
    -------
    Paths
        Batched over users, ``n_paths = n_scatterers + 1`` with the LoS path last (zero gain when
        absent, as are invisible scatterers). Delay :math:`(\lVert u-s\rVert + \lVert s-b\rVert)/c`;
        AoA at the BS towards the scatterer (or user); AoD at the user in the global frame;
        Doppler from the user's motion only: :math:`f_D = \frac{f_c}{c}\mathbf v^T(\mathbf s - \mathbf u)/\lVert \mathbf s - \mathbf u\rVert`;
        bistatic radar amplitude :math:`\sqrt{\lambda^2\sigma/((4\pi)^3 d_1^2 d_2^2)}`, Friis for LoS.

    Examples
    --------
    >>> import numpy as np
    >>> from channels import uplink_paths
    >>> users = np.array([[50.0, 10.0, 1.5], [60.0, -20.0, 1.5]])
    >>> scatterers = np.array([[30.0, 5.0, 5.0], [40.0, -15.0, 3.0], [70.0, 0.0, 8.0]])
    >>> visible = np.array([[True, False, True], [False, True, True]])      # shared support: scatterer 2
    >>> p = uplink_paths(users, scatterers, carrier_hz=3.5e9, bs_position_m=(0.0, 0.0, 10.0),
    ...                  visibility=visible)
    >>> p.batch_shape, p.n_paths                           # per user: 3 scatterers + LoS (last)
    ((2,), 4)
    >>> np.abs(p.gains) > 0
    array([[ True, False,  True,  True],
           [False,  True,  True,  True]])
    >>> bool(np.allclose(p.aoa_az_rad[0, :3], p.aoa_az_rad[1, :3]))  # AoA at the BS: per scatterer
    True
    """
    u = np.asarray(check_array(user_positions_m, "user_positions_m", ndim=2, kind=("real floating", "integral")),
                   dtype=float)
    s = np.asarray(check_array(scatterer_positions_m, "scatterer_positions_m", ndim=2,
                               kind=("real floating", "integral")), dtype=float)
    if u.shape[1] != 3 or s.shape[1] != 3:
        raise ValueError(f"positions must have 3 columns; got users {u.shape}, scatterers {s.shape}.")
    fc = check_float(carrier_hz, "carrier_hz", low=0.0, low_inclusive=False)
    bs = np.asarray(check_array(bs_position_m, "bs_position_m", shape=(3,), kind=("real floating", "integral")),
                    dtype=float)
    n_u, n_s = u.shape[0], s.shape[0]
    vis = np.ones((n_u, n_s), bool) if visibility is None else np.asarray(visibility)
    if vis.shape != (n_u, n_s) or vis.dtype != bool:
        raise ValueError(f"`visibility` must be a bool array of shape ({n_u}, {n_s}); got {vis.dtype} {vis.shape}.")
    vel = np.zeros_like(u) if user_velocities_mps is None else np.asarray(user_velocities_mps, dtype=float)
    if vel.shape != u.shape or not np.all(np.isfinite(vel)):
        raise ValueError(f"`user_velocities_mps` must be finite with shape {u.shape}; got {vel.shape}.")
    los_mask = _broadcast_param(los, "los", (n_u,), "bool")
    lam = SPEED_OF_LIGHT / fc

    d1_vec = s[None, :, :] - u[:, None, :]               # user -> scatterer
    d1 = np.linalg.norm(d1_vec, axis=-1)
    az_s, el_s, d2 = local_angles(s - bs, yaw_rad=bs_yaw_rad)
    if np.any(d1 == 0):
        raise ValueError("a scatterer coincides with a user position; move it.")
    az_u, el_u, d0 = local_angles(u - bs, yaw_rad=bs_yaw_rad)
    dep_az_s, dep_el_s, _ = local_angles(d1_vec)
    dep_az_u, dep_el_u, _ = local_angles(bs - u)

    tau = np.concatenate([(d1 + d2[None, :]) / SPEED_OF_LIGHT, d0[:, None] / SPEED_OF_LIGHT], axis=1)
    rate_s = np.sum(vel[:, None, :] * d1_vec, axis=-1) / d1            # +: moving towards scatterer
    rate_u = np.sum(vel * (bs - u), axis=-1) / d0
    fd = np.concatenate([rate_s, rate_u[:, None]], axis=1) * fc / SPEED_OF_LIGHT
    rcs = _broadcast_param(rcs_m2, "rcs_m2", (n_u, n_s), ("real floating", "integral")).astype(float)
    if np.any(rcs < 0):
        raise ValueError(f"`rcs_m2` must be >= 0; got min {rcs.min():g}.")
    amp_s = np.sqrt(lam**2 * rcs / ((4 * math.pi) ** 3 * d1**2 * d2[None, :] ** 2)) * vis
    amp_u = free_space_amplitude(d0, fc) * los_mask
    amp = np.concatenate([amp_s, amp_u[:, None]], axis=1)
    gains = amp * (np.exp(-2j * math.pi * fc * tau) if carrier_phase else 1.0)
    aoa_az = np.concatenate([np.broadcast_to(az_s, (n_u, n_s)), az_u[:, None]], axis=1)
    aoa_el = np.concatenate([np.broadcast_to(el_s, (n_u, n_s)), el_u[:, None]], axis=1)
    aod_az = np.concatenate([dep_az_s, dep_az_u[:, None]], axis=1)
    aod_el = np.concatenate([dep_el_s, dep_el_u[:, None]], axis=1)
    return Paths(gains.astype(np.complex128), tau, fd, aoa_az, aoa_el, aod_az, aod_el)

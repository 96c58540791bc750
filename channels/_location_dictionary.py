r"""The 3-D location-domain dictionary of the uplink multi-user channel and its analytic gradients.

Model (after A. Liu, W. Xu, W. Xu, G. Caire, arXiv:2502.00811, Sec. II, and the location-domain
channel model of W. Xu, Y. Xiao, A. Liu, M. Lei, M. Zhao, arXiv:2302.02587): a set of points
:math:`\mathbf r_q = \bar{\mathbf r}_q + \Delta\mathbf r_q`, :math:`q = 1..Q` (a dynamic position
grid) is shared by all users; user :math:`k`'s channel on subcarrier :math:`n` is

.. math::
    \mathbf h_{k,n} = \boldsymbol\Phi_{k,n}(\boldsymbol\xi)\,\mathbf x_k, \qquad
    [\boldsymbol\Phi_{k,n}]_{m,j} = [\mathbf a(\mathbf u_j)]_m\;e^{-j2\pi f_n\tau_{k,j}},

with :math:`\mathbf x_k` sparse (non-zero where a scatterer user :math:`k` illuminates sits) and the
columns :math:`j = 1..Q` for the grid points (single bounce,
:math:`\tau_{k,q} = (\lVert\mathbf p_k - \mathbf r_q\rVert + \lVert\mathbf r_q - \mathbf p_B\rVert)/c + \delta_k`,
:math:`\mathbf u_q = (\mathbf r_q - \mathbf p_B)/\lVert\mathbf r_q - \mathbf p_B\rVert`) followed, when
``los=True``, by one direct-path column per user (:math:`j = Q + k`, with
:math:`\tau = \lVert\mathbf p_k - \mathbf p_B\rVert/c + \delta_k` and :math:`\mathbf u` towards
:math:`\mathbf p_k`; it is zero in the dictionaries of the other users).
:math:`[\mathbf a(\mathbf u)]_m = \exp(j\frac{2\pi}{\lambda}\mathbf d_m^T\mathbf u)` (narrowband, the
package's steering convention), :math:`\boldsymbol\xi = \{\Delta\mathbf r_q, \delta_k, \mathbf p_k\}`.

The dictionary is stored in factored form: :math:`\boldsymbol\Phi_{k,n} = \mathbf A\,
\mathrm{diag}(\mathbf D_{k,n,:})` with the steering matrix :math:`\mathbf A` (M x J) shared by all
users and the delay factors :math:`\mathbf D` (K x N x J). Products, Gram matrices and matched
filters then cost :math:`\mathcal O(MNJ)` or less, and the dense tensor (``dense``) is only built
for small problems and tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sensing import (
    HostCopy,
    SPEED_OF_LIGHT,
    Array,
    ArrayGeometry,
    asarray_like,
    check_array,
    check_bool,
    check_float,
    get_xp,
    is_numpy_array,
    is_numpy_namespace,
    to_numpy,
)

__all__ = ["LocationDictionary", "location_dictionary", "uniform_location_grid"]


@dataclass(frozen=True)
class LocationDictionary(HostCopy):
    r"""Factored location-domain dictionary, optionally with its gradients.

    Attributes
    ----------
    steering : array, shape (n_antennas, n_columns), complex
        :math:`\mathbf A`; columns ``0..n_grid-1`` for the grid points, then one per user (LoS).
    delay : array, shape (n_users, n_subcarriers, n_columns), complex
        :math:`D_{k,n,j} = e^{-j2\pi f_n\tau_{k,j}}` (zero for the other users' LoS columns).
    allowed : ndarray of bool, shape (n_users, n_columns)
        Which columns belong to each user's dictionary (host array).
    n_grid : int
        :math:`Q`, the number of grid points.
    d_steering : array, shape (n_antennas, n_columns, 3), complex, or None
        :math:`\partial\mathbf A_{:,j}/\partial\mathbf r_j` [1/m]: with respect to the grid point
        for grid columns, to the user position :math:`\mathbf p_k` for the LoS column of user k.
    d_delay_d_grid : array, shape (n_users, n_subcarriers, n_grid, 3), complex, or None
        :math:`\partial D_{k,n,q}/\partial\mathbf r_q` [1/m].
    d_delay_d_user : array, shape (n_users, n_subcarriers, n_columns, 3), complex, or None
        :math:`\partial D_{k,n,j}/\partial\mathbf p_k` [1/m].
    d_delay_d_offset : array, shape (n_users, n_subcarriers, n_columns), complex, or None
        :math:`\partial D_{k,n,j}/\partial\delta_k` [1/s].
    """

    steering: Array
    delay: Array
    allowed: np.ndarray
    n_grid: int
    d_steering: Array | None = None
    d_delay_d_grid: Array | None = None
    d_delay_d_user: Array | None = None
    d_delay_d_offset: Array | None = None

    @property
    def n_users(self) -> int:
        return int(self.delay.shape[0])

    @property
    def n_columns(self) -> int:
        return int(self.steering.shape[1])

    def dense(self, user: int) -> Array:
        r"""Dense dictionary of one user, shape (n_antennas, n_subcarriers, n_columns):
        ``out[m, n, j]`` :math:`= [\boldsymbol\Phi_{k,n}]_{m,j}` (small problems and tests only)."""
        k = int(user)
        if not 0 <= k < self.n_users:
            raise ValueError(f"`user` must be in [0, {self.n_users - 1}]; got {user}.")
        return self.steering[:, None, :] * self.delay[k][None, :, :]


def _param(x, name, xp, shape):
    """A small parameter array in namespace ``xp`` (host arrays are moved explicitly)."""
    if is_numpy_array(x) or isinstance(x, (list, tuple)):
        arr = np.asarray(check_array(x, name, shape=shape, kind=("real floating", "integral")), dtype=np.float64)
        return asarray_like(arr, xp, dtype=xp.float64)
    arr = check_array(x, name, shape=shape, kind=("real floating", "integral"), xp=get_xp(x))
    if get_xp(arr) is not xp and not (is_numpy_namespace(get_xp(arr)) and is_numpy_namespace(xp)):
        raise TypeError(f"`{name}` must be a NumPy array or live in the namespace of `grid_m`; "
                        f"got {type(x).__module__}.{type(x).__name__}.")
    return xp.astype(arr, xp.float64)


def _norm(v, xp):
    return xp.sqrt(xp.sum(v * v, axis=-1))


def location_dictionary(grid_m, *, user_positions_m, time_offsets_s, bs_array: ArrayGeometry,
                        wavelength_m: float, frequencies_hz, bs_position_m=(0.0, 0.0, 0.0),
                        los: bool = True, gradients: bool = False) -> LocationDictionary:
    r"""Build :math:`\boldsymbol\Phi_{k,n}(\boldsymbol\xi)` (factored) and optionally its gradients.

    Parameters
    ----------
    grid_m : array, shape (n_grid, 3), real
        Grid points :math:`\mathbf r_q = \bar{\mathbf r}_q + \Delta\mathbf r_q` [m] (global frame).
        Its namespace (NumPy, CuPy) is the namespace of the result.
    user_positions_m : array, shape (n_users, 3)
        User positions :math:`\mathbf p_k` used by the model [m] (nominal + current error estimate).
    time_offsets_s : array, shape (n_users,)
        Clock offsets :math:`\delta_k` [s].
    bs_array : ArrayGeometry
        BS array, element positions :math:`\mathbf d_m` relative to ``bs_position_m``.
    wavelength_m : float
        Carrier wavelength :math:`\lambda` [m] (narrowband steering).
    frequencies_hz : array, shape (n_subcarriers,)
        Baseband subcarrier frequencies :math:`f_n` [Hz].
    bs_position_m : 3-vector, default=(0, 0, 0)
    los : bool, default=True
        Append one direct-path column per user.
    gradients : bool, default=False
        Also return the derivatives (see :class:`LocationDictionary`).

    Returns
    -------
    LocationDictionary

    Raises
    ------
    ValueError
        On an empty grid, a grid point or user at the BS or a grid point at a user (zero distance,
        undefined direction), or non-finite input.

    Examples
    --------
    >>> import numpy as np
    >>> from channels import location_dictionary, uniform_location_grid
    >>> from sensing import Numerology, upa
    >>> num = Numerology(28e9, 120e3, 16, 1)
    >>> grid = uniform_location_grid(((20.0, -10.0, 0.0), (40.0, 10.0, 0.0)), 5.0)   # 16 points
    >>> d = location_dictionary(grid, user_positions_m=np.array([[30.0, 15.0, -10.0], [35.0, -15.0, -10.0]]),
    ...                         time_offsets_s=np.zeros(2), bs_array=upa(2, 4, num.wavelength_m / 2),
    ...                         wavelength_m=num.wavelength_m, frequencies_hz=num.subcarrier_frequencies_hz,
    ...                         gradients=True)
    >>> d.n_grid, d.n_users, d.n_columns, d.steering.shape, d.delay.shape   # 16 grid + 2 LoS columns
    (16, 2, 18, (8, 18), (2, 16, 18))
    >>> d.allowed[:, 16:]                                  # each user owns its LoS column
    array([[ True, False],
           [False,  True]])
    >>> d.dense(0).shape, d.d_steering.shape               # (antennas, subcarriers, columns)
    ((8, 16, 18), (8, 18, 3))
    """
    xp = get_xp(grid_m)
    if not isinstance(bs_array, ArrayGeometry):
        raise TypeError(f"`bs_array` must be an ArrayGeometry; got {type(bs_array).__name__}.")
    r = check_array(grid_m, "grid_m", ndim=2, kind=("real floating",), xp=xp)
    if r.shape[1] != 3:
        raise ValueError(f"`grid_m` must have shape (n_grid, 3); got {tuple(r.shape)}.")
    if r.shape[0] == 0:
        raise ValueError("`grid_m` must hold at least one grid point; got an empty grid (shape (0, 3)). "
                         "Widen the search region or refine the grid spacing.")
    r = xp.astype(r, xp.float64)
    n_users = int(np.shape(to_numpy(user_positions_m))[0]) if not hasattr(user_positions_m, "shape") \
        else int(user_positions_m.shape[0])
    p = _param(user_positions_m, "user_positions_m", xp, (n_users, 3))
    dlt = _param(time_offsets_s, "time_offsets_s", xp, (n_users,))
    f = _param(frequencies_hz, "frequencies_hz", xp, (None,))
    if f.shape[0] == 0:
        raise ValueError("`frequencies_hz` must hold at least one subcarrier; got none.")
    pb = _param(bs_position_m, "bs_position_m", xp, (3,))
    lam = check_float(wavelength_m, "wavelength_m", low=0.0, low_inclusive=False)
    los = check_bool(los, "los")
    gradients = check_bool(gradients, "gradients")
    if n_users < 1:
        raise ValueError("`user_positions_m` must hold at least one user; got none.")

    c = SPEED_OF_LIGHT
    kw = 2 * math.pi / lam
    pos = asarray_like(bs_array.positions_m, xp, dtype=xp.float64)          # (M, 3)
    n_q = int(r.shape[0])

    vb = r - pb                                                              # (Q, 3)
    rb = _norm(vb, xp)
    vk = r[None, :, :] - p[:, None, :]                                       # (K, Q, 3)
    rk = _norm(vk, xp)
    if bool(xp.any(rb == 0)) or bool(xp.any(rk == 0)):
        raise ValueError("a grid point coincides with the BS or a user (zero distance); move the grid.")
    u = vb / rb[:, None]
    tau = (rk + rb[None, :]) / c + dlt[:, None]                             # (K, Q)
    dirs, dists, taus = [u], [rb], [tau]
    mask = xp.ones((n_users, n_q), dtype=xp.float64)
    if los:
        v0 = p - pb                                                          # (K, 3)
        r0 = _norm(v0, xp)
        if bool(xp.any(r0 == 0)):
            raise ValueError("a user coincides with the BS (zero distance); move it.")
        dirs.append(v0 / r0[:, None])
        dists.append(r0)
        eye = xp.eye(n_users, dtype=xp.float64)
        taus.append(eye * (r0 / c + dlt)[:, None])                          # only the diagonal is used
        mask = xp.concat([mask, eye], axis=1)
    u_all = xp.concat(dirs, axis=0)                                          # (J, 3)
    r_all = xp.concat(dists, axis=0)                                         # (J,)
    tau_all = xp.concat(taus, axis=1)                                        # (K, J)
    ph = kw * (u_all @ pos.T)                                                # (J, M)
    steer = xp.exp(1j * xp.astype(ph.T, xp.complex128))                     # (M, J)
    arg = -2 * math.pi * f[None, :, None] * tau_all[:, None, :]              # (K, N, J)
    delay = xp.exp(1j * xp.astype(arg, xp.complex128)) * xp.astype(mask, xp.complex128)[:, None, :]
    allowed = to_numpy(mask).astype(bool)
    if not gradients:
        return LocationDictionary(steer, delay, allowed, n_q)

    # d a_m / d r = j k a_m (I - u u^T) d_m / R   (per column; wrt the grid point or the user)
    proj = pos[None, :, :] - (u_all @ pos.T)[:, :, None] * u_all[:, None, :]  # (J, M, 3)
    dsteer = (1j * kw) * steer[:, :, None] * xp.astype(
        xp.permute_dims(proj, (1, 0, 2)) / r_all[None, :, None], xp.complex128)  # (M, J, 3)
    dd_dtau = (-2j * math.pi) * xp.astype(f, xp.complex128)[None, :, None] * delay     # (K, N, J)
    dtau_dr = (vk / rk[:, :, None] + u[None, :, :]) / c                      # (K, Q, 3)
    dd_grid = dd_dtau[:, :, :n_q, None] * xp.astype(dtau_dr, xp.complex128)[:, None, :, :]
    dtau_dp = -vk / rk[:, :, None] / c                                       # (K, Q, 3)
    if los:
        eye3 = xp.eye(n_users, dtype=xp.float64)[:, :, None] * (dirs[1] / c)[:, None, :]  # (K, K, 3)
        dtau_dp = xp.concat([dtau_dp, eye3], axis=1)                         # (K, J, 3)
    dd_user = dd_dtau[:, :, :, None] * xp.astype(dtau_dp, xp.complex128)[:, None, :, :]
    return LocationDictionary(steer, delay, allowed, n_q, dsteer, dd_grid, dd_user, dd_dtau)


def uniform_location_grid(region_m, spacing_m) -> np.ndarray:
    r"""Points of a uniform 3-D grid filling an axis-aligned box (host array).

    Parameters
    ----------
    region_m : pair of 3-vectors
        ``(min_corner, max_corner)`` [m].
    spacing_m : float or 3-vector
        Grid spacing per axis [m]; an axis of zero extent gets one layer.

    Returns
    -------
    ndarray, shape (n_points, 3)
        Cell centres in C order over (x, y, z) (z varies fastest).

    Examples
    --------
    >>> from channels import uniform_location_grid
    >>> g = uniform_location_grid(((0.0, 0.0, 1.5), (10.0, 4.0, 1.5)), 2.0)   # flat box: one z layer
    >>> g.shape
    (10, 3)
    >>> g[:3]                                              # cell centres, z fastest, then y
    array([[1. , 1. , 1.5],
           [1. , 3. , 1.5],
           [3. , 1. , 1.5]])
    """
    box = np.asarray(check_array(region_m, "region_m", shape=(2, 3), kind=("real floating", "integral")),
                     dtype=float)
    if np.any(box[1] < box[0]):
        raise ValueError(f"`region_m` must be (min_corner, max_corner) with min <= max; got {box.tolist()}.")
    sp = np.broadcast_to(np.asarray(spacing_m, dtype=float), (3,))
    if np.any(~np.isfinite(sp)) or np.any(sp <= 0):
        raise ValueError(f"`spacing_m` must be finite and > 0; got {np.asarray(spacing_m).tolist()}.")
    axes = []
    for i in range(3):
        ext = box[1, i] - box[0, i]
        n = max(1, int(math.floor(ext / sp[i] + 1e-9)))
        axes.append(box[0, i] + (np.arange(n) + 0.5) * ext / n if ext > 0 else np.array([box[0, i]]))
    g = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    return g.reshape(-1, 3)

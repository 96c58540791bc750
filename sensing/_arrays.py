r"""Antenna array geometries, steering vectors and their angle derivatives.

Angle convention (used everywhere in the package)
-------------------------------------------------
Global frame: :math:`x` is the array boresight, :math:`y` points left, :math:`z` up. A direction
is given by azimuth :math:`\phi` (from :math:`+x` towards :math:`+y`, radians, in
:math:`(-\pi, \pi]`) and elevation :math:`\vartheta` (from the :math:`xy` plane towards
:math:`+z`, radians, in :math:`[-\pi/2, \pi/2]`); its unit vector is

.. math::
    \mathbf u(\phi, \vartheta) = [\cos\vartheta\cos\phi,\ \cos\vartheta\sin\phi,\ \sin\vartheta]^T .

Arrays lie in the :math:`yz` plane by default: a ULA along :math:`y`, a UPA with columns along
:math:`y` and rows along :math:`z`. So **broadside is azimuth 0** (as in MATLAB's Phased Array
Toolbox), and the ULA spatial frequency is :math:`\mu = 2\pi\frac{d}{\lambda}\sin\phi\cos\vartheta`.
Papers that measure the angle :math:`\theta` from the array axis (e.g. PLAIN, Tahir, Svoboda,
Rupp, arXiv:2503.21242) use :math:`\theta = \pi/2 - \phi`.

The steering vector of element :math:`m` at position :math:`\mathbf p_m` for a plane wave
arriving from :math:`\mathbf u` is :math:`a_m = \exp(+j\tfrac{2\pi}{\lambda}\mathbf p_m^T\mathbf u)`;
the first element of the built-in geometries sits at the origin (phase reference), so a ULA
steering vector is the Vandermonde vector :math:`[1, e^{j\mu}, \dots, e^{j(M-1)\mu}]^T`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._backend import Array, asarray_like, get_xp
from ._validation import check_array, check_float, check_int

__all__ = [
    "ArrayGeometry",
    "ula",
    "upa",
    "custom_array",
    "unit_vector",
    "steering_vector",
    "steering_from_directions",
    "steering_derivatives",
    "ula_spatial_frequency",
]


@dataclass(frozen=True)
class ArrayGeometry:
    """Element positions of an antenna array.

    Attributes
    ----------
    positions_m : ndarray, shape (n_elements, 3), float64
        Element positions [m] in the global frame (host memory).
    kind : {"ula", "upa", "custom"}
        The structure, which subspace estimators exploit (shift invariance).
    shape : tuple of int
        ``(n,)`` for a ULA, ``(n_rows, n_cols)`` for a UPA (elements ordered column index
        fastest: element ``m = row * n_cols + col``), ``(n,)`` for custom arrays.
    spacing_m : tuple of float
        ``(d,)`` for a ULA, ``(d_row, d_col)`` (vertical z, horizontal y) for a UPA, ``()`` otherwise.

    Examples
    --------
    >>> from sensing import ula, upa
    >>> g = upa(2, 4, 0.5)                                 # made by ula / upa / custom_array
    >>> g.kind, g.shape, g.spacing_m, g.n_elements
    ('upa', (2, 4), (0.5, 0.5), 8)
    >>> round(ula(4, 0.5).aperture_m(), 3)                 # largest element distance [m]
    1.5
    """

    positions_m: np.ndarray = field(repr=False)
    kind: str = "custom"
    shape: tuple[int, ...] = ()
    spacing_m: tuple[float, ...] = ()

    @property
    def n_elements(self) -> int:
        return int(self.positions_m.shape[0])

    def aperture_m(self) -> float:
        """Largest distance between two elements [m]."""
        p = self.positions_m
        d = p[:, None, :] - p[None, :, :]
        return float(np.sqrt((d**2).sum(-1)).max())


def ula(n_elements: int, spacing_m: float, *, axis: str = "y") -> ArrayGeometry:
    """Uniform linear array with element 0 at the origin.

    Parameters
    ----------
    n_elements : int
        Number of elements :math:`M \\ge 1`.
    spacing_m : float
        Inter-element spacing :math:`d` [m] (half a wavelength is ``wavelength_m / 2``).
    axis : {"y", "x", "z"}, default="y"
        Axis the array lies on. ``"y"`` gives the package's convention (broadside = azimuth 0).

    Examples
    --------
    >>> from sensing import ula
    >>> g = ula(4, 0.5)                                  # 4 elements, 0.5 m apart, along y
    >>> g.positions_m.shape
    (4, 3)
    """
    n = check_int(n_elements, "n_elements", low=1)
    d = check_float(spacing_m, "spacing_m", low=0.0, low_inclusive=False)
    if axis not in ("x", "y", "z"):
        raise ValueError(f"`axis` must be one of 'x', 'y', 'z'; got {axis!r}.")
    pos = np.zeros((n, 3))
    pos[:, "xyz".index(axis)] = d * np.arange(n)
    return ArrayGeometry(pos, "ula", (n,), (d,))


def upa(n_rows: int, n_cols: int, spacing_m: float, *, col_spacing_m: float | None = None) -> ArrayGeometry:
    """Uniform planar array in the :math:`yz` plane, element (0, 0) at the origin.

    Columns run along :math:`+y` (horizontal, azimuth), rows along :math:`+z` (vertical,
    elevation). Element index ``m = row * n_cols + col``.

    Parameters
    ----------
    n_rows, n_cols : int
        Numbers of rows (vertical) and columns (horizontal).
    spacing_m : float
        Row spacing [m] (vertical); also the column spacing unless ``col_spacing_m`` is given.
    col_spacing_m : float, optional
        Column spacing [m] (horizontal).

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import upa
    >>> g = upa(2, 3, 0.5, col_spacing_m=0.25)             # 2 rows (z, 0.5 m), 3 columns (y, 0.25 m)
    >>> g.shape, g.spacing_m
    ((2, 3), (0.5, 0.25))
    >>> g.positions_m[[0, 1, 3]]                           # elements (0, 0), (0, 1), (1, 0)
    array([[0.  , 0.  , 0.  ],
           [0.  , 0.25, 0.  ],
           [0.  , 0.  , 0.5 ]])
    """
    nr = check_int(n_rows, "n_rows", low=1)
    nc = check_int(n_cols, "n_cols", low=1)
    dr = check_float(spacing_m, "spacing_m", low=0.0, low_inclusive=False)
    dc = dr if col_spacing_m is None else check_float(col_spacing_m, "col_spacing_m", low=0.0,
                                                       low_inclusive=False)
    r, c = np.meshgrid(np.arange(nr), np.arange(nc), indexing="ij")
    pos = np.zeros((nr * nc, 3))
    pos[:, 1] = dc * c.ravel()
    pos[:, 2] = dr * r.ravel()
    return ArrayGeometry(pos, "upa", (nr, nc), (dr, dc))


def custom_array(positions_m) -> ArrayGeometry:
    """Array with arbitrary 3-D element positions, shape (n_elements, 3) [m].

    Examples
    --------
    >>> from sensing import custom_array
    >>> g = custom_array([[0, 0, 0], [0, 0.5, 0], [0, 0, 0.5]])   # an L-shaped 3-element array
    >>> g.kind, g.n_elements, round(g.aperture_m(), 3)
    ('custom', 3, 0.707)
    >>> custom_array([[0.0, 0.0]])
    Traceback (most recent call last):
        ...
    ValueError: `positions_m` must have shape (n_elements >= 1, 3); got shape (1, 2).
    """
    p = check_array(positions_m, "positions_m", ndim=2, kind=("real floating", "integral"))
    p = np.asarray(p, dtype=np.float64)
    if p.shape[1] != 3 or p.shape[0] < 1:
        raise ValueError(f"`positions_m` must have shape (n_elements >= 1, 3); got shape {p.shape}.")
    return ArrayGeometry(p.copy(), "custom", (p.shape[0],), ())


def unit_vector(azimuth_rad: Array, elevation_rad: Array | float = 0.0) -> Array:
    """Unit direction vectors, shape ``broadcast(az, el).shape + (3,)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import unit_vector
    >>> np.round(unit_vector(np.array([0.0, np.pi / 2]), 0.0), 3) + 0.0    # +x and +y
    array([[1., 0., 0.],
           [0., 1., 0.]])
    >>> unit_vector(np.zeros((2, 5)), np.zeros(5)).shape
    (2, 5, 3)
    """
    xp = get_xp(azimuth_rad, elevation_rad)
    az = check_array(azimuth_rad, "azimuth_rad", kind=("real floating", "integral"), xp=xp) \
        if hasattr(azimuth_rad, "shape") else xp.asarray(check_float(azimuth_rad, "azimuth_rad"), dtype=xp.float64)
    if not xp.isdtype(az.dtype, "real floating"):
        az = xp.astype(az, xp.float64)
    el = xp.asarray(check_float(elevation_rad, "elevation_rad"), dtype=az.dtype) \
        if not hasattr(elevation_rad, "shape") else check_array(elevation_rad, "elevation_rad",
                                                                kind=("real floating", "integral"), xp=xp)
    if el.dtype != az.dtype:
        el = xp.astype(el, az.dtype)
    try:
        az, el = xp.broadcast_arrays(az, el)
    except ValueError as exc:
        raise ValueError(f"`azimuth_rad` {tuple(az.shape)} and `elevation_rad` {tuple(el.shape)} must "
                         "broadcast together.") from exc
    ce = xp.cos(el)
    return xp.stack([ce * xp.cos(az), ce * xp.sin(az), xp.sin(el)], axis=-1)


def _positions_in(geometry: ArrayGeometry, xp, dtype):
    return asarray_like(geometry.positions_m, xp, dtype=dtype)


def _angles_iv(geometry, azimuth_rad, elevation_rad, wavelength_m):
    if not isinstance(geometry, ArrayGeometry):
        raise TypeError(f"`geometry` must be an ArrayGeometry (sensing.ula/upa/custom_array); "
                        f"got {type(geometry).__name__}.")
    check_float(wavelength_m, "wavelength_m", low=0.0, low_inclusive=False)
    xp = get_xp(azimuth_rad, elevation_rad if hasattr(elevation_rad, "shape") else None)
    az = check_array(azimuth_rad, "azimuth_rad", kind="real floating", xp=xp) \
        if hasattr(azimuth_rad, "shape") else xp.asarray(float(check_float(azimuth_rad, "azimuth_rad")))
    if hasattr(elevation_rad, "shape"):
        el = check_array(elevation_rad, "elevation_rad", kind="real floating", xp=xp)
    else:
        el = xp.asarray(check_float(elevation_rad, "elevation_rad"), dtype=az.dtype)
    az, el = xp.broadcast_arrays(az, el)
    return xp, az, el


def steering_vector(geometry: ArrayGeometry, azimuth_rad, elevation_rad=0.0, *,
                    wavelength_m: float) -> Array:
    r"""Steering vectors :math:`\mathbf a(\phi, \vartheta)` as columns.

    Parameters
    ----------
    geometry : ArrayGeometry
        The array (:func:`ula`, :func:`upa`, :func:`custom_array`).
    azimuth_rad : float or array, shape (..., n_dirs)
        Azimuth :math:`\phi` [rad]; broadside of the built-in arrays is 0.
    elevation_rad : float or array broadcastable with ``azimuth_rad``, default=0
        Elevation :math:`\vartheta` [rad].
    wavelength_m : float
        Carrier wavelength :math:`\lambda` [m].

    Returns
    -------
    array, shape (..., n_elements, n_dirs), complex
        :math:`[\mathbf a]_m = \exp(j\frac{2\pi}{\lambda}\mathbf p_m^T\mathbf u(\phi, \vartheta))`, in the
        namespace of the angles; complex128 for float64 angles, complex64 for float32.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import steering_vector, ula
    >>> a = steering_vector(ula(4, 0.5), np.array([0.0, 0.5]), wavelength_m=1.0)
    >>> a.shape, bool(np.allclose(np.abs(a), 1.0))       # (elements, directions), unit modulus
    ((4, 2), True)
    >>> np.round(a[:, 0], 3)                             # broadside: all in phase
    array([1.+0.j, 1.+0.j, 1.+0.j, 1.+0.j])
    """
    xp, az, el = _angles_iv(geometry, azimuth_rad, elevation_rad, wavelength_m)
    return steering_from_directions(geometry, unit_vector(az, el), wavelength_m=wavelength_m)


def steering_from_directions(geometry: ArrayGeometry, directions, *, wavelength_m: float) -> Array:
    r"""Steering vectors from unit direction vectors (or direction cosines).

    Parameters
    ----------
    directions : array, shape (..., n_dirs, 3), real
        Unit vectors :math:`\mathbf u` pointing from the array towards the sources. For arrays in
        the :math:`yz` plane only the direction cosines :math:`(u_y, u_z)` matter.

    Returns
    -------
    array, shape (..., n_elements, n_dirs), complex

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import steering_from_directions, steering_vector, unit_vector, ula
    >>> g = ula(4, 0.5)
    >>> az = np.array([-0.3, 0.2])
    >>> a = steering_from_directions(g, unit_vector(az), wavelength_m=1.0)
    >>> a.shape, bool(np.allclose(a, steering_vector(g, az, wavelength_m=1.0)))
    ((4, 2), True)
    """
    xp = get_xp(directions)
    u = check_array(directions, "directions", kind="real floating", min_ndim=1, xp=xp)
    if u.shape[-1] != 3:
        raise ValueError(f"`directions` must have a last axis of length 3; got shape {tuple(u.shape)}.")
    lam = check_float(wavelength_m, "wavelength_m", low=0.0, low_inclusive=False)
    if u.ndim == 1:
        u = u[None, :]
    pos = _positions_in(geometry, xp, u.dtype)
    # (..., n_dirs, 3) @ (3, M) -> (..., n_dirs, M) -> swap to (..., M, n_dirs)
    phase = (2 * np.pi / lam) * (u @ pos.T)
    phase = xp.moveaxis(phase, -1, -2) if hasattr(xp, "moveaxis") else xp.permute_dims(
        phase, tuple(range(phase.ndim - 2)) + (phase.ndim - 1, phase.ndim - 2))
    cdt = xp.complex64 if phase.dtype == xp.float32 else xp.complex128
    return xp.exp(1j * xp.astype(phase, cdt))


def steering_derivatives(geometry: ArrayGeometry, azimuth_rad, elevation_rad=0.0, *,
                         wavelength_m: float) -> tuple[Array, Array]:
    r"""Derivatives of the steering vectors with respect to azimuth and elevation.

    Returns
    -------
    d_az, d_el : array, shape (..., n_elements, n_dirs), complex
        :math:`\partial\mathbf a/\partial\phi = j\frac{2\pi}{\lambda}(\mathbf P\,\partial\mathbf u/\partial\phi)\circ\mathbf a`
        and likewise for :math:`\vartheta` [per rad].

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import steering_derivatives, steering_vector, ula
    >>> g, az = ula(4, 0.5), np.array([0.3])
    >>> d_az, d_el = steering_derivatives(g, az, wavelength_m=1.0)
    >>> d_az.shape, d_el.shape
    ((4, 1), (4, 1))
    >>> h = 1e-6                                           # agrees with a finite difference
    >>> fd = (steering_vector(g, az + h, wavelength_m=1.0) - steering_vector(g, az - h, wavelength_m=1.0)) / (2 * h)
    >>> bool(np.allclose(d_az, fd, atol=1e-6))
    True
    """
    xp, az, el = _angles_iv(geometry, azimuth_rad, elevation_rad, wavelength_m)
    a = steering_from_directions(geometry, unit_vector(az, el), wavelength_m=wavelength_m)
    ce, se, ca, sa = xp.cos(el), xp.sin(el), xp.cos(az), xp.sin(az)
    zero = xp.zeros_like(az)
    du_daz = xp.stack([-ce * sa, ce * ca, zero], axis=-1)
    du_del = xp.stack([-se * ca, -se * sa, ce], axis=-1)
    pos = _positions_in(geometry, xp, az.dtype)
    k = 2 * np.pi / float(wavelength_m)
    cdt = a.dtype

    def dphase(du):
        p = k * (du @ pos.T)  # (..., n_dirs, M)
        if p.ndim == 1:
            p = p[None, :]
        p = xp.moveaxis(p, -1, -2) if hasattr(xp, "moveaxis") else xp.permute_dims(
            p, tuple(range(p.ndim - 2)) + (p.ndim - 1, p.ndim - 2))
        return 1j * xp.astype(p, cdt) * a

    return dphase(du_daz), dphase(du_del)


def ula_spatial_frequency(azimuth_rad, *, spacing_m: float, wavelength_m: float,
                          elevation_rad=0.0) -> Array:
    r"""Spatial frequency :math:`\mu = 2\pi\frac{d}{\lambda}\sin\phi\cos\vartheta` of a ULA on :math:`y` [rad/element].

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import ula_spatial_frequency
    >>> np.round(ula_spatial_frequency(np.array([0.0, np.pi / 6]), spacing_m=0.5, wavelength_m=1.0), 4)
    array([0.    , 1.5708])
    """
    d = check_float(spacing_m, "spacing_m", low=0.0, low_inclusive=False)
    lam = check_float(wavelength_m, "wavelength_m", low=0.0, low_inclusive=False)
    xp = get_xp(azimuth_rad, elevation_rad if hasattr(elevation_rad, "shape") else None)
    az = xp.asarray(azimuth_rad)
    return 2 * np.pi * d / lam * xp.sin(az) * xp.cos(
        xp.asarray(elevation_rad, dtype=az.dtype) if not hasattr(elevation_rad, "shape") else elevation_rad)

r"""Cramér–Rao bounds for the PLAIN signal model (Tahir, Svoboda, Rupp, arXiv:2503.21242).

Deterministic single-snapshot model on the **uncompressed** grid, one common reference for every
compression setting:

.. math::
    \mathrm{vec}(\mathcal H) = \mathbf G\mathbf s + \mathrm{vec}(\mathcal N),\qquad
    \mathbf G = \mathbf V\odot\mathbf D\odot\mathbf A,\qquad
    \mathcal N \sim \mathcal{CN}(0, \sigma^2\mathbf I),

with :math:`[\mathbf A]_{r,p} = e^{j2\pi\frac{d_a}{\lambda}r\sin\phi_p}` (package convention),
:math:`[\mathbf D]_{k,p} = e^{-j2\pi f_k d_p/c}` and :math:`[\mathbf V]_{t,p} = e^{j2\pi f_c v_p tT_O/c}`.
Every Gram block is a Hadamard product of small :math:`P\times P` factor Grams
(:math:`(\mathbf X_1\odot\mathbf X_2)^H(\mathbf Y_1\odot\mathbf Y_2) = \mathbf X_1^H\mathbf Y_1\circ\mathbf X_2^H\mathbf Y_2`),
so :math:`\mathbf G` is never formed.

Two bounds, labelled everywhere they appear:

* :func:`crb_plain_per_dimension` — **the bound of PLAIN's reference code** (Van Trees,
  *Optimum Array Processing*, eq. 8.110): per dimension, the other dimensions' parameters known,
  source powers diagonal (the cross terms of :math:`\mathbf s\mathbf s^H` dropped). Slightly
  optimistic.
* :func:`crb_plain_joint` — **the exact deterministic single-snapshot bound** with all
  :math:`3P` parameters and the complex gains unknown (the default for new experiments).

Units: azimuth [rad²] (PLAIN's angle from the array axis :math:`\theta = \pi/2 - \phi` has the same
variance; the reference code reports deg²), path length [m²], velocity [(m/s)²]. PLAIN's reference
code has a km/m slip in the delay derivative (``main.m`` uses ``Distances*1000/c`` with distances
already in metres); this module uses :math:`d/c`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from channels import Paths
from sensing import (
    SPEED_OF_LIGHT,
    Array,
    ArrayGeometry,
    HostCopy,
    Numerology,
    asarray_like,
    check_array,
    get_xp,
)

__all__ = ["PlainCrb", "crb_plain_per_dimension", "crb_plain_joint"]

_LABELS = {
    "per_dimension": "per-dimension deterministic CRB of PLAIN's reference code (other dimensions known, "
                     "diagonal source powers; Van Trees eq. 8.110)",
    "joint": "joint deterministic single-snapshot CRB (all angles, path lengths, velocities and complex gains unknown)",
}


@dataclass(frozen=True)
class PlainCrb(HostCopy):
    r"""Per-path Cramér–Rao bounds (variances) for azimuth, path length and velocity.

    Attributes
    ----------
    kind : {"per_dimension", "joint"}
    label : str
        Human-readable description of the bound (use it in legends).
    azimuth_rad2 : array, shape batch + (n_paths,)
        Bound on :math:`\mathrm{var}(\hat\phi_p)` [rad²].
    distance_m2 : array, shape batch + (n_paths,)
        Bound on :math:`\mathrm{var}(\hat d_p)` [m²] (one-way path length).
    velocity_m2ps2 : array, shape batch + (n_paths,)
        Bound on :math:`\mathrm{var}(\hat v_p)` [(m/s)²].
    covariance : array, shape batch + (3 n_paths, 3 n_paths), or None
        Joint bound only: :math:`\mathbf F^{-1}`, parameters ordered (all azimuths, all path
        lengths, all velocities).
    """

    kind: str
    label: str
    azimuth_rad2: Array
    distance_m2: Array
    velocity_m2ps2: Array
    covariance: Array | None = None

    def rmse(self) -> tuple[Array, Array, Array]:
        r""":math:`\sqrt{\mathrm{mean}_p\,\mathrm{CRB}_{pp}}` per dimension (compare with an RMSE averaged over paths)."""
        xp = get_xp(self.azimuth_rad2)
        return tuple(xp.sqrt(xp.mean(v, axis=-1)) for v in (self.azimuth_rad2, self.distance_m2, self.velocity_m2ps2))


def _crb_iv(paths, geometry, numerology, noise_variance):
    if not isinstance(paths, Paths):
        raise TypeError(f"`paths` must be a channels.Paths; got {type(paths).__name__}.")
    if not isinstance(geometry, ArrayGeometry) or geometry.kind != "ula":
        raise TypeError("`geometry` must be a sensing.ArrayGeometry of kind 'ula' (sensing.ula); "
                        f"got {getattr(geometry, 'kind', type(geometry).__name__)!r}.")
    if not isinstance(numerology, Numerology):
        raise TypeError(f"`numerology` must be a sensing.Numerology; got {type(numerology).__name__}.")
    xp = get_xp(paths.gains)
    nv = noise_variance
    if isinstance(nv, (int, float, np.floating, np.integer)) and not isinstance(nv, bool):
        if not (math.isfinite(float(nv)) and float(nv) > 0):
            raise ValueError(f"`noise_variance` must be finite and > 0; got {nv!r}.")
        nv = asarray_like(np.full(paths.batch_shape, float(nv)), xp, dtype=xp.float64)
    else:
        nv = check_array(nv, "noise_variance", kind=("real floating",), xp=xp)
        if bool(xp.any(nv <= 0)):
            raise ValueError("`noise_variance` must be > 0 everywhere; got a non-positive value.")
        nv = xp.broadcast_to(nv, paths.batch_shape)
    if paths.n_paths < 1:
        raise ValueError("`paths` must hold at least one path; got 0.")
    return xp, nv


def _factors(xp, paths, geometry, numerology):
    """Factor matrices and their derivatives (batch + (N_m, P)) w.r.t. azimuth, path length, velocity."""
    cdt = xp.complex128
    lam = numerology.wavelength_m
    d_a = float(geometry.spacing_m[0])
    n_r = geometry.n_elements
    r = asarray_like(np.arange(n_r, dtype=float), xp, dtype=xp.float64)
    f = asarray_like(numerology.subcarrier_frequencies_hz, xp, dtype=xp.float64)
    t = asarray_like(numerology.symbol_times_s, xp, dtype=xp.float64)
    az = xp.astype(paths.aoa_az_rad, xp.float64)[..., None, :]
    tau = xp.astype(paths.delays_s, xp.float64)[..., None, :]
    fd = xp.astype(paths.doppler_hz, xp.float64)[..., None, :]
    ph_a = 2 * math.pi * d_a / lam * r[:, None] * xp.sin(az)
    a = xp.exp(1j * xp.astype(ph_a, cdt))
    da = 1j * xp.astype(2 * math.pi * d_a / lam * r[:, None] * xp.cos(az), cdt) * a
    d = xp.exp(-1j * xp.astype(2 * math.pi * f[:, None] * tau, cdt))
    dd = -1j * xp.astype(2 * math.pi * f[:, None] / SPEED_OF_LIGHT * xp.ones_like(tau), cdt) * d
    v = xp.exp(1j * xp.astype(2 * math.pi * t[:, None] * fd, cdt))
    dv = 1j * xp.astype(2 * math.pi * numerology.carrier_hz / SPEED_OF_LIGHT * t[:, None] * xp.ones_like(fd), cdt) * v
    return (a, d, v), (da, dd, dv)


def _projected_gram(xp, facs, dfacs, dims_x, dims_y):
    r"""Blocks :math:`\dot{\mathbf G}_x^H\mathbf P^\perp_{\mathbf G}\dot{\mathbf G}_y` for x in dims_x, y in dims_y."""
    def h(x):
        return xp.conj(xp.matrix_transpose(x))

    def gram(dx, dy):  # prod_m (L_m^H R_m), L_m = derivative if m == dx, R_m likewise with dy
        out = None
        for m in range(3):
            lm = dfacs[m] if m == dx else facs[m]
            rm = dfacs[m] if m == dy else facs[m]
            g = h(lm) @ rm
            out = g if out is None else out * g
        return out

    ggi = xp.linalg.inv(gram(None, None))                                   # (G^H G)^-1, P x P
    blocks = {}
    for x in dims_x:
        gx = gram(x, None)                                                   # Gdot_x^H G
        for y in dims_y:
            gy = gram(y, None)
            blocks[(x, y)] = gram(x, y) - gx @ ggi @ h(gy)
    return blocks


def crb_plain_per_dimension(paths: Paths, *, geometry: ArrayGeometry, numerology: Numerology,
                            noise_variance) -> PlainCrb:
    r"""PLAIN reference-code CRB (Van Trees eq. 8.110): per dimension, others known, diagonal powers.

    .. math::
        \mathrm{CRB}_x = \frac{\sigma^2}{2}\Big[\mathrm{Re}\big\{(\dot{\mathbf G}_x^H\mathbf P_{\mathbf G}^{\perp}
        \dot{\mathbf G}_x)\circ\mathbf P^T\big\}\Big]^{-1},\qquad \mathbf P = \mathrm{diag}(|s_p|^2),

    which is diagonal: :math:`[\mathrm{CRB}_x]_{pp} = \sigma^2 / (2|s_p|^2\,\mathrm{Re}[\dot{\mathbf G}_x^H
    \mathbf P^\perp_{\mathbf G}\dot{\mathbf G}_x]_{pp})`.

    Parameters
    ----------
    paths : channels.Paths
        True paths (batched ``(..., n_paths)``): gains :math:`s_p` (as they appear in the tensor),
        delays, Doppler shifts and azimuths.
    geometry : sensing.ArrayGeometry
        The receive ULA.
    numerology : sensing.Numerology
        The uncompressed OFDM grid.
    noise_variance : float or array of the paths' batch shape
        :math:`\sigma^2` per RE and antenna (of the LS channel estimate).

    Returns
    -------
    PlainCrb
        ``kind="per_dimension"``; variances in rad², m², (m/s)².

    Examples
    --------
    >>> import numpy as np
    >>> from channels import Paths
    >>> from sensing import Numerology, ula
    >>> from estimators import crb_plain_per_dimension
    >>> num = Numerology(28e9, 120e3, 64, 32)
    >>> g = ula(8, num.wavelength_m / 2)
    >>> paths = Paths.from_arrays(np.array([1.0, 0.7j]), np.array([100e-9, 400e-9]),
    ...                           np.array([2000.0, -3000.0]), np.array([-0.5, 0.1]))
    >>> crb = crb_plain_per_dimension(paths, geometry=g, numerology=num, noise_variance=0.01)
    >>> crb.kind, np.round(np.sqrt(crb.distance_m2) * 1e3, 3)   # path-length std [mm]
    ('per_dimension', array([11.891, 16.986]))
    """
    xp, nv = _crb_iv(paths, geometry, numerology, noise_variance)
    facs, dfacs = _factors(xp, paths, geometry, numerology)
    s2 = xp.real(paths.gains * xp.conj(paths.gains))
    out = []
    for x in range(3):
        m = _projected_gram(xp, facs, dfacs, (x,), (x,))[(x, x)]
        diag = xp.real(xp.linalg.diagonal(m)) if hasattr(xp.linalg, "diagonal") else xp.real(xp.diagonal(m, axis1=-2, axis2=-1))
        out.append(nv[..., None] / (2.0 * s2 * diag))
    return PlainCrb("per_dimension", _LABELS["per_dimension"], *out)


def crb_plain_joint(paths: Paths, *, geometry: ArrayGeometry, numerology: Numerology,
                    noise_variance) -> PlainCrb:
    r"""Exact deterministic single-snapshot CRB with all parameters and gains unknown (Stoica–Nehorai 1989).

    .. math::
        \mathbf F = \frac{2}{\sigma^2}\mathrm{Re}\Big\{\big(\dot{\mathbf G}^H\mathbf P_{\mathbf G}^{\perp}
        \dot{\mathbf G}\big)\circ\big(\mathbf 1_{3\times 3}\otimes\mathbf s\mathbf s^H\big)^T\Big\},\quad
        \dot{\mathbf G} = [\dot{\mathbf G}_\phi, \dot{\mathbf G}_d, \dot{\mathbf G}_v],\quad
        \mathrm{CRB} = \mathbf F^{-1}.

    Parameters
    ----------
    paths, geometry, numerology, noise_variance
        As in :func:`crb_plain_per_dimension`.

    Returns
    -------
    PlainCrb
        ``kind="joint"``, with the full ``covariance`` (:math:`3P\times 3P`).

    Raises
    ------
    numpy.linalg.LinAlgError
        When the Fisher information is singular (e.g. two identical paths).

    Examples
    --------
    >>> import numpy as np
    >>> from channels import Paths
    >>> from sensing import Numerology, ula
    >>> from estimators import crb_plain_joint, crb_plain_per_dimension
    >>> num = Numerology(28e9, 120e3, 64, 32)
    >>> g = ula(8, num.wavelength_m / 2)
    >>> paths = Paths.from_arrays(np.array([1.0, 0.7j]), np.array([100e-9, 400e-9]),
    ...                           np.array([2000.0, -3000.0]), np.array([-0.5, 0.1]))
    >>> joint = crb_plain_joint(paths, geometry=g, numerology=num, noise_variance=0.01)
    >>> joint.kind, joint.covariance.shape
    ('joint', (6, 6))
    >>> np.round(np.sqrt(joint.azimuth_rad2) * 1e3, 3)   # azimuth std [mrad]
    array([0.087, 0.11 ])
    >>> per_dim = crb_plain_per_dimension(paths, geometry=g, numerology=num, noise_variance=0.01)
    >>> bool(np.all(joint.velocity_m2ps2 >= per_dim.velocity_m2ps2 * (1 - 1e-9)))   # knowing the rest can only help
    True
    """
    xp, nv = _crb_iv(paths, geometry, numerology, noise_variance)
    facs, dfacs = _factors(xp, paths, geometry, numerology)
    blocks = _projected_gram(xp, facs, dfacs, (0, 1, 2), (0, 1, 2))
    s = paths.gains
    ss = s[..., :, None] * xp.conj(s)[..., None, :]                          # s s^H
    w = xp.conj(ss)                                                         # (s s^H)^T for Hermitian: conj
    rows = [xp.concat([xp.real(blocks[(i, j)] * w) for j in range(3)], axis=-1) for i in range(3)]
    fim = (2.0 / nv[..., None, None]) * xp.concat(rows, axis=-2)
    fim = 0.5 * (fim + xp.matrix_transpose(fim))
    cov = xp.linalg.inv(fim)
    p = paths.n_paths
    diag = xp.linalg.diagonal(cov) if hasattr(xp.linalg, "diagonal") else xp.diagonal(cov, axis1=-2, axis2=-1)
    return PlainCrb("joint", _LABELS["joint"], diag[..., :p], diag[..., p:2 * p], diag[..., 2 * p:], cov)

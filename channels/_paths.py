"""Propagation paths: the ground truth every channel in the package is synthesised from."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from sensing import HostCopy, Array, check_array, get_xp, to_numpy

__all__ = ["Paths"]

_REAL_FIELDS = ("delays_s", "doppler_hz", "aoa_az_rad", "aoa_el_rad", "aod_az_rad", "aod_el_rad")


@dataclass(frozen=True)
class Paths(HostCopy):
    r"""Multipath description of one or many links (batched over leading axes).

    Every field has shape ``batch_shape + (n_paths,)``. Links with fewer paths pad with
    zero-gain entries (their other parameters are ignored but must be finite).

    Attributes
    ----------
    gains : array, complex
        Complex baseband path gains :math:`\alpha_p` (amplitude and phase, including the carrier
        phase :math:`e^{-j2\pi f_c\tau_p}` when the generator models it) [linear, amplitude].
    delays_s : array, real
        Propagation delays :math:`\tau_p` [s] (one-way path length / c, or 2R/c monostatic).
    doppler_hz : array, real
        Doppler shifts :math:`f_{D,p}` [Hz]; positive when the path shortens (approaching).
    aoa_az_rad, aoa_el_rad : array, real
        Angle of arrival at the receive array (azimuth, elevation) [rad], package convention
        (:mod:`sensing._arrays`: broadside = azimuth 0).
    aod_az_rad, aod_el_rad : array, real
        Angle of departure at the transmit array [rad] (used only with a transmit array).

    The channel these paths produce is written out in :func:`channels.cfr_from_paths`.

    Examples
    --------
    >>> import numpy as np
    >>> from channels import Paths
    >>> p = Paths.from_arrays(np.array([[1.0, 0.5j], [0.2, 0.0]]),   # 2 links (batch), 2 paths each;
    ...                       np.array([[100e-9, 250e-9], [80e-9, 0.0]]))   # link 1 pads with a zero gain
    >>> p.batch_shape, p.n_paths, p.aoa_az_rad.shape
    ((2,), 2, (2, 2))
    >>> np.round(p.power(), 2)
    array([[1.  , 0.25],
           [0.04, 0.  ]])
    >>> Paths.from_arrays(np.array([1.0]), np.array([-1e-9]))
    Traceback (most recent call last):
        ...
    ValueError: `delays_s` must be >= 0 (causal paths); got a negative delay.
    """

    gains: Array
    delays_s: Array
    doppler_hz: Array
    aoa_az_rad: Array
    aoa_el_rad: Array
    aod_az_rad: Array
    aod_el_rad: Array

    def __post_init__(self):
        xp = get_xp(*(getattr(self, f.name) for f in fields(self)))
        g = check_array(self.gains, "gains", min_ndim=1, kind=("complex floating", "real floating"), xp=xp)
        shape = tuple(g.shape)
        for name in _REAL_FIELDS:
            v = check_array(getattr(self, name), name, kind=("real floating", "integral"), xp=xp)
            if tuple(v.shape) != shape:
                raise ValueError(f"`{name}` must have the shape of `gains` {shape}; got {tuple(v.shape)}.")
        if bool(xp.any(self.delays_s < 0)):
            raise ValueError("`delays_s` must be >= 0 (causal paths); got a negative delay.")

    @classmethod
    def from_arrays(cls, gains, delays_s, doppler_hz=None, aoa_az_rad=None, aoa_el_rad=None,
                    aod_az_rad=None, aod_el_rad=None) -> "Paths":
        """Build paths filling omitted parameters with zeros (e.g. no Doppler, no elevation).

        Examples
        --------
        >>> import numpy as np
        >>> from channels import Paths
        >>> p = Paths.from_arrays(np.array([1.0, 0.3]), np.array([50e-9, 120e-9]), doppler_hz=np.array([0.0, 400.0]),
        ...                       aoa_az_rad=np.array([0.2, -0.5]))
        >>> p.gains.dtype, p.aoa_el_rad, p.aod_az_rad                    # omitted: zeros
        (dtype('complex128'), array([0., 0.]), array([0., 0.]))
        >>> sorted(p.as_dict())
        ['aoa_az_rad', 'aoa_el_rad', 'aod_az_rad', 'aod_el_rad', 'delays_s', 'doppler_hz', 'gains']
        """
        xp = get_xp(gains, delays_s)
        g = xp.asarray(gains)
        rdt = xp.float32 if g.dtype in (xp.float32, xp.complex64) else xp.float64
        if xp.isdtype(g.dtype, "real floating") or xp.isdtype(g.dtype, "integral"):
            g = xp.astype(g, xp.complex64 if rdt == xp.float32 else xp.complex128)

        def fill(v):
            return xp.zeros(g.shape, dtype=rdt) if v is None else xp.astype(xp.asarray(v), rdt)

        return cls(g, fill(delays_s), fill(doppler_hz), fill(aoa_az_rad), fill(aoa_el_rad),
                   fill(aod_az_rad), fill(aod_el_rad))

    @property
    def n_paths(self) -> int:
        return int(self.gains.shape[-1])

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.gains.shape[:-1])


    def power(self) -> Array:
        """Per-path power :math:`|\\alpha_p|^2`."""
        xp = get_xp(self.gains)
        return xp.real(self.gains * xp.conj(self.gains))

    def as_dict(self) -> dict[str, np.ndarray]:
        """Host arrays keyed by field name (for HDF5 I/O)."""
        return {f.name: to_numpy(getattr(self, f.name)) for f in fields(self)}

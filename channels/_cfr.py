r"""Paths -> channel frequency response (CFR) tensor."""

from __future__ import annotations

import math

import numpy as np

from sensing import (
    Array,
    ArrayGeometry,
    Numerology,
    asarray_like,
    check_array,
    check_choice,
    check_float,
    get_xp,
    is_numpy_namespace,
    to_numpy,
    unit_vector,
)

from ._kernels import cfr_kernel, cfr_kernel_mimo
from ._paths import Paths

__all__ = ["cfr_from_paths", "array_phases"]


def array_phases(geometry: ArrayGeometry, azimuth_rad, elevation_rad, *, wavelength_m: float) -> Array:
    r"""Element phases :math:`\frac{2\pi}{\lambda}\mathbf p_m^T\mathbf u` [rad], shape (..., n_elements, n_paths).

    Examples
    --------
    >>> import numpy as np
    >>> from channels import array_phases
    >>> from sensing import ula
    >>> ph = array_phases(ula(4, 0.5), np.array([0.0, np.pi / 6]), np.zeros(2), wavelength_m=1.0)
    >>> ph.shape                                           # (n_elements, n_paths)
    (4, 2)
    >>> np.round(ph[:, 1], 4)                              # pi * sin(30 deg) per element
    array([0.    , 1.5708, 3.1416, 4.7124])
    """
    if not isinstance(geometry, ArrayGeometry):
        raise TypeError(f"`geometry` must be an ArrayGeometry; got {type(geometry).__name__}.")
    wavelength_m = check_float(wavelength_m, "wavelength_m", low=0.0, low_inclusive=False)
    xp = get_xp(azimuth_rad, elevation_rad)
    u = unit_vector(azimuth_rad, elevation_rad)               # (..., P, 3), validated there
    pos = asarray_like(geometry.positions_m, xp, dtype=u.dtype)
    ph = (2 * math.pi / wavelength_m) * (u @ pos.T)          # (..., P, M)
    return xp.moveaxis(ph, -1, -2)


def cfr_from_paths(paths: Paths, rx_array: ArrayGeometry, numerology: Numerology, *,
                   tx_array: ArrayGeometry | None = None, frequencies_hz=None, symbol_times_s=None,
                   method: str = "auto") -> Array:
    r"""Synthesise the channel frequency response of every link on the OFDM resource grid.

    .. math::
        H[b, r, k, t] = \sum_{p} \alpha_{b,p}\,
            e^{\,j\frac{2\pi}{\lambda}\mathbf p_r^T\mathbf u(\phi^{A}_{b,p}, \vartheta^{A}_{b,p})}\,
            e^{-j2\pi f_k\tau_{b,p}}\,e^{\,j2\pi f_{D,b,p}\,tT_O}
            \;\Big[\,e^{-j\frac{2\pi}{\lambda}\mathbf q_s^T\mathbf u(\phi^{D}_{b,p}, \vartheta^{D}_{b,p})}\Big]

    (the bracket, indexed by transmit element :math:`s` at :math:`\mathbf q_s`, only with
    ``tx_array``). Narrowband array model (steering at the carrier wavelength); Doppler is constant
    within an OFDM symbol (no inter-carrier interference).

    Parameters
    ----------
    paths : Paths
        Batched paths, fields of shape ``batch_shape + (n_paths,)``.
    rx_array : ArrayGeometry
        Receive array (its element positions :math:`\mathbf p_r`).
    numerology : Numerology
        Gives :math:`\lambda`, :math:`f_k` and :math:`tT_O`.
    tx_array : ArrayGeometry, optional
        Transmit array; adds a trailing transmit-antenna axis.
    frequencies_hz : array, shape (n_freqs,), optional
        Override the subcarrier frequencies (e.g. subband centres) [Hz, baseband].
    symbol_times_s : array, shape (n_times,), optional
        Override the symbol times [s].
    method : {"auto", "numba", "xp"}, default="auto"
        ``"numba"``: the parallel CPU kernel (NumPy input only); ``"xp"``: a separable matmul
        form in the input's namespace (CuPy, array-api-strict, NumPy). ``"auto"`` picks the
        kernel for NumPy input and the ``xp`` form otherwise.

    Returns
    -------
    array, shape ``batch_shape + (n_rx, n_freqs, n_times[, n_tx])``, complex128
        In the namespace of ``paths``.

    Examples
    --------
    >>> import numpy as np
    >>> from channels import Paths, cfr_from_paths
    >>> from sensing import Numerology, ula
    >>> num = Numerology(28e9, 120e3, 64, 32)
    >>> g = ula(8, num.wavelength_m / 2)
    >>> paths = Paths.from_arrays(np.array([1.0]), np.array([100e-9]), np.array([2000.0]), np.array([0.3]))
    >>> h = cfr_from_paths(paths, g, num)
    >>> h.shape, bool(np.allclose(np.abs(h), 1.0))         # (antennas, subcarriers, symbols); one unit path
    ((8, 64, 32), True)
    """
    if not isinstance(paths, Paths):
        raise TypeError(f"`paths` must be a channels.Paths; got {type(paths).__name__}.")
    if not isinstance(rx_array, ArrayGeometry):
        raise TypeError(f"`rx_array` must be an ArrayGeometry; got {type(rx_array).__name__}.")
    if tx_array is not None and not isinstance(tx_array, ArrayGeometry):
        raise TypeError(f"`tx_array` must be an ArrayGeometry or None; got {type(tx_array).__name__}.")
    if not isinstance(numerology, Numerology):
        raise TypeError(f"`numerology` must be a sensing.Numerology; got {type(numerology).__name__}.")
    check_choice(method, "method", ("auto", "numba", "xp"))
    xp = get_xp(paths.gains)
    if method == "numba" and not is_numpy_namespace(xp):
        raise TypeError("`method` 'numba' runs on NumPy arrays only; use method='xp' (or 'auto') "
                        "for CuPy or other array libraries.")
    use_kernel = is_numpy_namespace(xp) and method in ("auto", "numba")

    # the resource grid is a small host-side description (like the array geometry): explicit copy
    f = numerology.subcarrier_frequencies_hz if frequencies_hz is None else np.asarray(
        to_numpy(check_array(frequencies_hz, "frequencies_hz", ndim=1, kind="real floating")), dtype=float)
    t = numerology.symbol_times_s if symbol_times_s is None else np.asarray(
        to_numpy(check_array(symbol_times_s, "symbol_times_s", ndim=1, kind="real floating")), dtype=float)
    if f.size == 0 or t.size == 0:
        raise ValueError(f"`frequencies_hz` and `symbol_times_s` must be non-empty; got {f.size} and {t.size}.")
    lam = numerology.wavelength_m
    batch = paths.batch_shape
    n_p = paths.n_paths
    n_b = math.prod(batch)

    def flat(v):
        return xp.reshape(v, (n_b, n_p))

    g = flat(paths.gains)
    tau = flat(xp.astype(paths.delays_s, xp.float64))
    fd = flat(xp.astype(paths.doppler_hz, xp.float64))
    rx_ph = array_phases(rx_array, flat(xp.astype(paths.aoa_az_rad, xp.float64)),
                         flat(xp.astype(paths.aoa_el_rad, xp.float64)), wavelength_m=lam)  # (B, R, P)
    tx_ph = None
    if tx_array is not None:
        tx_ph = array_phases(tx_array, flat(xp.astype(paths.aod_az_rad, xp.float64)),
                             flat(xp.astype(paths.aod_el_rad, xp.float64)), wavelength_m=lam)  # (B, S, P)
    n_r = rx_array.n_elements
    tail = (n_r, f.size, t.size) + (() if tx_array is None else (tx_array.n_elements,))

    if use_kernel:
        g_np = np.ascontiguousarray(g, dtype=np.complex128)
        out = np.empty((n_b,) + tail, dtype=np.complex128)
        rx_np = np.ascontiguousarray(rx_ph)
        tx_np = None if tx_ph is None else np.ascontiguousarray(tx_ph)
        tau_np, fd_np = np.ascontiguousarray(tau), np.ascontiguousarray(fd)
        # the shared grid factors take 16*P*K*T bytes per link: chunk links to ~128 MiB
        chunk = max(1, int(2**27 // max(1, 16 * n_p * f.size * t.size)))
        for lo in range(0, n_b, chunk):
            sl = slice(lo, min(n_b, lo + chunk))
            if tx_np is None:
                cfr_kernel(g_np[sl], rx_np[sl], tau_np[sl], fd_np[sl], f, t, out[sl])
            else:
                cfr_kernel_mimo(g_np[sl], rx_np[sl], tx_np[sl], tau_np[sl], fd_np[sl], f, t, out[sl])
        return out.reshape(batch + tail)

    # separable matmul form: H = (A diag g) @ (D (x) V [(x) T*])^T, in the input namespace
    cdt = xp.complex128
    fx = asarray_like(f, xp, dtype=xp.float64)
    tx = asarray_like(t, xp, dtype=xp.float64)
    a = xp.exp(1j * xp.astype(rx_ph, cdt)) * xp.astype(g, cdt)[:, None, :]           # (B, R, P)
    d = xp.exp(1j * xp.astype(-2 * math.pi * (fx[None, :, None] * tau[:, None, :]), cdt))  # (B, K, P)
    v = xp.exp(1j * xp.astype(2 * math.pi * (tx[None, :, None] * fd[:, None, :]), cdt))   # (B, T, P)
    kr = d[:, :, None, :] * v[:, None, :, :]                                            # (B, K, T, P)
    if tx_ph is not None:
        s = xp.exp(-1j * xp.astype(tx_ph, cdt))                                          # (B, S, P)
        kr = kr[:, :, :, None, :] * s[:, None, None, :, :]
    kr = xp.reshape(kr, (n_b, -1, n_p))
    h = a @ xp.moveaxis(kr, -1, -2)                                                      # (B, R, KT[S])
    return xp.reshape(h, batch + tail)

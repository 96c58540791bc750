r"""Classic OFDM radar processing: range–Doppler periodogram, beamscan, peak picking.

The baseline every subspace estimator is compared with (C. Sturm and W. Wiesbeck, "Waveform
design and signal processing aspects for fusion of wireless communications and radar sensing,"
Proc. IEEE 99(7):1236-1259, 2011). Input is the per-RE channel estimate :math:`F[r, k, t]`
(symbols already divided out). The
range profile is an inverse DFT over subcarriers (the delay factor is :math:`e^{-j2\pi k\Delta f\tau}`),
the Doppler profile a DFT over symbols (:math:`e^{+j2\pi f_D tT_O}`), both windowed and zero-padded;
the range–Doppler map sums the power over antennas (non-coherent), and each detected cell gets a
beamscan over azimuth. Peaks are refined by parabolic interpolation of the log-power.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensing import (
    SPEED_OF_LIGHT,
    Array,
    ArrayGeometry,
    HostCopy,
    Numerology,
    asarray_like,
    check_array,
    check_choice,
    check_int,
    get_xp,
    steering_vector,
    to_numpy,
)

__all__ = ["RadarEstimate", "ofdm_radar"]


@dataclass(frozen=True)
class RadarEstimate(HostCopy):
    """Targets detected by :func:`ofdm_radar` (strongest first), in the input's namespace.

    Attributes
    ----------
    azimuth_rad : geometry, shape (n_detections,)
        Azimuth [rad] (package convention, broadside 0).
    delays_s : geometry, shape (n_detections,)
        Round-trip (monostatic) or one-way delay :math:`\\tau` [s].
    doppler_hz : geometry, shape (n_detections,)
        Doppler :math:`f_D` [Hz].
    distances_m : geometry, shape (n_detections,)
        Range :math:`c\\tau/2` (monostatic) or path length :math:`c\\tau` (one-way) [m].
    velocities_mps : geometry, shape (n_detections,)
        Radial velocity [m/s], positive approaching: :math:`f_D c/(2f_c)` or :math:`f_D c/f_c`.
    powers : geometry, shape (n_detections,)
        Periodogram peak power (linear).
    range_doppler_map : geometry, shape (n_range_bins, n_doppler_bins)
        Non-coherent periodogram, Doppler axis centred (zero Doppler in the middle).
    distance_axis_m, velocity_axis_mps : array
        Axes of the map [m], [m/s].
    """

    azimuth_rad: Array
    delays_s: Array
    doppler_hz: Array
    distances_m: Array
    velocities_mps: Array
    powers: Array
    range_doppler_map: Array
    distance_axis_m: Array
    velocity_axis_mps: Array


def _window(kind: str, n: int, xp, dtype):
    if kind == "none" or n == 1:
        w = np.ones(n)
    elif kind == "hann":
        w = np.hanning(n + 2)[1:-1]      # non-zero end points
    else:  # "hamming"
        w = np.hamming(n)
    return asarray_like(w / np.sqrt(np.mean(w**2)), xp, dtype=dtype)


def _parabolic(lm, l0, lp):
    den = lm - 2 * l0 + lp
    return 0.5 * (lm - lp) / den if den < 0 else 0.0


def ofdm_radar(channel_estimate, *, geometry: ArrayGeometry, numerology: Numerology, n_targets: int,
               propagation: str = "monostatic", window: str = "hann", zero_pad: int = 2,
               azimuth_grid_rad=None, min_separation_cells: int = 1) -> RadarEstimate:
    r"""Range–Doppler periodogram + beamscan target detection.

    .. math::
        \mathrm{Per}(n, m) = \frac{1}{N_KN_T}\sum_r\Big|\sum_t\Big(\sum_k F_{r,k,t}W_kW_t
            e^{\,j2\pi\frac{kn}{N'_K}}\Big)e^{-j2\pi\frac{tm}{N'_T}}\Big|^2

    Parameters
    ----------
    channel_estimate : geometry, shape (n_rx, n_subcarriers, n_symbols), complex
        Per-RE channel estimate :math:`F` (e.g. :func:`sensing.ls_channel_estimate`).
    geometry : ArrayGeometry
        Receive array (for the beamscan).
    numerology : Numerology
        OFDM numerology (subcarrier spacing, symbol duration, carrier).
    n_targets : int
        Number of detections to return (largest local maxima of the map).
    propagation : {"monostatic", "one-way"}, default="monostatic"
        Maps delay and Doppler to range/velocity with (monostatic) or without the factor 2.
    window : {"hann", "hamming", "none"}, default="hann"
        Window over subcarriers and symbols (power-normalised).
    zero_pad : int, default=2
        Zero-padding factor for both FFTs (interpolates the grid; resolution is unchanged).
    azimuth_grid_rad : geometry, shape (n_grid,), optional
        Beamscan grid (default: 361 points over [-90°, 90°]).
    min_separation_cells : int, default=1
        Local-maximum neighbourhood half-width in map cells.

    Returns
    -------
    RadarEstimate
        Detections sorted by decreasing power.

    Notes
    -----
    Resolution is one Rayleigh cell: :math:`c/(2B)` in range (monostatic), :math:`1/(N_TT_O)`
    in Doppler, about :math:`2/M` in :math:`\sin\phi`. Targets sharing a range–Doppler cell
    are reported once (the strongest beamscan peak); the subspace estimators resolve them.

    Examples
    --------
    >>> import numpy as np
    >>> from channels import Paths, cfr_from_paths
    >>> from sensing import Numerology, ula
    >>> from estimators import ofdm_radar
    >>> num = Numerology(28e9, 120e3, 64, 32)
    >>> g = ula(8, num.wavelength_m / 2)
    >>> paths = Paths.from_arrays(np.array([1.0, 0.8]), np.array([200e-9, 1000e-9]),
    ...                           np.array([2000.0, -6000.0]), np.array([-0.4, 0.5]))
    >>> est = ofdm_radar(cfr_from_paths(paths, g, num), geometry=g, numerology=num, n_targets=2,
    ...                  propagation="one-way")
    >>> np.round(est.delays_s * 1e9), np.round(est.doppler_hz, -2), np.round(est.azimuth_rad, 1)
    (array([ 200., 1000.]), array([ 2000., -6000.]), array([-0.4,  0.5]))
    >>> est.range_doppler_map.shape                      # zero-padded (2 x 64, 2 x 32) grid
    (128, 64)
    """
    xp = get_xp(channel_estimate)
    f = check_array(channel_estimate, "channel_estimate", ndim=3, kind=("complex floating", "real floating"), xp=xp)
    if not isinstance(numerology, Numerology):
        raise TypeError(f"`numerology` must be a sensing.Numerology; got {type(numerology).__name__}.")
    if not isinstance(geometry, ArrayGeometry):
        raise TypeError(f"`geometry` must be a sensing.ArrayGeometry; got {type(geometry).__name__}.")
    n_r, n_k, n_t = (int(s) for s in f.shape)
    if (n_k, n_t) != (numerology.n_subcarriers, numerology.n_symbols) or n_r != geometry.n_elements:
        raise ValueError(
            f"`channel_estimate` must have shape ({geometry.n_elements}, {numerology.n_subcarriers}, "
            f"{numerology.n_symbols}) (array elements, subcarriers, symbols); got {tuple(f.shape)}.")
    pad = check_int(zero_pad, "zero_pad", low=1, high=16)
    check_choice(window, "window", ("hann", "hamming", "none"))
    check_choice(propagation, "propagation", ("monostatic", "one-way"))
    sep = check_int(min_separation_cells, "min_separation_cells", low=1, high=16)
    n_kp, n_tp = pad * n_k, pad * n_t
    n_cells = n_kp * n_tp
    n_tg = check_int(n_targets, "n_targets", low=1, high=max(1, n_cells // ((2 * sep + 1) ** 2)),
                     why="at most one target per resolution neighbourhood of the range-Doppler map")
    if azimuth_grid_rad is None:
        grid = asarray_like(np.linspace(-np.pi / 2, np.pi / 2, 361), xp, dtype=xp.float64)
    else:
        grid = check_array(azimuth_grid_rad, "azimuth_grid_rad", ndim=1, kind="real floating", xp=xp)
        if grid.shape[0] < 3:
            raise ValueError(f"`azimuth_grid_rad` must hold at least 3 points; got {grid.shape[0]}.")
        if bool(xp.any(grid[1:] <= grid[:-1])):
            raise ValueError("`azimuth_grid_rad` must be strictly increasing.")

    cdt = f.dtype if xp.isdtype(f.dtype, "complex floating") else xp.complex128
    fw = xp.astype(f, cdt) * _window(window, n_k, xp, xp.float64)[:, None] \
        * _window(window, n_t, xp, xp.float64)[None, :]
    # inverse DFT over subcarriers (delay), DFT over symbols (Doppler); fftshift the Doppler axis
    rd = xp.fft.ifft(fw, n=n_kp, axis=1) * n_kp
    rd = xp.fft.fft(rd, n=n_tp, axis=2)
    rd = xp.fft.fftshift(rd, axes=2)                                    # (R, K', T')
    power = xp.sum(xp.real(rd * xp.conj(rd)), axis=0) / (n_k * n_t)    # (K', T')

    # local maxima: delay axis not circular beyond the unambiguous range -> treat as circular too
    # (delay wraps at 1/df), Doppler axis circular
    is_max = xp.ones(power.shape, dtype=xp.bool)
    for dk in range(-sep, sep + 1):
        for dt in range(-sep, sep + 1):
            if dk == 0 and dt == 0:
                continue
            nb = xp.roll(xp.roll(power, dk, axis=0), dt, axis=1)
            is_max = is_max & (power >= nb)
    cand = xp.where(is_max, power, xp.zeros_like(power))
    flat = xp.reshape(cand, (-1,))
    order = xp.argsort(-flat)[:n_tg]
    # Peak refinement is a short host loop over the detections: one explicit copy of the
    # (n_range, n_doppler) map to the host; the transforms above stay on the input's device.
    order_h = to_numpy(order)
    power_h = to_numpy(power)
    steer = steering_vector(geometry, grid, wavelength_m=numerology.wavelength_m)   # (R, G)
    steer = xp.astype(steer, cdt)

    df, to, fc = numerology.subcarrier_spacing_hz, numerology.symbol_duration_s, numerology.carrier_hz
    factor = 2.0 if propagation == "monostatic" else 1.0
    az_o, tau_o, fd_o, pw_o = [], [], [], []
    grid_h = to_numpy(grid)
    lg = np.log(np.maximum(power_h, 1e-300))
    for idx in order_h:
        kk, tt = divmod(int(idx), n_tp)
        if power_h[kk, tt] <= 0:
            continue
        dk_ = _parabolic(lg[(kk - 1) % n_kp, tt], lg[kk, tt], lg[(kk + 1) % n_kp, tt])
        dt_ = _parabolic(lg[kk, (tt - 1) % n_tp], lg[kk, tt], lg[kk, (tt + 1) % n_tp])
        tau = ((kk + dk_) % n_kp) / (n_kp * df)
        fd = ((tt + dt_) - n_tp // 2) / (n_tp * to)
        y = rd[:, kk, tt]                                          # (R,)
        bs = to_numpy(xp.abs(xp.conj(xp.moveaxis(steer, 0, 1)) @ y) ** 2)  # (G,)
        g = int(np.argmax(bs))
        if 0 < g < bs.size - 1:
            d = _parabolic(*np.log(np.maximum(bs[g - 1:g + 2], 1e-300)))
            az = grid_h[g] + d * (grid_h[g + 1] - grid_h[g])
        else:
            az = grid_h[g]
        az_o.append(az)
        tau_o.append(tau)
        fd_o.append(fd)
        pw_o.append(power_h[kk, tt])
    tau_a = np.asarray(tau_o, dtype=np.float64)
    fd_a = np.asarray(fd_o, dtype=np.float64)
    dist_axis = np.arange(n_kp) / (n_kp * df) * SPEED_OF_LIGHT / factor
    vel_axis = (np.arange(n_tp) - n_tp // 2) / (n_tp * to) * SPEED_OF_LIGHT / (factor * fc)

    def put(v):
        return asarray_like(np.asarray(v, dtype=np.float64), xp, dtype=xp.float64)

    return RadarEstimate(
        azimuth_rad=put(az_o), delays_s=put(tau_a), doppler_hz=put(fd_a),
        distances_m=put(tau_a * SPEED_OF_LIGHT / factor),
        velocities_mps=put(fd_a * SPEED_OF_LIGHT / (factor * fc)), powers=put(pw_o),
        range_doppler_map=power, distance_axis_m=put(dist_axis), velocity_axis_mps=put(vel_axis))

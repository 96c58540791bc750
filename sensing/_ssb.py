r"""SSB beam sweep, RSRP per beam and the 3GPP L1-RSRP report quantisation.

Channel convention (as for the CSI codebooks): ``channel[..., p, k]`` is :math:`\mathbf h_k` on
SSS resource element ``k`` with :math:`y = \mathbf h_k^H\mathbf f\,x + z`; port
:math:`p = \mathrm{pol}\cdot N_1N_2 + n_1N_2 + n_2` (TS 38.214 order, ``n2`` fastest).

SS-RSRP (TS 38.215 §5.1.1) of probing beam :math:`\mathbf f_b` is the linear average over the
SSS resource elements,

.. math::
    \mathrm{RSRP}_b = \frac{P_{RE}}{|\mathcal K|}\sum_{k\in\mathcal K}\sum_{\mathrm{pol}}
        \lvert\mathbf h_{k,\mathrm{pol}}^H\mathbf f_b\rvert^2 ,

where, with a dual-polarised array, the SSB is sent on both polarisations with orthogonal
transmission so that their powers add [Recon]. L1-RSRP reports (TS 38.214 §5.2.1.4, TS 38.133
§10.1.6): the strongest beam with a 7-bit absolute value in [-140, -44] dBm (1 dB steps), every
other reported beam with a 4-bit differential value (2 dB steps, saturating at -30 dB), each with
its SSB resource indicator (:math:`\lceil\log_2 K_{SSB}\rceil` bits).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._backend import Array, HostCopy, asarray_like, get_xp
from ._validation import check_array, check_bool, check_float, check_int, check_rng

__all__ = [
    "SSBCodebook",
    "RSRPReport",
    "ssb_codebook",
    "ssb_rsrp",
    "rsrp_report",
    "rsrp_fingerprint",
    "quantize_rsrp_absolute",
    "quantize_rsrp_differential",
    "RSRP_ABS_MIN_DBM",
    "RSRP_ABS_MAX_DBM",
]

RSRP_ABS_MIN_DBM = -140.0
"""Lower end of the L1-RSRP reporting range [dBm] (TS 38.133 §10.1.6.1)."""
RSRP_ABS_MAX_DBM = -44.0
"""Upper end of the L1-RSRP reporting range [dBm]."""
_ABS_BITS = 7
_DIFF_BITS = 4
_DIFF_STEP_DB = 2.0
_DIFF_MAX_CODE = 15


@dataclass(frozen=True)
class SSBCodebook(HostCopy):
    """A DFT-based SSB probing codebook for a UPA.

    Attributes
    ----------
    beams : array, shape (n1 * n2, n_beams), complex
        Unit-norm beams :math:`\\mathbf f_b` in port order ``n1 * N2 + n2`` (one polarisation).
    spatial_frequencies_rad : ndarray, shape (n_beams, 2)
        :math:`(\\psi_1, \\psi_2)` [rad per element] of each beam (horizontal, vertical):
        :math:`[\\mathbf f_b]_{n_1,n_2}\\propto e^{j(\\psi_1n_1 + \\psi_2n_2)}`.
    n1, n2 : int
        Array size per polarisation.
    """

    beams: Array
    spatial_frequencies_rad: np.ndarray
    n1: int
    n2: int

    @property
    def n_beams(self) -> int:
        return int(self.beams.shape[1])


def ssb_codebook(n1: int, n2: int, *, n_beams_h: int = 8, n_beams_v: int = 1, subarray: bool = True,
                 like=None) -> SSBCodebook:
    r"""DFT grid of SSB beams for an :math:`N_1\times N_2` UPA (one polarisation).

    Beam :math:`(l, m)`, :math:`l < n_h`, :math:`m < n_v`, has spatial frequencies
    :math:`\psi_1 = 2\pi(l - \tfrac{n_h-1}{2})/n_h`, :math:`\psi_2 = 2\pi(m - \tfrac{n_v-1}{2})/n_v`;
    beam index ``b = l * n_v + m``.

    Parameters
    ----------
    n1, n2 : int
        Columns (horizontal) and rows (vertical) of the array.
    n_beams_h, n_beams_v : int, default=8, 1
        Beams per dimension (:math:`N_{SSB} = n_h n_v`; FR1 at 3.5 GHz allows :math:`L_{\max} = 8`).
    subarray : bool, default=True
        Form each beam on the first :math:`n_h\times n_v` elements (wide beams that tile the
        angular range without gaps, an orthogonal DFT basis of that sub-array; needs
        :math:`n_h \le N_1`, :math:`n_v \le N_2`). With ``False`` the full array forms
        narrower beams at the same spatial frequencies.
    like : array, optional
        Namespace of the result (default NumPy).

    Returns
    -------
    SSBCodebook

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import ssb_codebook
    >>> cb = ssb_codebook(8, 2, n_beams_h=4, n_beams_v=2)  # 8 x 2 UPA, 4 x 2 beams
    >>> cb.beams.shape, cb.n_beams
    ((16, 8), 8)
    >>> np.round(np.linalg.norm(cb.beams, axis=0), 6)      # unit-norm beams
    array([1., 1., 1., 1., 1., 1., 1., 1.])
    >>> np.round(cb.spatial_frequencies_rad[:2], 3)        # (psi_1, psi_2) of beams 0 and 1
    array([[-2.356, -1.571],
           [-2.356,  1.571]])
    """
    n1, n2 = check_int(n1, "n1", low=1), check_int(n2, "n2", low=1)
    nh = check_int(n_beams_h, "n_beams_h", low=1)
    nv = check_int(n_beams_v, "n_beams_v", low=1)
    subarray = check_bool(subarray, "subarray")
    if subarray and (nh > n1 or nv > n2):
        raise ValueError(f"`n_beams_h` <= n1 and `n_beams_v` <= n2 are needed with subarray=True "
                         f"(a DFT basis of the sub-array); got n_beams_h={nh}, n_beams_v={nv} for "
                         f"a {n1} x {n2} array. Use subarray=False for more beams.")
    psi1 = 2 * np.pi * (np.arange(nh) - (nh - 1) / 2) / nh
    psi2 = 2 * np.pi * (np.arange(nv) - (nv - 1) / 2) / nv
    p1, p2 = np.meshgrid(psi1, psi2, indexing="ij")
    p1, p2 = p1.ravel(), p2.ravel()
    e1, e2 = (nh, nv) if subarray else (n1, n2)
    a = np.exp(1j * np.outer(np.arange(n1), p1)) * (np.arange(n1) < e1)[:, None]   # (N1, B)
    u = np.exp(1j * np.outer(np.arange(n2), p2)) * (np.arange(n2) < e2)[:, None]   # (N2, B)
    f = (a[:, None, :] * u[None, :, :]).reshape(n1 * n2, -1) / math.sqrt(e1 * e2)
    xp = get_xp(like) if like is not None else get_xp()
    return SSBCodebook(asarray_like(f, xp, dtype=xp.complex128), np.stack([p1, p2], axis=1), n1, n2)


def ssb_rsrp(channel, beams, *, tx_power_dbm: float = 0.0, noise_std_db: float = 0.0,
             noise_power_dbm: float | None = None, rng=None) -> Array:
    r"""RSRP per SSB beam [dBm], with optional measurement error.

    Parameters
    ----------
    channel : array, shape (..., n_ports, n_res), complex
        :math:`\mathbf h_k` on the SSS resource elements (or subband centres standing for them),
        ``n_ports = n_pol * beams.shape[0]`` with ``n_pol`` in {1, 2}.
    beams : array or SSBCodebook, shape (n_elements, n_beams)
        Probing beams :math:`\mathbf f_b` (any unit-norm codebook, e.g. a learned one).
    tx_power_dbm : float, default=0
        SSB energy per resource element :math:`P_{RE}` [dBm].
    noise_std_db : float, default=0
        Standard deviation [dB] of Gaussian measurement error added to each RSRP in dB.
    noise_power_dbm : float, optional
        Noise power per RE [dBm]: simulate noisy SSS samples
        :math:`z_k = \sqrt{P_{RE}}\mathbf h_k^H\mathbf f_b + n_k` and estimate
        :math:`\frac1K\sum_k|z_k|^2 - \sigma^2` (floored at 1e-3 of the noise power).
    rng : None, int or Generator
        Randomness of the measurement error.

    Returns
    -------
    array, shape (..., n_beams), float64
        RSRP [dBm], in the namespace of ``channel``.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import ssb_codebook, ssb_rsrp
    >>> cb = ssb_codebook(4, 1, n_beams_h=4, subarray=False)
    >>> h = np.repeat(cb.beams[:, 2:3], 6, axis=1)         # a channel along beam 2 on 6 REs
    >>> r = ssb_rsrp(h, cb, tx_power_dbm=-80.0)
    >>> r.shape, int(np.argmax(r)), round(float(r[2]), 6)
    ((4,), 2, -80.0)
    >>> r_noisy = ssb_rsrp(h, cb, tx_power_dbm=-80.0, noise_std_db=1.0, rng=0)
    >>> bool(np.all(np.abs(r_noisy[2] - r[2]) < 5.0))
    True
    """
    if isinstance(beams, SSBCodebook):
        beams = beams.beams
    xp = get_xp(channel, beams)
    h = check_array(channel, "channel", min_ndim=2, kind=("complex floating", "real floating"), xp=xp)
    f = check_array(beams, "beams", ndim=2, kind=("complex floating", "real floating"), xp=xp)
    n_el = f.shape[0]
    if h.shape[-2] % n_el or h.shape[-2] // n_el not in (1, 2):
        raise ValueError(f"`channel` must have n_pol * {n_el} ports on axis -2 with n_pol in {{1, 2}} "
                         f"(`beams` has {n_el} elements); got shape {tuple(h.shape)}.")
    p_re = 10 ** (check_float(tx_power_dbm, "tx_power_dbm") / 10)
    sd = check_float(noise_std_db, "noise_std_db", low=0.0)
    rng = check_rng(rng)
    n_pol = h.shape[-2] // n_el
    cdt = xp.complex128
    h = xp.astype(h, cdt)
    fh = xp.astype(xp.conj(f).T, cdt)                             # (B, N)
    power = None
    for pol in range(n_pol):
        hp = h[..., pol * n_el:(pol + 1) * n_el, :]
        y = math.sqrt(p_re) * (fh @ hp)                           # (..., B, K): h^H f = conj(f^H h)
        if noise_power_dbm is not None:
            s2 = 10 ** (check_float(noise_power_dbm, "noise_power_dbm") / 10)
            shape = tuple(y.shape)
            n = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * math.sqrt(s2 / 2)
            y = y + asarray_like(n, xp, dtype=cdt)
            pw = xp.mean(xp.real(y * xp.conj(y)), axis=-1) - s2
            pw = xp.maximum(pw, xp.asarray(1e-3 * s2, dtype=pw.dtype))
        else:
            pw = xp.mean(xp.real(y * xp.conj(y)), axis=-1)
        power = pw if power is None else power + pw
    power = xp.maximum(power, xp.asarray(1e-300, dtype=power.dtype))
    r = 10 * xp.log10(power)
    if sd > 0:
        r = r + asarray_like(sd * rng.standard_normal(tuple(r.shape)), xp, dtype=r.dtype)
    return r


def quantize_rsrp_absolute(rsrp_dbm) -> tuple[Array, Array]:
    """7-bit absolute L1-RSRP quantisation (1 dB steps over [-140, -44] dBm).

    Code 0: below -140 dBm; code ``1 + floor(r + 140)`` for -140 <= r < -44; code 97: >= -44 dBm.

    Returns
    -------
    codes : array of int64, same shape
    values_dbm : array of float64
        Dequantised values: interval midpoints, -140.5 and -43.5 at the saturated ends.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import quantize_rsrp_absolute
    >>> codes, values = quantize_rsrp_absolute(np.array([-150.0, -99.3, -40.0]))
    >>> codes, values
    (array([ 0, 41, 97]), array([-140.5,  -99.5,  -43.5]))
    """
    xp = get_xp(rsrp_dbm)
    r = check_array(rsrp_dbm, "rsrp_dbm", kind=("real floating", "integral"), xp=xp)
    r = xp.astype(r, xp.float64)
    code = xp.clip(xp.floor(r - RSRP_ABS_MIN_DBM) + 1, 0, 97)
    values = RSRP_ABS_MIN_DBM + code - 0.5
    return xp.astype(code, xp.int64), values


def quantize_rsrp_differential(rsrp_dbm, reference_dbm) -> tuple[Array, Array]:
    """4-bit differential L1-RSRP quantisation relative to the (quantised) strongest value.

    Code ``k = min(floor((ref - r) / 2), 15)``: interval -2k >= r - ref > -2(k + 1); 15 saturates
    (-30 dB and below).

    Returns
    -------
    codes : array of int64
    values_dbm : array of float64
        ``reference - (2k + 1)`` (interval midpoints), ``reference - 31`` for code 15.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import quantize_rsrp_differential
    >>> codes, values = quantize_rsrp_differential(np.array([-80.0, -83.5, -130.0]), np.array(-80.0))
    >>> codes, values
    (array([ 0,  1, 15]), array([ -81.,  -83., -111.]))
    """
    xp = get_xp(rsrp_dbm, reference_dbm)
    r = xp.astype(check_array(rsrp_dbm, "rsrp_dbm", kind=("real floating", "integral"), xp=xp), xp.float64)
    ref = xp.astype(check_array(reference_dbm, "reference_dbm", kind=("real floating", "integral"), xp=xp),
                    xp.float64)
    d = xp.maximum(ref - r, xp.asarray(0.0, dtype=xp.float64))
    code = xp.clip(xp.floor(d / _DIFF_STEP_DB), 0, _DIFF_MAX_CODE)
    return xp.astype(code, xp.int64), ref - (_DIFF_STEP_DB * code + 1.0)


@dataclass(frozen=True)
class RSRPReport(HostCopy):
    """An L1-RSRP beam report (strongest first).

    Attributes
    ----------
    indices : array of int, shape (..., n_reported)
        SSB resource indicators (beam indices), strongest first.
    codes : array of int, shape (..., n_reported)
        ``codes[..., 0]``: 7-bit absolute code; ``codes[..., 1:]``: 4-bit differential codes.
    rsrp_dbm : array of float, shape (..., n_reported)
        Dequantised RSRP [dBm] as the BS reads them.
    bits : int
        Payload per report: :math:`7 + 4(k-1) + k\\lceil\\log_2 K_{SSB}\\rceil`.
    """

    indices: Array
    codes: Array
    rsrp_dbm: Array
    bits: int


def rsrp_report(rsrp_dbm, *, n_reported: int = 4) -> RSRPReport:
    """Top-k L1-RSRP report: SSB indices, 7-bit absolute strongest, 4-bit differential others.

    Parameters
    ----------
    rsrp_dbm : array, shape (..., n_ssb)
        Measured RSRP [dBm] per SSB beam.
    n_reported : int, default=4
        Beams per report (``nrofReportedRS`` is 1..4 in the standard; larger values model an
        extended report).

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import rsrp_report
    >>> rep = rsrp_report(np.array([-95.0, -82.2, -90.0, -120.0, -84.9, -101.0, -99.0, -88.0]), n_reported=3)
    >>> rep.indices, rep.codes, rep.rsrp_dbm
    (array([1, 4, 7]), array([58,  1,  2]), array([-82.5, -85.5, -87.5]))
    >>> rep.bits                                           # 7 + 4 * 2 + 3 * log2(8)
    24
    """
    xp = get_xp(rsrp_dbm)
    r = check_array(rsrp_dbm, "rsrp_dbm", min_ndim=1, kind=("real floating", "integral"), xp=xp)
    n_ssb = int(r.shape[-1])
    k = check_int(n_reported, "n_reported", low=1, high=n_ssb, why=f"there are {n_ssb} SSB beams")
    r = xp.astype(r, xp.float64)
    order = xp.argsort(-r, axis=-1, stable=True)[..., :k]
    top = xp.take_along_axis(r, order, axis=-1)
    c0, v0 = quantize_rsrp_absolute(top[..., :1])
    cd, vd = quantize_rsrp_differential(top[..., 1:], v0)
    bits = _ABS_BITS + _DIFF_BITS * (k - 1) + k * (0 if n_ssb <= 1 else math.ceil(math.log2(n_ssb)))
    return RSRPReport(order, xp.concat([c0, cd], axis=-1), xp.concat([v0, vd], axis=-1), int(bits))


def rsrp_fingerprint(rsrp_dbm, *, quantize: bool = True, relative: bool = True,
                     floor_db: float = -31.0) -> Array:
    """RSRP fingerprint :math:`\\mathbf r` from a full sweep (all beams reported).

    Parameters
    ----------
    rsrp_dbm : array, shape (..., n_ssb)
    quantize : bool, default=True
        Apply the report quantisation to every beam (7-bit strongest + 4-bit differential others:
        :math:`7 + 4(N_{SSB}-1)` bits of RSRP payload).
    relative : bool, default=True
        Return :math:`\\mathbf r - \\max_b r_b` [dB] (invariant to UE gain offsets).
    floor_db : float, default=-31
        Relative values below this are clipped (the differential report saturates at -31).

    Returns
    -------
    array, shape (..., n_ssb), float64 [dB or dBm]

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import rsrp_fingerprint
    >>> r = np.array([-95.0, -82.2, -90.0, -130.0])
    >>> rsrp_fingerprint(r)                                # quantised, relative to the strongest [dB]
    array([-13.,   0.,  -7., -31.])
    >>> rsrp_fingerprint(r, quantize=False)
    array([-12.8,   0. ,  -7.8, -31. ])
    """
    xp = get_xp(rsrp_dbm)
    r = xp.astype(check_array(rsrp_dbm, "rsrp_dbm", min_ndim=1, kind=("real floating", "integral"), xp=xp),
                  xp.float64)
    quantize, relative = check_bool(quantize, "quantize"), check_bool(relative, "relative")
    fl = check_float(floor_db, "floor_db", high=0.0)
    rmax = xp.max(r, axis=-1, keepdims=True)
    if quantize:
        _, v0 = quantize_rsrp_absolute(rmax)
        _, v = quantize_rsrp_differential(r, v0)
        is_max = r == rmax
        v = xp.where(is_max, xp.broadcast_to(v0, v.shape), v)
        r, rmax = v, v0
    if relative:
        return xp.maximum(r - rmax, xp.asarray(fl, dtype=r.dtype))
    return xp.maximum(r, rmax + fl)

r"""The measurement given a channel: known symbols through the channel plus noise at a stated SNR.

Signal model (per receive antenna :math:`r`, subcarrier :math:`k`, OFDM symbol :math:`t`):

.. math::
    Y[r, k, t] = H[r, k, t]\, X[k, t] + N[r, k, t], \qquad N \sim \mathcal{CN}(0, \sigma^2)\ \text{i.i.d.}

With several transmit streams (``multi_tx=True``) the streams add:
:math:`Y[r,k,t] = \sum_s H[r,k,t,s] X[k,t,s] + N[r,k,t]`.

**SNR definition.** ``snr_db`` is the mean received signal power per resource element and per
receive antenna over the noise power per RE:
:math:`\mathrm{SNR} = \overline{|\sum_s H X|^2} / \sigma^2`, the mean taken over all antennas,
REs (and over a leading batch, per batch item). With unit-energy symbols this is the total power
of all paths per RE and antenna (the PLAIN paper's definition), so individual weak paths sit
well below it.

Noise is drawn on the host with the NumPy generator and then placed next to the channel, so a
seed gives the same dataset on every backend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._backend import Array, asarray_like, get_xp
from ._validation import check_array, check_bool, check_float, check_rng

__all__ = ["Measurement", "noise_variance_for_snr", "complex_noise", "measure", "ls_channel_estimate"]


@dataclass(frozen=True)
class Measurement:
    """Received OFDM resource grid and the noise level that produced it.

    Attributes
    ----------
    received : array, shape (..., n_rx, n_subcarriers, n_symbols), complex
        :math:`Y`.
    noise_variance : array, shape (...,) or ()
        :math:`\\sigma^2` per RE and antenna (linear, same units as :math:`|Y|^2`).
    snr_db : float or None
        The SNR the noise was scaled for, if given.
    """

    received: Array
    noise_variance: Array
    snr_db: float | None = None


def _signal(channel, symbols, multi_tx, xp):
    if multi_tx:
        return xp.sum(channel * symbols[..., None, :, :, :], axis=-1)
    return channel * symbols[..., None, :, :]


def noise_variance_for_snr(signal, snr_db: float, *, n_batch_dims: int = 0):
    """:math:`\\sigma^2` that puts the mean of ``|signal|**2`` ``snr_db`` above the noise.

    The mean runs over every axis after the first ``n_batch_dims``.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import noise_variance_for_snr
    >>> s = 2.0 * np.ones((4, 8, 2), dtype=complex)         # |s|^2 = 4 on every RE
    >>> float(noise_variance_for_snr(s, 10.0))             # 10 dB below the mean power
    0.4
    >>> np.round(noise_variance_for_snr(np.stack([s, 0.5 * s]), 0.0, n_batch_dims=1), 3)   # one per batch entry
    array([4., 1.])
    """
    xp = get_xp(signal)
    snr = check_float(snr_db, "snr_db", low=-200.0, high=200.0)
    axes = tuple(range(n_batch_dims, signal.ndim))
    if any(signal.shape[a] == 0 for a in axes):
        raise ValueError("`signal` must have at least one entry to set an SNR over (antennas x REs); "
                         f"got shape {tuple(signal.shape)}.")
    p = xp.mean(xp.real(signal * xp.conj(signal)), axis=axes)
    if bool(xp.any(p <= 0)):
        raise ValueError("`channel` carries zero received power, so an SNR cannot be set; "
                         "give `noise_variance` explicitly.")
    return p / (10.0 ** (snr / 10.0))


def complex_noise(shape, variance, *, rng=None, xp=None, dtype=None) -> Array:
    """Circularly-symmetric complex Gaussian noise :math:`\\mathcal{CN}(0, \\sigma^2)`, drawn on the host.

    ``variance`` broadcasts against the leading axes of ``shape`` (trailing singleton axes are
    added). The result is moved to namespace ``xp`` (default NumPy).

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import complex_noise
    >>> w = complex_noise((2, 1000, 50), np.array([1.0, 4.0]), rng=0)   # variance per leading entry
    >>> w.shape, w.dtype
    ((2, 1000, 50), dtype('complex128'))
    >>> np.round(np.mean(np.abs(w) ** 2, axis=(1, 2)), 1)
    array([1., 4.])
    """
    rng = check_rng(rng)
    if hasattr(variance, "shape"):
        v = check_array(variance, "variance", kind=("real floating", "integral"))
        if bool(get_xp(v).any(v < 0)):
            raise ValueError("`variance` must be >= 0 everywhere; got a negative entry.")
    else:
        check_float(variance, "variance", low=0.0)
    w = (rng.standard_normal(tuple(shape)) + 1j * rng.standard_normal(tuple(shape))) * np.sqrt(0.5)
    xp = get_xp(np.empty(0)) if xp is None else xp
    w = asarray_like(w, xp, dtype=dtype)
    var = variance
    if hasattr(var, "ndim") and var.ndim:
        var = xp.reshape(var, tuple(var.shape) + (1,) * (len(shape) - var.ndim))
    return w * xp.sqrt(var) if hasattr(var, "shape") else w * float(np.sqrt(var))


def measure(channel, symbols, *, snr_db: float | None = None, noise_variance: float | None = None,
            multi_tx: bool = False, rng=None) -> Measurement:
    """Pass known symbols through a frequency-domain channel and add noise.

    Parameters
    ----------
    channel : array, shape (..., n_rx, n_subcarriers, n_symbols[, n_tx]), complex
        Channel frequency response :math:`H` (e.g. from :func:`channels.cfr_from_paths`).
    symbols : array, shape (..., n_subcarriers, n_symbols[, n_tx]), complex
        Transmitted symbols :math:`X` (unit average energy for the SNR to mean what it says).
    snr_db : float, optional
        Mean received SNR per RE and antenna [dB] (see the module notes). Give this or
        ``noise_variance``, not both.
    noise_variance : float, optional
        Absolute :math:`\\sigma^2`.
    multi_tx : bool, default=False
        If True the last channel axis holds transmit streams that add at the receiver.
    rng : None, int or numpy.random.Generator
        Noise generator (drawn on the host).

    Returns
    -------
    Measurement

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import measure, random_symbols
    >>> h = np.ones((4, 16, 8), dtype=complex)              # (n_rx, n_subcarriers, n_symbols)
    >>> _, x = random_symbols("psk", 4, (16, 8), rng=0)
    >>> m = measure(h, x, snr_db=20.0, rng=1)
    >>> m.received.shape, float(m.noise_variance), m.snr_db
    ((4, 16, 8), 0.01, 20.0)
    >>> float(np.round(np.mean(np.abs(m.received - h * x) ** 2), 2))
    0.01
    """
    xp = get_xp(channel, symbols)
    multi_tx = check_bool(multi_tx, "multi_tx")
    min_nd = 4 if multi_tx else 3
    h = check_array(channel, "channel", min_ndim=min_nd, kind=("complex floating", "real floating"), xp=xp)
    x = check_array(symbols, "symbols", min_ndim=min_nd - 1, kind=("complex floating", "real floating"), xp=xp)
    want = tuple(h.shape[-(min_nd - 1):])
    if tuple(x.shape[-(min_nd - 1):]) != want:
        raise ValueError(f"`symbols` trailing shape must be {want} to match `channel` {tuple(h.shape)}; "
                         f"got {tuple(x.shape)}.")
    try:
        np.broadcast_shapes(tuple(h.shape[:-min_nd]), tuple(x.shape[:-(min_nd - 1)]))
    except ValueError:
        raise ValueError(f"the leading (batch) axes of `channel` {tuple(h.shape)} and `symbols` "
                         f"{tuple(x.shape)} must broadcast.") from None
    if (snr_db is None) == (noise_variance is None):
        raise ValueError("give exactly one of `snr_db` and `noise_variance`; got "
                         f"snr_db={snr_db!r}, noise_variance={noise_variance!r}.")
    s = _signal(h, x, multi_tx, xp)
    n_batch = s.ndim - 3
    if snr_db is not None:
        var = noise_variance_for_snr(s, snr_db, n_batch_dims=n_batch)
    else:
        var = xp.asarray(check_float(noise_variance, "noise_variance", low=0.0), dtype=xp.real(s).dtype)
    w = complex_noise(tuple(s.shape), var, rng=rng, xp=xp, dtype=s.dtype if xp.isdtype(s.dtype, "complex floating") else None)
    return Measurement(s + w, var, None if snr_db is None else float(snr_db))


def ls_channel_estimate(received, symbols) -> Array:
    """Per-RE least-squares channel estimate :math:`\\hat H = Y / X`.

    For constant-modulus symbols the estimation noise stays white with variance
    :math:`\\sigma^2`; for QAM it is scaled by :math:`1/|X|^2` per RE.

    Parameters
    ----------
    received : array, shape (..., n_rx, n_subcarriers, n_symbols), complex
    symbols : array, shape (..., n_subcarriers, n_symbols), complex, no zeros

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import ls_channel_estimate, measure, random_symbols
    >>> rng = np.random.default_rng(0)
    >>> h = rng.standard_normal((2, 16, 4)) + 1j * rng.standard_normal((2, 16, 4))
    >>> _, x = random_symbols("psk", 4, (16, 4), rng=1)
    >>> h_hat = ls_channel_estimate(measure(h, x, noise_variance=0.0).received, x)
    >>> h_hat.shape, bool(np.allclose(h_hat, h))            # noiseless: exact
    ((2, 16, 4), True)
    """
    xp = get_xp(received, symbols)
    y = check_array(received, "received", min_ndim=3, kind=("complex floating", "real floating"), xp=xp)
    x = check_array(symbols, "symbols", min_ndim=2, kind=("complex floating", "real floating"), xp=xp)
    if tuple(x.shape[-2:]) != tuple(y.shape[-2:]):
        raise ValueError(f"`symbols` trailing shape must be {tuple(y.shape[-2:])}; got {tuple(x.shape)}.")
    if bool(xp.any(xp.abs(x) == 0)):
        raise ValueError("`symbols` must be non-zero on every RE for the LS estimate (pilots or known data).")
    return y / x[..., None, :, :]

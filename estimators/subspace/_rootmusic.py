r"""Root-MUSIC for uniform linear arrays and any Vandermonde dimension.

With :math:`\mathbf C = \mathbf E_n\mathbf E_n^H = \mathbf I - \mathbf E_s\mathbf E_s^H` and
:math:`c_l = \sum_i C_{i,i+l}` (the :math:`l`-th diagonal sum),

.. math::
    p(z) = \mathbf a^T(z^{-1})\mathbf C\mathbf a(z) = \sum_{l=-(M-1)}^{M-1}c_l z^l,\qquad c_{-l} = c_l^*,

and :math:`z^{M-1}p(z)` has the coefficients :math:`[c_{M-1}, \dots, c_0, \dots, c_{-(M-1)}]`
(highest power first). Its roots come in conjugate-reciprocal pairs :math:`(z, 1/z^*)`; of the
:math:`M-1` roots of smallest modulus the :math:`K` closest to the unit circle give
:math:`\hat\mu_k = \arg z_k` (Barabell 1983; Rao and Hari 1989). For a steering vector
:math:`[e^{j\mu i}]` the root lies at :math:`e^{+j\mu}`.

Frequency convention for OFDM dimensions: the subcarrier factor :math:`e^{-j2\pi k\Delta f\tau}`
gives :math:`\mu = -2\pi\Delta f\tau` and the symbol factor :math:`e^{+j2\pi f_D tT_O}` gives
:math:`\mu = 2\pi T_Of_D`; map with :func:`estimators.delay_from_frequency` and
:func:`estimators.doppler_from_frequency`.
"""

from __future__ import annotations

import math

import numpy as np

from sensing import (
    Array,
    ArrayGeometry,
    asarray_like,
    check_choice,
    get_xp,
    is_numpy_namespace,
    to_numpy,
)

from ._covariance import prepare_data
from ._grid_search import (
    lowrank_diag_sums,
    optional_geometry,
    shape_back,
    signal_subspace,
    ula_spacing,
)
from ._kernels import aberth_kernel
from ._results import LineEstimate

__all__ = ["root_music", "polynomial_roots"]

_FINDERS = ("auto", "aberth", "numpy")


def root_music(data: Array, *, n_sources: int | None = None, geometry: ArrayGeometry | None = None,
               wavelength_m: float | None = None, covariance: bool = False, smoothing: int | None = None,
               forward_backward: bool = False, subspace_method: str = "auto",
               root_finder: str = "auto") -> LineEstimate:
    r"""Root-MUSIC: gridless frequency (or ULA azimuth) estimates from polynomial roots.

    Parameters
    ----------
    data : array, shape (..., n_elements, n_snapshots) or (..., n_elements, n_elements)
        Snapshots of a uniform linear array or of any Vandermonde dimension (e.g. the subcarrier
        or symbol mode of an OFDM tensor, columns = snapshots), or a covariance with
        ``covariance=True``. Leading axes are independent problems.
    n_sources : int, optional
        :math:`K \in [1, M_s-1]`; ``None`` chooses it by MDL (snapshot input; one order per batch).
    geometry : ArrayGeometry, optional
        A ULA along :math:`y` (``sensing.ula``); then ``estimates`` are azimuths [rad] (elevation
        0). ``None``: ``estimates`` are the frequencies :math:`\mu` [rad/sample].
    wavelength_m : float, optional
        Carrier wavelength [m]; required with ``geometry``.
    covariance : bool, default=False
        Whether ``data`` is a covariance.
    smoothing : int, optional
        Spatial-smoothing subarray size :math:`M_s` (coherent sources, single snapshots).
    forward_backward : bool, default=False
        Forward-backward averaging.
    subspace_method : {"auto", "eigh", "iterative"}, default="auto"
        Signal-subspace solver (see :func:`estimators.music`).
    root_finder : {"auto", "aberth", "numpy"}, default="auto"
        ``"aberth"``: simultaneous Aberth-Ehrlich iteration (numba kernel for NumPy, a vectorised
        ``xp`` version for CuPy and other namespaces; problems that do not converge fall back to
        ``numpy.roots``); ``"numpy"``: the companion-matrix eigenvalues of ``numpy.roots``
        (NumPy input only). ``"auto"`` = ``"aberth"``.

    Returns
    -------
    LineEstimate
        ``estimates`` (..., K) ascending; ``frequencies`` :math:`\mu` (..., K); ``eigenvalues``.

    Raises
    ------
    ValueError
        NaN/inf data, :math:`K \ge M_s`, more sources than data columns, a non-ULA geometry.
    TypeError
        ``root_finder="numpy"`` on non-NumPy input, wrong argument types.

    Warns
    -----
    SubspaceWarning
        Coherent or too-weak sources (see :func:`estimators.music`).

    References
    ----------
    A. J. Barabell, "Improving the resolution performance of eigenstructure-based
    direction-finding algorithms," Proc. IEEE ICASSP, 1983. B. D. Rao and K. V. S. Hari,
    "Performance analysis of root-MUSIC," IEEE Trans. ASSP, 37(12), 1989.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import steering_vector, ula
    >>> from estimators import root_music
    >>> g = ula(8, 0.5)
    >>> rng = np.random.default_rng(0)
    >>> s = rng.standard_normal((2, 100)) + 1j * rng.standard_normal((2, 100))
    >>> x = steering_vector(g, np.array([-0.4, 0.3]), wavelength_m=1.0) @ s
    >>> x = x + 0.05 * (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape))
    >>> est = root_music(x, n_sources=2, geometry=g, wavelength_m=1.0)
    >>> np.round(est.estimates, 2), np.round(est.frequencies, 2)   # azimuth [rad], mu = pi sin(az)
    (array([-0.4,  0.3]), array([-1.22,  0.93]))
    """
    xp = get_xp(data)
    check_choice(root_finder, "root_finder", _FINDERS)
    d_ula = None
    lam = optional_geometry(geometry, wavelength_m)
    if geometry is not None:
        d_ula = ula_spacing(geometry)
        if d_ula is None:
            raise ValueError(f"root_music needs a uniform linear array along y (sensing.ula); got a "
                             f"{geometry.kind} array. Use estimators.music for arbitrary arrays.")
    if root_finder == "numpy" and not is_numpy_namespace(xp):
        raise TypeError(f"`root_finder`='numpy' runs on NumPy arrays only; got {xp.__name__}. "
                        "Use root_finder='aberth' (the default).")
    prep = prepare_data(xp, data, covariance=covariance, smoothing=smoothing, forward_backward=forward_backward)
    if geometry is not None and smoothing is None and prep.m != geometry.n_elements:
        raise ValueError(f"`data` has {prep.m} elements but `geometry` has {geometry.n_elements}.")
    k, u, vals = signal_subspace(prep, n_sources, subspace_method)
    m = prep.m
    c = -lowrank_diag_sums(u, xp)                              # noise projector I - E_s E_s^H
    c0 = m + c[:, :1]
    # highest power first: [c_{M-1}, ..., c_1, c_0, conj(c_1), ..., conj(c_{M-1})]
    coefs = xp.concat([xp.flip(c[:, 1:], axis=-1), c0, xp.conj(c[:, 1:])], axis=-1)
    roots = polynomial_roots(coefs, method="numpy" if root_finder == "numpy" else "aberth")
    freqs = _select_roots(roots, m, k, xp)
    out = prep.out_real
    if geometry is None:
        est = freqs
    else:
        scale = 2 * math.pi * d_ula / lam
        est = xp.asin(xp.clip(freqs / scale, -1.0, 1.0))
    return LineEstimate(
        estimates=shape_back(xp.astype(est, out), prep.batch, xp),
        parameter="frequency_rad" if geometry is None else "azimuth_rad",
        n_sources=k,
        frequencies=shape_back(xp.astype(freqs, out), prep.batch, xp),
        eigenvalues=shape_back(xp.astype(vals, out), prep.batch, xp),
    )


def _select_roots(roots, m: int, k: int, xp):
    """Of the M-1 smallest-modulus roots, the K closest to the unit circle -> sorted angles."""
    mod = xp.abs(roots)
    order = xp.argsort(mod, axis=-1, stable=True)[:, : m - 1]
    inside = xp.take_along_axis(roots, order, axis=-1)
    dist = xp.abs(1.0 - xp.abs(inside))
    pick = xp.argsort(dist, axis=-1, stable=True)[:, :k]
    z = xp.take_along_axis(inside, pick, axis=-1)
    ang = xp.atan2(xp.imag(z), xp.real(z))
    return xp.sort(ang, axis=-1)


_DEVICE_ROOTS_MIN = 2048     # batches at least this large root on the device (see polynomial_roots)


def polynomial_roots(coefs: Array, *, method: str = "aberth", max_iter: int = 200) -> Array:
    r"""All roots of a batch of polynomials (coefficients highest power first).

    Parameters
    ----------
    coefs : array, shape (B, n + 1), complex
        Coefficients; ``coefs[:, 0]`` should be non-zero (problems whose leading coefficient
        vanishes are handed to ``numpy.roots``, which strips it).
    method : {"aberth", "numpy"}
        Aberth-Ehrlich iteration (numba on NumPy, vectorised ``xp`` otherwise) or ``numpy.roots``.
    max_iter : int, default=200
        Sweeps of the Aberth iteration before falling back to ``numpy.roots`` (NumPy) or
        returning the current iterates (other namespaces).

    Returns
    -------
    array, shape (B, n), complex128
        Roots in no particular order.

    Notes
    -----
    Other namespaces than NumPy root batches below ``_DEVICE_ROOTS_MIN`` problems on the host
    (numba kernel) and move the roots back: the vectorised Aberth iteration is kernel-launch
    bound on a GPU, so small batches are faster on the host; larger batches stay on the device.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import polynomial_roots
    >>> coefs = np.array([[1.0, -3.0, 2.0], [1.0, 0.0, -4.0]])   # (z-1)(z-2), z^2-4
    >>> roots = polynomial_roots(coefs)
    >>> roots.shape, np.sort(np.round(roots.real, 6))
    ((2, 2), array([[ 1.,  2.],
           [-2.,  2.]]))
    """
    xp = get_xp(coefs)
    if not is_numpy_namespace(xp) and coefs.shape[0] < _DEVICE_ROOTS_MIN:
        return asarray_like(polynomial_roots(to_numpy(coefs), method=method, max_iter=max_iter), xp)
    n = coefs.shape[-1] - 1
    bsz = coefs.shape[0]
    if n < 1:
        return xp.zeros((bsz, 0), dtype=xp.complex128)
    if is_numpy_namespace(xp):
        cf = np.ascontiguousarray(coefs, dtype=np.complex128)
        lead = np.abs(cf[:, 0]) > 1e-13 * np.max(np.abs(cf), axis=-1)
        roots = np.empty((bsz, n), dtype=np.complex128)
        ok = np.zeros(bsz, dtype=bool)
        if method == "aberth" and np.any(lead):
            sub = np.flatnonzero(lead)
            r_sub = np.empty((sub.size, n), dtype=np.complex128)
            c_sub = np.zeros(sub.size, dtype=np.bool_)
            aberth_kernel(cf[sub], r_sub, c_sub, max_iter, 1e-14)
            roots[sub] = r_sub
            ok[sub] = c_sub
        for b in np.flatnonzero(~ok):     # fallback (and method="numpy"): companion eigenvalues
            r = np.roots(cf[b])
            roots[b] = np.concatenate([r, np.full(n - r.size, np.inf + 0j)]) if r.size < n else r
        return roots
    return _aberth_xp(xp.astype(coefs, xp.complex128), xp, max_iter)


def _aberth_xp(coefs, xp, max_iter):
    """Jacobi-style Aberth-Ehrlich iteration vectorised over problems and roots (any namespace)."""
    bsz, n1 = coefs.shape
    n = n1 - 1
    p = coefs / coefs[:, :1]
    q = xp.flip(p, axis=-1)
    k = xp.arange(n, dtype=xp.float64)
    alt = 0.8 + 0.45 * xp.astype(k % 2 == 1, xp.float64)                 # radii 0.8, 1.25, 0.8, ...
    rad = alt[None, :] * xp.abs(p[:, -1:]) ** (1.0 / n)
    rad = xp.where((rad > 0) & xp.isfinite(rad), rad, xp.ones_like(rad))
    z = xp.astype(rad, xp.complex128) * xp.exp(1j * xp.astype(2 * math.pi * k / n + 0.4, xp.complex128))[None, :]
    eye = xp.eye(n, dtype=xp.complex128)

    def horner(poly, x):
        val = xp.broadcast_to(poly[:, :1], x.shape)
        der = xp.zeros_like(x)
        for i in range(1, n + 1):
            der = der * x + val
            val = val * x + poly[:, i:i + 1]
        return val, der

    for _ in range(max_iter):
        inside = xp.abs(z) <= 1.0
        zi = xp.where(inside, z, xp.ones_like(z))
        zo = xp.where(inside, xp.ones_like(z), 1.0 / z)
        v_in, d_in = horner(p, zi)
        v_out, d_out = horner(q, zo)
        safe = lambda x: xp.where(x == 0, xp.ones_like(x), x)  # noqa: E731
        ratio_in = v_in / safe(d_in)
        lg_out = (n - zo * d_out / safe(v_out)) * zo
        ratio_out = 1.0 / safe(lg_out)
        ratio = xp.where(inside, ratio_in, ratio_out)
        ratio = xp.where(xp.where(inside, v_in, v_out) == 0, xp.zeros_like(ratio), ratio)
        diff = z[:, :, None] - z[:, None, :] + eye
        s = xp.sum((1.0 - eye) / diff, axis=-1)
        den = 1.0 - ratio * s
        step = ratio / safe(den)
        z = z - step
        if float(xp.max(xp.abs(step) / xp.maximum(xp.abs(z), xp.ones_like(xp.abs(z))))) <= 1e-14:
            break
    return z

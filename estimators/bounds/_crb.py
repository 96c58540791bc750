r"""Cramér-Rao bounds: deterministic and stochastic (angles, arbitrary arrays) and the
multidimensional harmonic bound (joint angle/delay/Doppler from an OFDM tensor).

With :math:`\mathbf D = [\mathbf D_1, \dots, \mathbf D_R]` (the steering matrix differentiated
with respect to each source's own parameter of type :math:`r`) and
:math:`\mathbf P_{\mathbf A}^\perp = \mathbf I - \mathbf A(\mathbf A^H\mathbf A)^{-1}\mathbf A^H`
(Stoica and Nehorai, IEEE Trans. ASSP 37(5), 1989, and 38(10), 1990; Van Trees, *Optimum Array
Processing*, eq. (8.110)):

.. math::
    \mathbf F = \frac{2N}{\sigma^2}\mathrm{Re}\Big\{\big(\mathbf D^H\mathbf P_{\mathbf A}^\perp\mathbf D\big)
    \circ\big(\mathbf 1_{R\times R}\otimes\mathbf W\big)^T\Big\},\qquad \mathrm{CRB} = \mathbf F^{-1},

with :math:`\mathbf W = \hat{\mathbf P}` (deterministic/conditional model, signals are unknown
constants) or :math:`\mathbf W = \mathbf P\mathbf A^H\mathbf R^{-1}\mathbf A\mathbf P`,
:math:`\mathbf R = \mathbf A\mathbf P\mathbf A^H + \sigma^2\mathbf I` (stochastic/unconditional model).
The Fisher matrix is solved by a Cholesky factorisation (falling back to LU), and an
ill-conditioned :math:`\mathbf A^H\mathbf A` (coinciding sources) raises a clear error.

Parameter order of ``covariance``: parameter-major, i.e. all sources' first parameter, then all
sources' second parameter (the stacking of :math:`\mathbf D`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sensing import (
    SPEED_OF_LIGHT,
    Array,
    ArrayGeometry,
    HostCopy,
    Numerology,
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_int,
    get_xp,
    steering_derivatives,
    steering_vector,
)

from ..subspace._covariance import check_shape_seq, ct
from ..subspace._grid_search import ula_spacing
from ._results import BoundResult

__all__ = ["crb_deterministic", "crb_stochastic", "crb_harmonic", "HarmonicMap", "ofdm_harmonic_map"]

_COND_LIMIT = 1e-12


def _angles_iv(geometry, azimuth_rad, elevation_rad, wavelength_m, source_covariance, noise_variance,
               n_snapshots, estimate_elevation):
    if not isinstance(geometry, ArrayGeometry):
        raise TypeError(f"`geometry` must be a sensing.ArrayGeometry; got {type(geometry).__name__}.")
    lam = check_float(wavelength_m, "wavelength_m", low=0.0, low_inclusive=False)
    sigma2 = check_float(noise_variance, "noise_variance", low=0.0, low_inclusive=False,
                         why="the bound is infinite-precision (zero) without noise")
    n = check_int(n_snapshots, "n_snapshots", low=1)
    check_bool(estimate_elevation, "estimate_elevation")
    xp = get_xp(azimuth_rad, source_covariance,
                elevation_rad if hasattr(elevation_rad, "shape") else None)
    az = check_array(azimuth_rad, "azimuth_rad", min_ndim=1, kind="real floating", xp=xp)
    az = xp.astype(az, xp.float64)
    k = az.shape[-1]
    if k < 1:
        raise ValueError("`azimuth_rad` must hold at least one source (last axis); got an empty axis.")
    if hasattr(elevation_rad, "shape"):
        el = xp.astype(check_array(elevation_rad, "elevation_rad", kind="real floating", xp=xp), xp.float64)
        el = xp.broadcast_to(el, az.shape)
    else:
        el = xp.full(az.shape, check_float(elevation_rad, "elevation_rad"), dtype=xp.float64)
    p = check_array(source_covariance, "source_covariance", min_ndim=1,
                    kind=("real floating", "complex floating"), xp=xp)
    p = xp.astype(p, xp.complex128)
    if p.shape[-1] != k:
        raise ValueError(f"`source_covariance` must end in ({k},) source powers or ({k}, {k}); got shape {tuple(p.shape)}.")
    if p.ndim == az.ndim:
        p = xp.eye(k, dtype=xp.complex128) * p[..., None, :]              # powers -> diagonal
    elif p.ndim != az.ndim + 1 or p.shape[-2] != k:
        raise ValueError(f"`source_covariance` must have shape (..., {k}) (powers) or (..., {k}, {k}) "
                         f"matching `azimuth_rad` {tuple(az.shape)}; got {tuple(p.shape)}.")
    diag = xp.linalg.diagonal(p)
    tol = 1e-10 * (float(xp.max(xp.abs(diag))) + 1e-300)
    if bool(xp.any(xp.real(diag) < 0)) or bool(xp.any(xp.abs(xp.imag(diag)) > tol)):
        raise ValueError("`source_covariance` must have real, non-negative source powers on its diagonal; "
                         f"got a smallest real part of {float(xp.min(xp.real(diag))):.3g} and a largest "
                         f"|imaginary part| of {float(xp.max(xp.abs(xp.imag(diag)))):.3g}.")
    herm = xp.abs(p - ct(xp, p))
    if bool(xp.any(herm > tol)):
        raise ValueError("`source_covariance` must be Hermitian (a covariance matrix); got a matrix with "
                         f"max |P - P^H| = {float(xp.max(herm)):.3g}.")
    n_el = geometry.n_elements
    n_par = 2 if estimate_elevation else 1
    if n_el <= k:
        raise ValueError(f"`azimuth_rad` holds {k} sources but the array has {n_el} elements; "
                         f"the bound needs K < M (got K={k}, M={n_el}).")
    return xp, lam, sigma2, n, az, el, p, n_par


def _fisher_solve(f, xp):
    """CRB = F^{-1} via Cholesky (LU fallback), with a clear error for a singular F."""
    eye = xp.broadcast_to(xp.eye(f.shape[-1], dtype=f.dtype), f.shape)
    try:
        chol = xp.linalg.cholesky(f)
        linv = xp.linalg.solve(chol, eye)
        crb = xp.matrix_transpose(linv) @ linv
        ok = bool(xp.all(xp.isfinite(crb)))
    except Exception:  # numerically indefinite
        ok = False
    if not ok:
        try:
            crb = xp.linalg.solve(f, eye)
        except Exception as exc:
            raise ValueError("the Fisher information is singular (parameters not identifiable, e.g. "
                             "coinciding sources or a zero-power source).") from exc
    if not bool(xp.all(xp.isfinite(crb))):
        raise ValueError("the Fisher information is singular (parameters not identifiable, e.g. "
                         "coinciding sources or a zero-power source).")
    return 0.5 * (crb + xp.matrix_transpose(crb))


def _check_gram(g, xp, what):
    """Raise when the K x K Gram matrix A^H A is (numerically) singular."""
    d = xp.real(xp.linalg.diagonal(g))
    norm = g / xp.astype(xp.sqrt(d[..., :, None] * d[..., None, :]), g.dtype)
    ev = xp.linalg.eigvalsh(norm)
    if bool(xp.any(ev[..., 0] < _COND_LIMIT)):
        raise ValueError(f"the {what} of the sources are (numerically) linearly dependent "
                         "(coinciding or too closely spaced sources): the bound is infinite.")


def _fisher_core(a, d_list, w, n, sigma2, xp):
    """Fisher matrix from steering a (..., M, K), derivatives [D_r], weight W (..., K, K)."""
    k = a.shape[-1]
    d = xp.concat(d_list, axis=-1)                                        # (..., M, R K)
    gram = ct(xp, a) @ a
    _check_gram(gram, xp, "steering vectors")
    ahd = ct(xp, a) @ d
    proj = ct(xp, d) @ d - ct(xp, ahd) @ xp.linalg.solve(gram, ahd)       # D^H P_perp D
    r = len(d_list)
    wt = xp.matrix_transpose(w)
    big = xp.concat([xp.concat([wt] * r, axis=-1)] * r, axis=-2)          # (1_{RxR} (x) W)^T
    return (2.0 * n / sigma2) * xp.real(proj * big), k, r


def _bound(crb, k, r, names, units, xp):
    std = xp.sqrt(xp.clip(xp.linalg.diagonal(crb), 0.0, None))           # (..., R K) parameter-major
    std = xp.reshape(std, tuple(std.shape[:-1]) + (r, k))
    std = xp.matrix_transpose(std)                                        # (..., K, R)
    if r == 1:
        std = std[..., 0]
    return BoundResult(crb, std, tuple(names), tuple(units))


def crb_deterministic(geometry: ArrayGeometry, azimuth_rad: Array, elevation_rad=0.0, *,
                      wavelength_m: float, source_covariance: Array, noise_variance: float,
                      n_snapshots: int, estimate_elevation: bool = False) -> BoundResult:
    r"""Deterministic (conditional) CRB on the angles for an arbitrary array.

    .. math::
        \mathrm{CRB}_{\mathrm{det}} = \frac{\sigma^2}{2N}\Big[\mathrm{Re}\big\{(\mathbf D^H\mathbf P_{\mathbf A}^\perp\mathbf D)
        \circ(\mathbf 1\otimes\hat{\mathbf P})^T\big\}\Big]^{-1}

    Parameters
    ----------
    geometry : ArrayGeometry
        The array (package convention, broadside = azimuth 0).
    azimuth_rad : array, shape (..., n_sources)
        True azimuths [rad]; leading axes are independent scenarios.
    elevation_rad : float or array broadcastable to ``azimuth_rad``, default=0
        True elevations [rad] (known unless ``estimate_elevation``).
    wavelength_m : float
        Carrier wavelength [m].
    source_covariance : array, shape (..., n_sources) or (..., n_sources, n_sources)
        Source powers (diagonal) or the sample source covariance :math:`\hat{\mathbf P}` [linear].
    noise_variance : float
        :math:`\sigma^2 > 0` per element.
    n_snapshots : int
        :math:`N`.
    estimate_elevation : bool, default=False
        Bound azimuth and elevation jointly (2-D arrays).

    Returns
    -------
    BoundResult
        ``covariance`` (..., R K, R K) [rad^2]; ``std`` (..., K) or (..., K, 2) [rad].

    Raises
    ------
    ValueError
        Coinciding sources (singular :math:`\mathbf A^H\mathbf A`), :math:`K \ge M`, non-positive noise.

    Notes
    -----
    Single source on a half-wavelength ULA: :math:`\mathrm{var}(\hat\mu) \ge 6/(N\,\mathrm{SNR}\,M(M^2-1))`
    with :math:`\mu = \pi\sin\phi`, i.e. :math:`\mathrm{var}(\hat\phi) \ge 6/(N\,\mathrm{SNR}\,M(M^2-1)\pi^2\cos^2\phi)`.

    References
    ----------
    P. Stoica and A. Nehorai, "MUSIC, maximum likelihood, and Cramér-Rao bound," IEEE Trans. ASSP,
    37(5), 1989.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import ula
    >>> from estimators import crb_deterministic
    >>> g = ula(8, 0.5)
    >>> crb = crb_deterministic(g, np.array([-0.4, 0.3]), wavelength_m=1.0, source_covariance=np.eye(2),
    ...                         noise_variance=0.1, n_snapshots=100)
    >>> np.round(np.degrees(crb.std), 4), crb.covariance.shape   # [deg]
    (array([0.0695, 0.067 ]), (2, 2))
    """
    xp, lam, sigma2, n, az, el, p, n_par = _angles_iv(geometry, azimuth_rad, elevation_rad, wavelength_m,
                                                      source_covariance, noise_variance, n_snapshots,
                                                      estimate_elevation)
    a = steering_vector(geometry, az, el, wavelength_m=lam)
    d_az, d_el = steering_derivatives(geometry, az, el, wavelength_m=lam)
    f, k, r = _fisher_core(a, [d_az, d_el] if estimate_elevation else [d_az], p, n, sigma2, xp)
    names = ("azimuth_rad", "elevation_rad")[:r]
    return _bound(_fisher_solve(f, xp), k, r, names, ("rad",) * r, xp)


def crb_stochastic(geometry: ArrayGeometry, azimuth_rad: Array, elevation_rad=0.0, *,
                   wavelength_m: float, source_covariance: Array, noise_variance: float,
                   n_snapshots: int, estimate_elevation: bool = False, uncorrelated: bool = False) -> BoundResult:
    r"""Stochastic (unconditional) CRB on the angles for an arbitrary array.

    .. math::
        \mathrm{CRB}_{\mathrm{sto}} = \frac{\sigma^2}{2N}\Big[\mathrm{Re}\big\{(\mathbf D^H\mathbf P_{\mathbf A}^\perp\mathbf D)
        \circ(\mathbf 1\otimes\mathbf P\mathbf A^H\mathbf R^{-1}\mathbf A\mathbf P)^T\big\}\Big]^{-1},
        \qquad \mathbf R = \mathbf A\mathbf P\mathbf A^H + \sigma^2\mathbf I.

    Parameters are those of :func:`crb_deterministic`, with ``source_covariance`` the true
    (Gaussian) source covariance :math:`\mathbf P`. Correlated and coherent sources are allowed
    (the bound stays finite while :math:`\mathbf A` has full column rank). For one source,
    :math:`\mathrm{CRB}_{\mathrm{sto}} = \mathrm{CRB}_{\mathrm{det}}(1 + 1/(M\,\mathrm{SNR}))`.

    ``uncorrelated=True``: the sources are *known* to be uncorrelated (:math:`\mathbf P` diagonal,
    its off-diagonal entries are not parameters; ``source_covariance`` must then be diagonal). The
    unknowns are the angles, the powers :math:`p_k` and :math:`\sigma^2`, and the bound is the
    Slepian-Bangs inverse Fisher matrix of the Gaussian model,
    :math:`F_{ij} = N\,\mathrm{tr}(\mathbf R^{-1}\partial_i\mathbf R\,\mathbf R^{-1}\partial_j\mathbf R)`,
    :math:`\partial_{\theta_k}\mathbf R = p_k(\mathbf d_k\mathbf a_k^H + \mathbf a_k\mathbf d_k^H)`,
    :math:`\partial_{p_k}\mathbf R = \mathbf a_k\mathbf a_k^H`, :math:`\partial_{\sigma^2}\mathbf R = \mathbf I`
    (Jansson, Göransson and Ottersten, IEEE Trans. SP 47(3), 1999; doatools'
    ``crb_stouc_farfield_1d``). It is never larger than the bound for an unknown :math:`\mathbf P`
    and equals it for one source.

    Returns
    -------
    BoundResult

    References
    ----------
    P. Stoica, E. G. Larsson and A. B. Gershman, "The stochastic CRB for array processing: a
    textbook derivation," IEEE Signal Process. Lett., 8(5), 2001. M. Jansson, B. Göransson and
    B. Ottersten, "A subspace method for direction of arrival estimation of uncorrelated emitter
    signals," IEEE Trans. Signal Process., 47(4), 1999.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import ula
    >>> from estimators import crb_deterministic, crb_stochastic
    >>> g = ula(8, 0.5)
    >>> kw = dict(wavelength_m=1.0, source_covariance=np.eye(2), noise_variance=0.1, n_snapshots=100)
    >>> sto = crb_stochastic(g, np.array([-0.4, 0.3]), **kw)
    >>> np.round(np.degrees(sto.std), 4)
    array([0.0699, 0.0674])
    >>> bool(np.all(sto.std >= crb_deterministic(g, np.array([-0.4, 0.3]), **kw).std))   # stochastic >= deterministic
    True
    """
    xp, lam, sigma2, n, az, el, p, n_par = _angles_iv(geometry, azimuth_rad, elevation_rad, wavelength_m,
                                                      source_covariance, noise_variance, n_snapshots,
                                                      estimate_elevation)
    check_bool(uncorrelated, "uncorrelated")
    a = steering_vector(geometry, az, el, wavelength_m=lam)
    d_az, d_el = steering_derivatives(geometry, az, el, wavelength_m=lam)
    m = a.shape[-2]
    r_cov = a @ p @ ct(xp, a) + sigma2 * xp.eye(m, dtype=xp.complex128)
    if uncorrelated:
        return _crb_uncorrelated(xp, a, [d_az, d_el] if estimate_elevation else [d_az], p, r_cov, n)
    w = p @ ct(xp, a) @ xp.linalg.solve(r_cov, a @ p)
    w = 0.5 * (w + ct(xp, w))
    f, k, r = _fisher_core(a, [d_az, d_el] if estimate_elevation else [d_az], w, n, sigma2, xp)
    names = ("azimuth_rad", "elevation_rad")[:r]
    return _bound(_fisher_solve(f, xp), k, r, names, ("rad",) * r, xp)


def _crb_uncorrelated(xp, a, d_list, p, r_cov, n):
    """Slepian-Bangs CRB of the angles with diagonal P (powers and noise variance unknown)."""
    k = a.shape[-1]
    off = p - xp.eye(k, dtype=p.dtype) * p
    if bool(xp.any(xp.abs(off) > 1e-12 * (float(xp.max(xp.abs(p))) + 1e-300))):
        raise ValueError("uncorrelated=True needs a diagonal `source_covariance` (or a vector of powers); "
                         f"got off-diagonal entries up to {float(xp.max(xp.abs(off))):.3g}.")
    _check_gram(ct(xp, a) @ a, xp, "steering vectors")
    pw = xp.real(xp.linalg.diagonal(p))                                       # (..., K)
    m = a.shape[-2]
    at = xp.moveaxis(a, -1, -2)                                               # (..., K, M)
    outer = lambda u, v: u[..., :, None] * xp.conj(v)[..., None, :]          # noqa: E731  (..., K, M, M)
    blocks = []
    for d in d_list:
        dt = xp.moveaxis(d, -1, -2)
        da = outer(dt, at)
        blocks.append(xp.astype(pw, xp.complex128)[..., None, None] * (da + ct(xp, da)))
    blocks.append(outer(at, at))
    lead = tuple(a.shape[:-2])
    blocks.append(xp.broadcast_to(xp.eye(m, dtype=xp.complex128), lead + (1, m, m)))
    dr = xp.concat(blocks, axis=-3)                                           # (..., n_par, M, M)
    x = xp.linalg.solve(r_cov[..., None, :, :], dr)                           # R^{-1} dR_i
    xt = xp.matrix_transpose(x)
    f = float(n) * xp.real(xp.sum(x[..., :, None, :, :] * xt[..., None, :, :, :], axis=(-2, -1)))
    f = 0.5 * (f + xp.matrix_transpose(f))
    r = len(d_list)
    crb = _fisher_solve(f, xp)[..., :r * k, :r * k]
    names = ("azimuth_rad", "elevation_rad")[:r]
    return _bound(crb, k, r, names, ("rad",) * r, xp)


def crb_harmonic(frequencies: Array, gains: Array, *, shape, noise_variance: float,
                 scale: Array | None = None, parameters=None, units=None) -> BoundResult:
    r"""CRB of the multidimensional harmonic model (all parameters jointly, gains as nuisance).

    .. math::
        \mathcal Y[i_1,\dots,i_R] = \sum_{k=1}^K b_k\prod_{r=1}^R e^{j\mu_{r,k}i_r} + \mathcal N,
        \quad \mathcal N \sim \mathcal{CN}(0, \sigma^2)

    (single snapshot; with several snapshots the amplitudes :math:`b_{k,n}` are deterministic
    nuisances per snapshot). The Gram blocks are Hadamard products of per-dimension
    :math:`K\times K` matrices (:math:`(\mathbf X_1\odot\mathbf X_2)^H(\mathbf Y_1\odot\mathbf Y_2)
    = (\mathbf X_1^H\mathbf Y_1)\circ(\mathbf X_2^H\mathbf Y_2)`), so the Khatri-Rao steering matrix is never
    formed: the cost is :math:`O(K^2\sum_r M_r + (RK)^3)` whatever the tensor size.

    Parameters
    ----------
    frequencies : array, shape (..., n_sources, R)
        True frequencies :math:`\mu_{r,k}` [rad/sample]; dimension :math:`r` has steering
        :math:`[e^{j\mu_r i}]_{i=0}^{M_r-1}` (an OFDM tensor: antenna, subcarrier
        :math:`\mu = -2\pi\Delta f\tau`, symbol :math:`\mu = 2\pi T_Of_D`).
    gains : array, shape (..., n_sources) or (..., n_sources, n_snapshots), complex
        Amplitudes :math:`b_k` (linear).
    shape : sequence of int
        :math:`(M_1, \dots, M_R)`.
    noise_variance : float
        :math:`\sigma^2` per sample.
    scale : array broadcastable to (..., n_sources, R), optional
        :math:`\partial\mu_{r,k}/\partial\eta_{r,k}` for physical parameters
        :math:`\eta` (e.g. from :func:`ofdm_harmonic_map`); the bound is then
        :math:`\mathbf G\,\mathrm{CRB}(\boldsymbol\mu)\mathbf G^T` with :math:`\mathbf G = \mathrm{diag}(1/\text{scale})`.
        Default: the bound on :math:`\mu` itself.
    parameters, units : sequence of str, optional
        Names and units of the R parameters (default ``"frequency_rad"``, ``"rad"``).

    Returns
    -------
    BoundResult
        ``covariance`` (..., R K, R K) parameter-major; ``std`` (..., K, R) in physical units.

    Raises
    ------
    ValueError
        Coinciding components, a zero gain, :math:`\sigma^2 \le 0`, shape mismatch.

    Notes
    -----
    One component: :math:`\mathrm{var}(\hat\mu_r) \ge 6\sigma^2/(|b|^2M_{\mathrm{tot}}(M_r^2-1))` (for
    :math:`R = 1` the bound of Rife and Boorstyn, IEEE Trans. Inf. Theory 20(5), 1974).

    References
    ----------
    R. Boyer, "Deterministic asymptotic Cramér-Rao bound for the multidimensional harmonic model,"
    Signal Processing, 88(12), 2008.

    Examples
    --------
    Two 2-D harmonics on an 8 x 16 grid at unit amplitude, noise variance 0.01:

    >>> import numpy as np
    >>> from estimators import crb_harmonic
    >>> mu = np.array([[0.5, -1.0], [-0.7, 2.0]])         # (n_sources, R) [rad/sample]
    >>> crb = crb_harmonic(mu, np.array([1.0, 1.0j]), shape=(8, 16), noise_variance=0.01)
    >>> crb.std.shape, crb.parameters
    ((2, 2), ('frequency_rad', 'frequency_rad'))
    >>> np.round(crb.std * 1e3, 3)                       # [mrad/sample]
    array([[2.728, 1.356],
           [2.728, 1.356]])
    """
    xp = get_xp(frequencies, gains, scale)
    mu = xp.astype(check_array(frequencies, "frequencies", min_ndim=2, kind="real floating", xp=xp), xp.float64)
    k, r_dims = mu.shape[-2], mu.shape[-1]
    dims = check_shape_seq(shape, "shape")
    if len(dims) != r_dims:
        raise ValueError(f"`shape` must have one entry per frequency column ({r_dims}); got {len(dims)}.")
    sigma2 = check_float(noise_variance, "noise_variance", low=0.0, low_inclusive=False)
    b = xp.astype(check_array(gains, "gains", min_ndim=1, kind=("real floating", "complex floating"), xp=xp),
                  xp.complex128)
    if b.ndim == mu.ndim - 1:
        b = b[..., None]                                                    # one snapshot
    if b.shape[-2] != k:
        raise ValueError(f"`gains` must have {k} sources on its source axis; got shape {tuple(b.shape)}.")
    if math.prod(dims) <= k:
        raise ValueError(f"the tensor has {math.prod(dims)} samples for {k} components; need more samples than components.")
    s0, s1, s2 = [], [], []
    for r, m_r in enumerate(dims):
        i = xp.arange(m_r, dtype=xp.float64)
        dmu = mu[..., None, :, r] - mu[..., :, None, r]                    # (..., K, K): mu_q - mu_p
        e = xp.exp(1j * xp.astype(dmu[..., None] * i, xp.complex128))     # (..., K, K, M_r)
        ic = xp.astype(i, xp.complex128)
        s0.append(xp.sum(e, axis=-1))
        s1.append(xp.sum(e * ic, axis=-1))
        s2.append(xp.sum(e * ic * ic, axis=-1))

    def prod_except(*skip):
        out = None
        for r in range(r_dims):
            if r not in skip:
                out = s0[r] if out is None else out * s0[r]
        return out if out is not None else xp.ones_like(s0[0])

    gram = prod_except()
    _check_gram(gram, xp, "Vandermonde steering vectors")
    ahd = xp.concat([prod_except(r) * (1j * s1[r]) for r in range(r_dims)], axis=-1)        # A^H D
    rows = []
    for r in range(r_dims):
        row = []
        for q in range(r_dims):
            row.append(prod_except(r) * s2[r] if r == q else prod_except(r, q) * s1[r] * s1[q])
        rows.append(xp.concat(row, axis=-1))
    dhd = xp.concat(rows, axis=-2)
    proj = dhd - ct(xp, ahd) @ xp.linalg.solve(gram, ahd)
    w = b @ ct(xp, b)                                                       # sum_n b_n b_n^H
    if bool(xp.any(xp.real(xp.linalg.diagonal(w)) <= 0)):
        raise ValueError("`gains` must be non-zero for every component (a zero gain makes its parameters unidentifiable).")
    wt = xp.matrix_transpose(w)
    big = xp.concat([xp.concat([wt] * r_dims, axis=-1)] * r_dims, axis=-2)
    f = (2.0 / sigma2) * xp.real(proj * big)
    crb = _fisher_solve(f, xp)
    names = tuple(parameters) if parameters is not None else ("frequency_rad",) * r_dims
    unit = tuple(units) if units is not None else ("rad",) * r_dims
    if len(names) != r_dims or len(unit) != r_dims:
        raise ValueError(f"`parameters` and `units` must have {r_dims} entries each.")
    if scale is not None:
        sc = xp.astype(check_array(scale, "scale", kind=("real floating", "integral"), xp=xp), xp.float64)
        sc = xp.broadcast_to(sc, mu.shape)
        if bool(xp.any(sc == 0)):
            raise ValueError("`scale` (d mu / d parameter) must be non-zero everywhere.")
        g = xp.reshape(xp.matrix_transpose(1.0 / sc), tuple(mu.shape[:-2]) + (r_dims * k,))   # parameter-major
        crb = crb * (g[..., :, None] * g[..., None, :])
    res = _bound(crb, k, r_dims, names, unit, xp)
    if r_dims == 1:                      # keep (..., K, R) for the harmonic bound
        res = BoundResult(res.covariance, res.std[..., None], res.parameters, res.units)
    return res


@dataclass(frozen=True)
class HarmonicMap(HostCopy):
    """Frequencies of an OFDM tensor's components and their derivatives w.r.t. physical parameters.

    Attributes
    ----------
    frequencies : array, shape (..., n_paths, 3)
        :math:`(\\mu_{\\mathrm{ant}}, \\mu_{\\mathrm{delay}}, \\mu_{\\mathrm{Doppler}})` [rad/sample].
    scale : array, shape (..., n_paths, 3)
        :math:`\\partial\\mu/\\partial\\eta` for the physical parameters in ``parameters``.
    parameters, units : tuple of str
        Names and units of the physical parameters.
    """

    frequencies: Array
    scale: Array
    parameters: tuple
    units: tuple


def ofdm_harmonic_map(geometry: ArrayGeometry, numerology: Numerology, *, azimuth_rad: Array,
                      delays_s: Array, doppler_hz: Array, elevation_rad=0.0, delay_as: str = "delay_s",
                      doppler_as: str = "doppler_hz") -> HarmonicMap:
    r"""Map paths to the frequencies of an antenna x subcarrier x symbol tensor (and the Jacobian).

    With a ULA along :math:`y` (spacing :math:`d`), subcarriers :math:`f_k = k\Delta f` (the CFR
    factor :math:`e^{-j2\pi f_k\tau}`) and symbols :math:`tT_O` (factor :math:`e^{+j2\pi f_DtT_O}`):

    .. math::
        \mu_{\mathrm{ant}} = 2\pi\frac{d}{\lambda}\sin\phi\cos\vartheta,\qquad
        \mu_{\mathrm{delay}} = -2\pi\Delta f\tau,\qquad \mu_{\mathrm{Doppler}} = 2\pi T_Of_D.

    (A centred numerology only changes the component phases, not :math:`\mu`.)

    Parameters
    ----------
    geometry : ArrayGeometry
        A ULA along y (``sensing.ula``).
    numerology : Numerology
        Gives :math:`\lambda`, :math:`\Delta f` and :math:`T_O`.
    azimuth_rad, delays_s, doppler_hz : array, shape (..., n_paths)
        Path parameters [rad, s, Hz].
    elevation_rad : float or array, default=0
        Path elevations [rad] (the bound is on azimuth at this known elevation).
    delay_as : {"delay_s", "path_length_m", "range_m"}, default="delay_s"
        Physical delay parameter: :math:`\tau` [s], one-way path length :math:`c\tau` [m], or
        monostatic range :math:`c\tau/2` [m].
    doppler_as : {"doppler_hz", "velocity_mps", "radial_velocity_mps"}, default="doppler_hz"
        :math:`f_D` [Hz], one-way velocity :math:`cf_D/f_c` [m/s], or monostatic radial velocity
        :math:`cf_D/(2f_c)` [m/s].

    Returns
    -------
    HarmonicMap
        Feed ``frequencies`` and ``scale`` (and ``parameters``/``units``) to :func:`crb_harmonic`
        with ``shape=(n_elements, n_subcarriers, n_symbols)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import Numerology, ula
    >>> from estimators import crb_harmonic, ofdm_harmonic_map
    >>> num = Numerology(28e9, 120e3, 64, 32)
    >>> g = ula(8, num.wavelength_m / 2)
    >>> hm = ofdm_harmonic_map(g, num, azimuth_rad=np.array([-0.5, 0.1]), delays_s=np.array([100e-9, 400e-9]),
    ...                        doppler_hz=np.array([2000.0, -3000.0]))
    >>> hm.frequencies.shape, hm.parameters, hm.units
    ((2, 3), ('azimuth_rad', 'delay_s', 'doppler_hz'), ('rad', 's', 'Hz'))
    >>> crb = crb_harmonic(hm.frequencies, np.ones(2), shape=(8, 64, 32), noise_variance=0.01, scale=hm.scale,
    ...                    parameters=hm.parameters, units=hm.units)
    >>> np.round(crb.std[:, 1] * 1e12, 2)                # delay std [ps]
    array([39.66, 39.66])
    """
    if not isinstance(numerology, Numerology):
        raise TypeError(f"`numerology` must be a sensing.Numerology; got {type(numerology).__name__}.")
    if not isinstance(geometry, ArrayGeometry):
        raise TypeError(f"`geometry` must be a sensing.ArrayGeometry; got {type(geometry).__name__}.")
    d = ula_spacing(geometry)
    if d is None:
        raise ValueError(f"`geometry` must be a ULA along y (sensing.ula) for the antenna frequency; got a {geometry.kind} array.")
    check_choice(delay_as, "delay_as", ("delay_s", "path_length_m", "range_m"))
    check_choice(doppler_as, "doppler_as", ("doppler_hz", "velocity_mps", "radial_velocity_mps"))
    xp = get_xp(azimuth_rad, delays_s, doppler_hz)
    az = xp.astype(check_array(azimuth_rad, "azimuth_rad", min_ndim=1, kind="real floating", xp=xp), xp.float64)
    tau = xp.astype(check_array(delays_s, "delays_s", min_ndim=1, kind="real floating", xp=xp), xp.float64)
    fd = xp.astype(check_array(doppler_hz, "doppler_hz", min_ndim=1, kind="real floating", xp=xp), xp.float64)
    el = xp.astype(check_array(elevation_rad, "elevation_rad", kind="real floating", xp=xp), xp.float64) \
        if hasattr(elevation_rad, "shape") else check_float(elevation_rad, "elevation_rad")
    lam = numerology.wavelength_m
    df = numerology.subcarrier_spacing_hz
    t_o = numerology.symbol_duration_s
    kd = 2 * math.pi * d / lam
    ce = xp.cos(el) if hasattr(el, "shape") else math.cos(el)
    mu_a = kd * xp.sin(az) * ce
    mu_t = -2 * math.pi * df * tau
    mu_d = 2 * math.pi * t_o * fd
    c = SPEED_OF_LIGHT
    s_a = kd * xp.cos(az) * ce
    s_t = {"delay_s": -2 * math.pi * df, "path_length_m": -2 * math.pi * df / c,
           "range_m": -4 * math.pi * df / c}[delay_as]
    s_d = {"doppler_hz": 2 * math.pi * t_o, "velocity_mps": 2 * math.pi * t_o * numerology.carrier_hz / c,
           "radial_velocity_mps": 4 * math.pi * t_o * numerology.carrier_hz / c}[doppler_as]
    freqs = xp.stack(xp.broadcast_arrays(mu_a, mu_t, mu_d), axis=-1)
    scale = xp.stack([s_a, xp.full(s_a.shape, s_t, dtype=xp.float64), xp.full(s_a.shape, s_d, dtype=xp.float64)], axis=-1)
    units = ("rad", {"delay_s": "s", "path_length_m": "m", "range_m": "m"}[delay_as],
             {"doppler_hz": "Hz", "velocity_mps": "m/s", "radial_velocity_mps": "m/s"}[doppler_as])
    return HarmonicMap(freqs, scale, ("azimuth_rad", delay_as, doppler_as), units)

r"""Model-order selection: AIC and MDL (Wax and Kailath).

With the eigenvalues :math:`l_1 \ge \cdots \ge l_M` of a sample covariance of :math:`N`
snapshots and :math:`a_k`, :math:`g_k` the arithmetic and geometric means of the :math:`M-k`
smallest,

.. math::
    \mathrm{AIC}(k) = 2N(M-k)\ln\frac{a_k}{g_k} + 2k(2M-k),\qquad
    \mathrm{MDL}(k) = N(M-k)\ln\frac{a_k}{g_k} + \tfrac12k(2M-k)\ln N,

and :math:`\hat K = \arg\min_{k=0,\dots,M-1}` (M. Wax and T. Kailath, "Detection of signals by
information theoretic criteria," IEEE Trans. ASSP 33(2):387-392, 1985). :func:`sorte` (He,
Cichocki, Xie and Choi 2010) needs no snapshot count: it looks for the gap between the signal
and the noise eigenvalues by the second-order statistics of the eigenvalue gaps.
"""

from __future__ import annotations

import math

from sensing import Array, check_array, check_bool, check_int, get_xp

from ._covariance import complex_dtype_for, ct, real_dtype_for
from ._results import ModelOrder

__all__ = ["aic", "mdl", "sorte"]


def aic(data: Array | None = None, *, covariance: bool = False, eigenvalues: Array | None = None,
        n_snapshots: int | None = None) -> ModelOrder:
    r"""Akaike information criterion for the number of sources (Wax-Kailath form).

    Parameters
    ----------
    data : array, shape (..., n_elements, n_snapshots) or (..., n, n), optional
        Snapshots :math:`\mathbf X`, or a covariance when ``covariance=True``.
    covariance : bool, default=False
        Whether ``data`` is a covariance (then ``n_snapshots`` is required).
    eigenvalues : array, shape (..., n), real, optional
        Covariance eigenvalues in any order, instead of ``data`` (needs ``n_snapshots``).
    n_snapshots : int, optional
        Number of independent snapshots :math:`N` behind the covariance. After smoothing or
        forward-backward averaging the effective number is smaller than the column count and the
        penalty is only approximate (for a form adapted to forward-backward averaging see Xu, Roy
        and Kailath, IEEE Trans. SP 42(1), 1994).

    Returns
    -------
    ModelOrder
        ``n_sources`` of shape ``(...)``; AIC is not consistent (it may overestimate even for
        large :math:`N`) but detects weak sources at lower SNR than MDL.

    Raises
    ------
    ValueError
        For NaN/inf input, a non-square covariance, or a missing ``n_snapshots``.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import steering_vector, ula
    >>> from estimators import aic
    >>> rng = np.random.default_rng(0)
    >>> a = steering_vector(ula(8, 0.5), np.array([-0.4, 0.3]), wavelength_m=1.0)
    >>> x = a @ (rng.standard_normal((2, 100)) + 1j * rng.standard_normal((2, 100)))
    >>> x = x + 0.1 * (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape))
    >>> int(aic(x).n_sources)
    2
    """
    return _criterion("aic", data, covariance, eigenvalues, n_snapshots)


def mdl(data: Array | None = None, *, covariance: bool = False, eigenvalues: Array | None = None,
        n_snapshots: int | None = None) -> ModelOrder:
    r"""Minimum description length (Rissanen/Wax-Kailath) for the number of sources.

    Same parameters as :func:`aic`. MDL is consistent: the probability of choosing the true
    order tends to one as :math:`N` grows (white noise, independent snapshots).

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import steering_vector, ula
    >>> from estimators import mdl
    >>> rng = np.random.default_rng(0)
    >>> a = steering_vector(ula(8, 0.5), np.array([-0.4, 0.0, 0.3]), wavelength_m=1.0)
    >>> x = a @ (rng.standard_normal((3, 100)) + 1j * rng.standard_normal((3, 100)))
    >>> x = x + 0.1 * (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape))
    >>> order = mdl(x)
    >>> int(order.n_sources), order.method, order.eigenvalues.shape
    (3, 'mdl', (8,))
    """
    return _criterion("mdl", data, covariance, eigenvalues, n_snapshots)


def _criterion(method, data, covariance, eigenvalues, n_snapshots) -> ModelOrder:
    check_bool(covariance, "covariance")
    if (data is None) == (eigenvalues is None):
        raise ValueError("give exactly one of `data` (snapshots or covariance) and `eigenvalues`; "
                         f"got {'both' if data is not None else 'neither'}.")
    if eigenvalues is not None:
        xp = get_xp(eigenvalues)
        vals = check_array(eigenvalues, "eigenvalues", min_ndim=1, kind=("real floating", "integral"), xp=xp)
        if vals.shape[-1] < 1:
            raise ValueError("`eigenvalues` must hold at least one value; got an empty last axis.")
        if not xp.isdtype(vals.dtype, "real floating"):
            vals = xp.astype(vals, xp.float64)
        if n_snapshots is None:
            raise ValueError("`n_snapshots` is required with `eigenvalues` (the N of the covariance).")
        n = check_int(n_snapshots, "n_snapshots", low=1)
        vals = xp.flip(xp.sort(vals, axis=-1), axis=-1)
    else:
        xp = get_xp(data)
        x = check_array(data, "data", min_ndim=2, kind=("real floating", "complex floating"), xp=xp)
        if covariance:
            if x.shape[-1] != x.shape[-2]:
                raise ValueError(f"`data` must be square in its last two axes when covariance=True; "
                                 f"got shape {tuple(x.shape)}.")
            if n_snapshots is None:
                raise ValueError("`n_snapshots` is required with covariance=True (the N behind the covariance).")
            n = check_int(n_snapshots, "n_snapshots", low=1)
            r = xp.astype(x, complex_dtype_for(xp, x.dtype))
        else:
            n = x.shape[-1] if n_snapshots is None else check_int(n_snapshots, "n_snapshots", low=1)
            xc = xp.astype(x, complex_dtype_for(xp, x.dtype))
            r = (xc @ ct(xp, xc)) / x.shape[-1]
        r = 0.5 * (r + ct(xp, r))
        vals = xp.flip(xp.linalg.eigvalsh(r), axis=-1)
        vals = xp.astype(vals, real_dtype_for(xp, x.dtype))
    crit = criterion_from_eigenvalues(xp, vals, n, method)
    return ModelOrder(xp.argmin(crit, axis=-1), crit, vals, method)


def criterion_from_eigenvalues(xp, vals, n: int, method: str):
    """AIC/MDL for every k from descending eigenvalues (..., M); zero/negative values are floored."""
    m = vals.shape[-1]
    work = xp.astype(vals, xp.float64)
    top = xp.max(xp.abs(work), axis=-1, keepdims=True)
    floor = xp.where(top > 0, top * 1e-14 * m, xp.ones_like(top))
    work = xp.maximum(work, floor)                     # noiseless data: finite, order still found
    rev = xp.flip(work, axis=-1)                       # ascending
    tail_sum = xp.flip(xp.cumulative_sum(rev, axis=-1), axis=-1)            # sum_{i>=k} l_i
    tail_log = xp.flip(xp.cumulative_sum(xp.log(rev), axis=-1), axis=-1)    # sum_{i>=k} ln l_i
    cnt = xp.arange(m, 0, -1, dtype=xp.float64)                             # M - k
    log_ratio = xp.log(tail_sum / cnt) - tail_log / cnt                     # ln(a_k / g_k) >= 0
    log_ratio = xp.maximum(log_ratio, 0.0)
    k = float(m) - cnt
    if method == "aic":
        crit = 2.0 * n * cnt * log_ratio + 2.0 * k * (2.0 * m - k)
    else:
        crit = n * cnt * log_ratio + 0.5 * k * (2.0 * m - k) * math.log(max(n, 1))
    return xp.astype(crit, vals.dtype)


def sorte(data: Array | None = None, *, covariance: bool = False, eigenvalues: Array | None = None) -> ModelOrder:
    r"""SORTE: the number of sources from the second-order statistics of the eigenvalue gaps.

    With descending eigenvalues :math:`\lambda_1 \ge \dots \ge \lambda_M`, the gaps
    :math:`\nabla\lambda_i = \lambda_i - \lambda_{i+1}` (:math:`i = 1, \dots, M-1`) and
    :math:`\sigma_k^2` the variance of :math:`\{\nabla\lambda_i\}_{i=k}^{M-1}`,

    .. math::
        \mathrm{SORTE}(k) = \begin{cases}\sigma_{k+1}^2/\sigma_k^2, & \sigma_k^2 > 0\\
        +\infty, & \sigma_k^2 = 0\end{cases}, \qquad
        \hat K = \arg\min_{k = 1, \dots, M-3}\mathrm{SORTE}(k)

    (the gap after the K-th eigenvalue is the large one; once it leaves the set the variance
    collapses). No snapshot count is needed, so covariance input works as is. SORTE assumes at
    least one source and :math:`M \ge 4` (:math:`\hat K \le M - 3`).

    Parameters
    ----------
    data : array, shape (..., n_elements, n_snapshots) or (..., n, n), optional
        Snapshots, or a covariance with ``covariance=True``.
    covariance : bool, default=False
        Whether ``data`` is a covariance.
    eigenvalues : array, shape (..., n), real, optional
        Covariance eigenvalues in any order, instead of ``data``.

    Returns
    -------
    ModelOrder
        ``criterion[..., k]`` = SORTE(k), :math:`+\infty` outside :math:`k = 1, \dots, M-3`;
        ``method`` = ``"sorte"``.

    Raises
    ------
    ValueError
        NaN/inf input, fewer than 4 eigenvalues, or not exactly one of ``data``/``eigenvalues``.

    References
    ----------
    Z. He, A. Cichocki, S. Xie and K. Choi, "Detecting the number of clusters in n-way
    probabilistic clustering," IEEE Trans. Pattern Anal. Mach. Intell., 32(11):2006-2021, 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import sorte
    >>> order = sorte(eigenvalues=np.array([9.0, 6.0, 4.0, 1.05, 1.0, 0.98, 0.96, 0.9]))
    >>> int(order.n_sources), order.method
    (3, 'sorte')
    """
    n_dummy = 1
    crit_src = _criterion("mdl", data, covariance, eigenvalues, n_dummy if (eigenvalues is not None or covariance)
                          else None)
    vals = crit_src.eigenvalues
    xp = get_xp(vals)
    m = vals.shape[-1]
    if m < 4:
        raise ValueError(f"SORTE needs at least 4 eigenvalues (it estimates K <= M - 3); got {m}.")
    work = xp.astype(vals, xp.float64)
    gaps = work[..., :-1] - work[..., 1:]                                    # (..., M-1), gap i = k - 1
    rev = xp.flip(gaps, axis=-1)
    cnt = xp.arange(1, m, dtype=xp.float64)                                   # sizes of the tails, reversed
    s1 = xp.flip(xp.cumulative_sum(rev, axis=-1), axis=-1)
    s2 = xp.flip(xp.cumulative_sum(rev * rev, axis=-1), axis=-1)
    n_tail = xp.flip(cnt)                                                     # M-1, ..., 1
    var = xp.maximum(s2 / n_tail - (s1 / n_tail) ** 2, 0.0)                   # var[j] = sigma^2_{j+1}
    scale = xp.max(xp.abs(work), axis=-1, keepdims=True)
    pos = var[..., :-1] > 1e-24 * scale * scale
    ratio = xp.where(pos, var[..., 1:] / xp.where(pos, var[..., :-1], xp.ones_like(var[..., :-1])),
                     xp.full(var[..., 1:].shape, xp.inf, dtype=xp.float64))   # SORTE(k), k = 1..M-2
    inf = xp.full(tuple(work.shape[:-1]) + (1,), xp.inf, dtype=xp.float64)
    crit = xp.concat([inf, ratio[..., :m - 3], xp.full(tuple(work.shape[:-1]) + (2,), xp.inf,
                                                       dtype=xp.float64)], axis=-1)   # k = 0..M-1
    return ModelOrder(xp.argmin(crit, axis=-1), xp.astype(crit, vals.dtype), vals, "sorte")

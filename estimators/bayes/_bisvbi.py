r"""BiSVBI on a fixed dictionary: joint channel estimation and data recovery for uplink multi-user ISAC.

:func:`bisvbi` runs the bilinear E-step of :mod:`estimators.bayes._bilinear_engine` (Liu, Xu, Xu,
Caire, arXiv:2502.00811, Sec. IV) on a given location-domain dictionary; with ``use_data=False`` it
is the pilot-only (Turbo-)SC-VBI special case. The option checks of its signature are shared with
:func:`em_turbo_bisvbi`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from sensing import (
    HostCopy,
    Array,
    asarray_like,
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_int,
    get_xp,
    to_numpy,
)

from ._bilinear_engine import BilinearEngine, check_frame, run_estep
from ._variational import SparsePrior

__all__ = ["BiSVBIResult", "bisvbi", "check_probabilities", "check_engine_options"]


@dataclass(frozen=True)
class BiSVBIResult(HostCopy):
    r"""Result of :func:`bisvbi`.

    Attributes
    ----------
    channels : array, shape (n_users, n_antennas, n_subcarriers), complex
        :math:`\hat{\mathbf h}_{k,n} = \boldsymbol\Phi_{k,n}\boldsymbol\mu_k` (input scale).
    coefficients : array, shape (n_users, n_columns), complex
        :math:`\boldsymbol\mu_k` (zero off the support).
    support : array of bool, shape (n_users, n_columns)
        :math:`\hat S_k`.
    support_probability : array, shape (n_users, n_columns)
        :math:`q(s_{k,j} = 1)` (0 off the support in subspace mode).
    symbols : array, shape (n_users, n_subcarriers, n_symbols), complex
        Pilots on pilot REs, posterior means :math:`\langle s\rangle` on data REs (0 on data REs
        when ``use_data=False``).
    symbol_labels : ndarray of int, shape (n_users, n_data)
        MAP constellation index per data RE (host), in the order of ``data_index``; -1 when
        the data were not used.
    data_index : ndarray of int, shape (2, n_data)
        ``(subcarrier, symbol)`` of each data RE (C order of ``~pilot_mask``).
    noise_variance : float
        :math:`1/\langle\gamma\rangle` (input scale).
    elbo : ndarray, shape (n_iter,)
        ELBO after each iteration (normalised units).
    n_iter : int
    converged : bool
    data_start : int
        First iteration that used the data REs (``n_iter`` if never).
    method : str
    """

    channels: Array
    coefficients: Array
    support: Array
    support_probability: Array
    symbols: Array
    symbol_labels: np.ndarray = field(repr=False)
    data_index: np.ndarray = field(repr=False)
    noise_variance: float = 0.0
    elbo: np.ndarray = field(default=None, repr=False)
    n_iter: int = 0
    converged: bool = False
    data_start: int = 0
    method: str = ""

def _support_iv(support, k, j, allowed):
    if support is None:
        return None
    s = np.asarray(to_numpy(support))
    if s.dtype != bool or s.shape != (k, j):
        raise ValueError(f"`support` must be a bool array of shape ({k}, {j}); got {s.dtype} {s.shape}.")
    if np.any(s & ~allowed):
        raise ValueError("`support` selects columns outside a user's dictionary (`allowed`).")
    return s


def check_probabilities(common_probability, group_probability, los_probability, k):
    lc = check_float(common_probability, "common_probability", low=0.0, high=1.0, low_inclusive=False,
                     high_inclusive=False)
    lg = np.broadcast_to(np.asarray(group_probability, dtype=float), (k,)).copy()
    if np.any(~np.isfinite(lg)) or np.any(lg <= 0) or np.any(lg > 1):
        raise ValueError(f"`group_probability` must be in (0, 1]; got {np.asarray(group_probability).tolist()}.")
    ll = check_float(los_probability, "los_probability", low=0.0, high=1.0, low_inclusive=False,
                     high_inclusive=False)
    return lc, lg, ll


def check_engine_options(prior, max_admit, false_alarm, prune_threshold, ban_iterations, max_support, tol):
    if prior is None:
        prior = SparsePrior()
    if not isinstance(prior, SparsePrior):
        raise TypeError(f"`prior` must be a SparsePrior; got {type(prior).__name__}.")
    return dict(prior=prior, max_admit=check_int(max_admit, "max_admit", low=0),
                false_alarm=check_float(false_alarm, "false_alarm", low=0.0, high=1.0, low_inclusive=False,
                                        high_inclusive=False),
                prune_threshold=check_float(prune_threshold, "prune_threshold", low=0.0, high=1.0,
                                            high_inclusive=False),
                ban_iterations=check_int(ban_iterations, "ban_iterations", low=0),
                max_support=None if max_support is None else check_int(max_support, "max_support", low=1)), \
        check_float(tol, "tol", low=0.0)


def bisvbi(received, *, steering, delay, pilots, pilot_mask, constellation, allowed=None, n_grid=None,
           support_prior: str = "common", subspace: bool = True, use_data: bool = True, prior=None,
           common_probability: float = 0.1, group_probability=0.8, los_probability: float = 0.5,
           support=None, adapt_support: bool = True, max_support: int | None = None, max_admit: int = 1,
           false_alarm: float = 0.1, prune_threshold: float = 0.5, ban_iterations: int = 3,
           max_iter: int = 100, n_pilot_iter: int = 30, tol: float = 1e-4, callback=None) -> BiSVBIResult:
    r"""Joint channel estimation and data recovery by bilinear (subspace-constrained) VBI.

    Parameters
    ----------
    received : array, shape (n_antennas, n_subcarriers, n_symbols), complex
        :math:`\mathbf y_{n,t}` on every RE of the frame.
    steering : array, shape (n_antennas, n_columns), complex
        :math:`\mathbf A` (e.g. ``channels.location_dictionary(...).steering``).
    delay : array, shape (n_users, n_subcarriers, n_columns), complex
        :math:`\mathbf D` (unit modulus on allowed columns).
    pilots : array, shape (n_users, n_subcarriers, n_symbols), complex
        Known pilot symbols (read on ``pilot_mask`` REs only; 0 = silent).
    pilot_mask : bool array, shape (n_subcarriers, n_symbols)
        Pilot REs; the others carry unknown data from ``constellation``.
    constellation : array, shape (n_points,), complex
        Data alphabet :math:`\mathcal X` (e.g. ``sensing.constellation("qam", 16)``).
    allowed : bool array, shape (n_users, n_columns), optional
        Columns of each user's dictionary (default all).
    n_grid : int, optional
        Number of leading columns that are shared grid points (Module B's common support acts on
        them; the remaining columns, e.g. LoS, get the i.i.d. prior ``los_probability``).
        Default: all columns.
    support_prior : {"common", "iid"}, default="common"
        Joint sparsity across users, or per-user independent supports (the ablation).
    subspace : bool, default=True
        BiSVBI; False puts every allowed column in the support (full-inverse baseline).
    use_data : bool, default=True
        False: pilots only (the linear SC-VBI / Turbo-VBI special case).
    prior : SparsePrior, optional
    common_probability, group_probability : float, default=0.1, 0.8
        :math:`\lambda_c`, :math:`\lambda_k` of the common-support prior.
    los_probability : float, default=0.5
        Prior activity of the non-grid (LoS) columns.
    support : bool array (n_users, n_columns), optional
        Initial supports (default empty).
    adapt_support, max_support, max_admit, false_alarm, prune_threshold, ban_iterations
        As in :func:`estimators.sc_vbi`.
    max_iter : int, default=100
    n_pilot_iter : int, default=30
        Pilot-only iterations before the data REs join (earlier once the pilot-only estimate has
        converged).
    tol : float, default=1e-4
        Relative change of the channel estimate that ends the run (with a stable support).
    callback : callable(IterationInfo) -> bool, optional
        ``estimate`` is the current channel estimate (n_users, n_antennas, n_subcarriers).

    Returns
    -------
    BiSVBIResult

    Raises
    ------
    ValueError
        No pilot RE, a user without pilots, more users than antennas, an empty dictionary,
        NaN/inf input, shape mismatches.

    Examples
    --------
    The scene of :func:`location_omp`'s example at 40 dB SNR; BiSVBI uses the QPSK data REs too:

    >>> import numpy as np
    >>> import channels, sensing
    >>> from estimators import bisvbi
    >>> lam = sensing.SPEED_OF_LIGHT / 28e9
    >>> num = sensing.Numerology(28e9, 1.92e6, 32, 4)
    >>> geo = channels.draw_uplink_geometry(bs_array=sensing.upa(4, 4, lam / 2), n_users=2, n_scatterers=3,
    ...     rng=1, scatterer_region_m=((20, -20, -8), (60, 20, 2)), max_time_offset_s=0.0, position_error_std_m=0.0)
    >>> h = channels.uplink_channel(geo, num)
    >>> grid = np.vstack([geo.scatterer_positions_m, [[30, 10, 0], [50, -10, -5], [40, 0, -2]]])
    >>> d = channels.location_dictionary(grid, user_positions_m=geo.user_positions_m, time_offsets_s=geo.time_offsets_s,
    ...     bs_array=geo.bs_array, wavelength_m=lam, frequencies_hz=num.subcarrier_frequencies_hz)
    >>> rng = np.random.default_rng(0)
    >>> qpsk = sensing.constellation("psk", 4)
    >>> labels = rng.integers(0, 4, (2, 32, 4))
    >>> y = np.einsum("kmn,knt->mnt", h, qpsk[labels])
    >>> y = y + 0.01 * np.sqrt(np.mean(np.abs(y) ** 2) / 2) * (rng.standard_normal(y.shape) + 1j * rng.standard_normal(y.shape))
    >>> pilot_mask = np.zeros((32, 4), bool)
    >>> pilot_mask[:, 0] = True
    >>> res = bisvbi(y, steering=d.steering, delay=d.delay, pilots=qpsk[labels], pilot_mask=pilot_mask,
    ...              constellation=qpsk, allowed=d.allowed, n_grid=d.n_grid)
    >>> res.support.astype(int)                            # scatterers seen by each user, then its LoS column
    array([[1, 1, 1, 0, 0, 0, 1, 0],
           [1, 1, 0, 0, 0, 0, 0, 1]])
    >>> int(np.sum(res.symbol_labels != labels[:, res.data_index[0], res.data_index[1]]))   # symbol errors
    0
    >>> bool(np.linalg.norm(res.channels - h) < 0.01 * np.linalg.norm(h))
    True
    """
    xp = get_xp(received, steering, delay, pilots)
    y, pil, pm, pts = check_frame(received, pilots, pilot_mask, constellation, xp)
    m, n, t = (int(v) for v in y.shape)
    k = int(pil.shape[0])
    a = check_array(steering, "steering", ndim=2, kind=("complex floating",), xp=xp)
    d = check_array(delay, "delay", ndim=3, kind=("complex floating",), xp=xp)
    if a.shape[0] != m or a.shape[1] == 0:
        raise ValueError(f"`steering` must have shape ({m}, n_columns >= 1); got {tuple(a.shape)} "
                         "(an empty dictionary cannot represent a channel).")
    if tuple(d.shape) != (k, n, a.shape[1]):
        raise ValueError(f"`delay` must have shape ({k}, {n}, {a.shape[1]}); got {tuple(d.shape)}.")
    j = int(a.shape[1])
    allowed_h = np.ones((k, j), bool) if allowed is None else np.asarray(to_numpy(allowed))
    if allowed_h.dtype != bool or allowed_h.shape != (k, j):
        raise ValueError(f"`allowed` must be a bool array of shape ({k}, {j}); got {allowed_h.dtype} {allowed_h.shape}.")
    q = j if n_grid is None else check_int(n_grid, "n_grid", low=0, high=j)
    check_choice(support_prior, "support_prior", ("common", "iid"))
    lc, lg, ll = check_probabilities(common_probability, group_probability, los_probability, k)
    opts, tol = check_engine_options(prior, max_admit, false_alarm, prune_threshold, ban_iterations, max_support, tol)
    sup = _support_iv(support, k, j, allowed_h)
    max_iter = check_int(max_iter, "max_iter", low=1)
    n_pilot_iter = check_int(n_pilot_iter, "n_pilot_iter", low=0)
    eng = BilinearEngine(xp, y, pil, pm, pts, xp.astype(a, xp.complex128), xp.astype(d, xp.complex128), allowed_h,
                         n_grid=q, use_data=check_bool(use_data, "use_data"), subspace=check_bool(subspace, "subspace"),
                         support_prior=support_prior, lam_c=lc, lam_g=lg, lam_los=ll, **opts)
    if not subspace:
        eng.init_precisions()
    elif sup is not None:
        for kk in range(k):
            eng.resize_support(kk, np.flatnonzero(sup[kk]))
        eng.init_precisions()
    t0 = time.perf_counter()
    hist = {"elbo": [], "time": []}
    converged = run_estep(eng, max_iter=max_iter, tol=tol, n_pilot_iter=n_pilot_iter, callback=callback, t0=t0,
                          history=hist, adapt_support=check_bool(adapt_support, "adapt_support"))
    return BiSVBIResult(
        channels=eng.H * eng.scale_y, coefficients=eng.coefficients(),
        support=asarray_like(eng.support_bool(), xp), support_probability=eng.pit, symbols=eng.ms,
        symbol_labels=eng.labels(), data_index=np.stack([eng.dn, eng.dt]),
        noise_variance=eng.scale_y ** 2 / eng.gamma, elbo=np.asarray(hist["elbo"]), n_iter=len(hist["elbo"]),
        converged=converged, data_start=int(hist.get("data_start", len(hist["elbo"]))),
        method=("bisvbi" if subspace else "bivbi-full") if eng.use_data else ("turbo-sc-vbi" if subspace else "turbo-vbi"))

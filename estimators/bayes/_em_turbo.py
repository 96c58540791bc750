r"""EM-Turbo-BiSVBI: joint scattering-environment sensing, channel estimation and data recovery.

Liu, Xu, Xu, Caire, arXiv:2502.00811: an EM loop whose E-step is the Turbo-BiSVBI iteration of
:mod:`estimators.bayes._bilinear_engine` and whose M-step (:mod:`estimators.bayes._m_step`) moves
the active grid points, the clock offsets and the user positions along the analytic gradient of
the expected log-likelihood (Armijo backtracking, Sec. IV), started from the MUSIC-SCVBI coarse
estimate of :mod:`estimators.bayes._coarse_stage` (Sec. V).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from channels import location_dictionary, uniform_location_grid
from sensing import (
    HostCopy,
    SPEED_OF_LIGHT,
    Array,
    ArrayGeometry,
    asarray_like,
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_rng,
    get_xp,
    to_numpy,
)

from ._bilinear_engine import BilinearEngine, check_frame, run_estep
from ._bisvbi import check_engine_options, check_probabilities
from ._coarse_stage import clear_grid, coarse_time_offsets, music_directions, ray_grid
from ._m_step import MStep, armijo_ascent
from ._turbo import common_support_posterior

__all__ = ["EMTurboResult", "em_turbo_bisvbi"]


@dataclass(frozen=True)
class EMTurboResult(HostCopy):
    r"""Result of :func:`em_turbo_bisvbi`.

    Attributes
    ----------
    channels : array, shape (n_users, n_antennas, n_subcarriers), complex
        Channel estimates on every subcarrier (input scale).
    scatterer_positions_m : ndarray, shape (n_found, 3)
        Estimated scatterers [m] (host): active grid points with common-support posterior > 1/2
        (any user's support with the i.i.d. prior), after merging points closer than
        ``merge_distance_m``.
    time_offsets_s : ndarray, shape (n_users,)
        :math:`\hat\delta_k` [s] (host; zeros when not learnt).
    user_positions_m : ndarray, shape (n_users, 3)
        :math:`\hat{\mathbf p}_k` [m] (host; nominal when not learnt).
    grid_m : ndarray, shape (n_grid, 3)
        The final dynamic grid [m] (host).
    coefficients, support : arrays, shape (n_users, n_grid + n_users)
        Location-domain coefficients and supports (grid columns, then one LoS column per user).
    symbols, symbol_labels, data_index
        As in :class:`BiSVBIResult`.
    noise_variance : float
    objective : ndarray, shape (n_iter,)
        ELBO after each E-step iteration (normalised units; jumps where the model changes).
    elapsed_s : ndarray, shape (n_iter,)
        Wall time at the end of each E-step iteration [s].
    n_iter : int
        E-step iterations in total (coarse stage included).
    n_outer : int
        EM iterations.
    converged : bool
    directions_rad : ndarray, shape (n_directions, 2)
        (azimuth, elevation) found by the coarse-stage MUSIC (empty without it).
    method : str
    """

    channels: Array
    scatterer_positions_m: np.ndarray
    time_offsets_s: np.ndarray
    user_positions_m: np.ndarray
    grid_m: np.ndarray = field(repr=False)
    coefficients: Array = field(default=None, repr=False)
    support: Array = field(default=None, repr=False)
    symbols: Array = field(default=None, repr=False)
    symbol_labels: np.ndarray = field(default=None, repr=False)
    data_index: np.ndarray = field(default=None, repr=False)
    noise_variance: float = 0.0
    objective: np.ndarray = field(default=None, repr=False)
    elapsed_s: np.ndarray = field(default=None, repr=False)
    n_iter: int = 0
    n_outer: int = 0
    converged: bool = False
    directions_rad: np.ndarray = field(default=None, repr=False)
    method: str = ""



# ---------------------------------------------------------------------------------------------
# grid housekeeping and the scatterer list
# ---------------------------------------------------------------------------------------------

def _estimates_power(eng):
    p = np.zeros(eng.J)
    for k in range(eng.K):
        p[eng.S[k]] += np.abs(to_numpy(eng.mu[k])) ** 2
    return p


def _scatterers(eng, grid, support_prior, lc, lg, min_power, dist):
    """Scatterer list: active grid points (common-support posterior > 1/2 with the common prior)
    carrying at least ``min_power`` of some user's channel power, clustered greedily within
    ``dist`` [m] and replaced by their power-weighted centroids (the location dictionary is
    coherent, so one scatterer is often spread over neighbouring points)."""
    q = eng.n_grid
    act = np.unique(np.concatenate([s[s < q] for s in eng.S] + [np.zeros(0, np.int64)]))
    if act.size == 0:
        return np.zeros((0, 3))
    if support_prior == "common":
        pc = to_numpy(common_support_posterior(eng.pia[:, :q], common_probability=lc, group_probability=lg))
        act = act[pc[act] > 0.5]
    rel = np.zeros((eng.K, eng.J))
    for k in range(eng.K):
        p = np.zeros(eng.J)
        p[eng.S[k]] = np.abs(to_numpy(eng.mu[k])) ** 2
        rel[k] = p / max(p.sum(), 1e-300)
    strength = rel[:, act].max(axis=0)
    act, strength = act[strength >= min_power], strength[strength >= min_power]
    out = []
    free = np.ones(act.size, bool)
    for i in np.argsort(-strength):
        if not free[i]:
            continue
        near = free & (np.linalg.norm(grid[act] - grid[act[i]], axis=1) < dist)
        w = strength[near]
        out.append((w[:, None] * grid[act[near]]).sum(axis=0) / w.sum())
        free &= ~near
    return np.asarray(out).reshape(-1, 3)


def _merge_duplicates(eng, grid, dist):
    """Remove active grid points within ``dist`` of a stronger active point (from every support)."""
    q = eng.n_grid
    act = np.unique(np.concatenate([s[s < q] for s in eng.S])) if eng.K else np.zeros(0, int)
    if act.size < 2 or dist <= 0:
        return False
    pw = _estimates_power(eng)[act]
    order = act[np.argsort(-pw)]
    kept, removed = [], []
    for i in order:
        if kept and np.min(np.linalg.norm(grid[kept] - grid[i], axis=1)) < dist:
            removed.append(i)
        else:
            kept.append(i)
    if not removed:
        return False
    rem = np.asarray(removed)
    for k in range(eng.K):
        s = eng.S[k]
        if np.isin(s, rem).any():
            eng.resize_support(k, s[~np.isin(s, rem)])
            eng.banned[k, rem] = eng.it + eng.ban_iterations
    return True


# ---------------------------------------------------------------------------------------------
# EM-Turbo-BiSVBI
# ---------------------------------------------------------------------------------------------

def em_turbo_bisvbi(received, *, pilots, pilot_mask, constellation, geometry: ArrayGeometry, wavelength_m: float,
                    frequencies_hz, nominal_user_positions_m, region_m, bs_position_m=(0.0, 0.0, 0.0),
                    init: str = "music", grid_m=None, grid_spacing_m: float = 2.0,
                    range_spacing_m: float | None = None, n_directions: int | None = None, max_directions: int = 8,
                    support_prior: str = "common", subspace: bool = True, use_data: bool = True,
                    learn=("grid", "time_offset", "user_position"), los: bool = True, prior=None,
                    common_probability: float = 0.1, group_probability=0.8, los_probability: float = 0.5,
                    max_outer: int = 10, n_turbo: int = 6, n_pilot_iter: int = 20, armijo_rounds: int = 2,
                    max_step_m: float = 0.5, max_admit: int = 1, false_alarm: float = 0.1,
                    prune_threshold: float = 0.5, ban_iterations: int = 3, max_support: int | None = None,
                    merge_distance_m: float | None = None, cluster_distance_m: float | None = None,
                    min_scatterer_power: float = 0.01, max_time_offset_s: float = 20e-9,
                    tol: float = 1e-3, rng=None, callback=None) -> EMTurboResult:
    r"""EM-Turbo-BiSVBI: joint scattering-environment sensing, channel estimation and data recovery.

    Schedule (arXiv:2502.00811, Secs. IV-V): a coarse stage builds the location grid (MUSIC-SCVBI:
    pilot least squares, 2-D MUSIC on the BS array, grid points on and around the detected rays
    inside ``region_m``; or a uniform grid), estimates the clock offsets from the direct paths and
    runs pilot-only Turbo-SC-VBI on that grid; then each EM iteration runs an M-step
    (``armijo_rounds`` rounds of block-wise Armijo gradient ascent of the expected log-likelihood
    over the active grid points, the clock offsets and the user positions: the blocks named in
    ``learn``) followed by ``n_turbo`` Turbo-BiSVBI iterations with the data REs.

    Parameters
    ----------
    received : array, shape (n_antennas, n_subcarriers, n_symbols), complex
        Received frame :math:`\mathbf y_{n,t}`.
    pilots : array, shape (n_users, n_subcarriers, n_symbols), complex
        Known pilots on the pilot REs.
    pilot_mask : bool array, shape (n_subcarriers, n_symbols)
    constellation : array, shape (n_points,), complex
        Data alphabet.
    geometry : ArrayGeometry
        BS array (element positions relative to ``bs_position_m``, boresight +x).
    wavelength_m : float
        Carrier wavelength [m].
    frequencies_hz : array, shape (n_subcarriers,)
        Baseband subcarrier frequencies :math:`f_n` [Hz] (``Numerology.subcarrier_frequencies_hz``).
    nominal_user_positions_m : array, shape (n_users, 3)
        :math:`\bar{\mathbf p}_k` [m].
    region_m : pair of 3-vectors
        Box ``(min_corner, max_corner)`` [m] that contains the scatterers.
    bs_position_m : 3-vector, default=(0, 0, 0)
    init : {"music", "grid", "random"}, default="music"
        ``"music"``: MUSIC-SCVBI reduced grid; ``"grid"``: uniform grid over the region (or
        ``grid_m``); ``"random"``: the uniform grid with uniformly random offsets within a cell
        (drawn from ``rng``).
    grid_m : array (n_grid, 3), optional
        An explicit initial grid (with ``init="grid"``).
    grid_spacing_m : float, default=2
        Uniform-grid spacing [m] (also the MUSIC grid's box margin).
    range_spacing_m : float, optional
        Spacing along the MUSIC rays [m]; default :math:`c/(2B)` with :math:`B` the span of
        ``frequencies_hz``.
    n_directions : int, optional
        Number of MUSIC directions (default: MDL, at most ``max_directions``).
    support_prior : {"common", "iid"}, default="common"
        Joint sparsity across users, or per-user independent supports (ablation).
    subspace : bool, default=True
        False: full-inverse E-step over every grid point (baseline EM-Turbo-VBI).
    use_data : bool, default=True
        False: pilots only.
    learn : tuple of {"grid", "time_offset", "user_position"}
        Blocks refined by the M-step; ``()`` disables it (fixed grid, ignored offsets).
    los : bool, default=True
        Model a direct path per user.
    prior, common_probability, group_probability, los_probability
        As in :func:`bisvbi`.
    max_outer : int, default=10
    n_turbo : int, default=6
        E-step iterations per EM iteration.
    n_pilot_iter : int, default=20
        Iterations of the coarse stage's pilot-only SC-VBI (it ends earlier on convergence); the
        data REs join from the first EM iteration on.
    armijo_rounds : int, default=2
    max_step_m : float, default=0.5
        Largest first trial move of any coordinate in one Armijo step [m] (offsets as
        :math:`c\,\delta`).
    max_admit, false_alarm, prune_threshold, ban_iterations, max_support
        As in :func:`bisvbi`.
    cluster_distance_m : float, optional
        Output only: active points within this distance form one scatterer (their power-weighted
        centroid); default :math:`c/B`, the bistatic range resolution.
    min_scatterer_power : float, default=0.01
        Output only: points carrying less than this fraction of every user's channel power are
        not reported as scatterers (they still shape the channel estimate).
    max_time_offset_s : float, default=20e-9
        Search half-width of the coarse clock-offset estimate [s]: with ``"time_offset"`` in
        ``learn`` and ``los=True``, :math:`\delta_k` starts at the delay of the earliest strong
        peak (within 6 dB of the strongest) of the pilot response beamformed towards the nominal
        user position, minus its nominal LoS delay (0 disables).
    merge_distance_m : float, optional
        Active grid points closer than this are merged (default: a quarter of
        :math:`c/B`, about half the bistatic range resolution).
    tol : float, default=1e-3
        Relative channel change between EM iterations that ends the run.
    rng : None, int or Generator
        Only for ``init="random"``.
    callback : callable(IterationInfo) -> bool, optional
        After every E-step iteration; ``estimate`` is the channel (n_users, n_antennas, n_subcarriers).

    Returns
    -------
    EMTurboResult

    References
    ----------
    A. Liu, W. Xu, W. Xu, G. Caire, "Bilinear subspace variational Bayesian inference for joint
    scattering environment sensing and data recovery in ISAC systems," arXiv:2502.00811.

    Examples
    --------
    The scene of :func:`bisvbi`'s example without a given dictionary: the grid comes from MUSIC
    on the pilots and the EM steps refine it:

    >>> import numpy as np
    >>> import channels, sensing
    >>> from estimators import em_turbo_bisvbi
    >>> lam = sensing.SPEED_OF_LIGHT / 28e9
    >>> num = sensing.Numerology(28e9, 1.92e6, 32, 4)
    >>> region = ((20.0, -20.0, -8.0), (60.0, 20.0, 2.0))
    >>> geo = channels.draw_uplink_geometry(bs_array=sensing.upa(4, 4, lam / 2), n_users=2, n_scatterers=3,
    ...     rng=1, scatterer_region_m=region, max_time_offset_s=0.0, position_error_std_m=0.0)
    >>> h = channels.uplink_channel(geo, num)
    >>> rng = np.random.default_rng(0)
    >>> qpsk = sensing.constellation("psk", 4)
    >>> labels = rng.integers(0, 4, (2, 32, 4))
    >>> y = np.einsum("kmn,knt->mnt", h, qpsk[labels])
    >>> y = y + 0.01 * np.sqrt(np.mean(np.abs(y) ** 2) / 2) * (rng.standard_normal(y.shape) + 1j * rng.standard_normal(y.shape))
    >>> pilot_mask = np.zeros((32, 4), bool)
    >>> pilot_mask[:, 0] = True
    >>> res = em_turbo_bisvbi(y, pilots=qpsk[labels], pilot_mask=pilot_mask, constellation=qpsk, geometry=geo.bs_array,
    ...     wavelength_m=lam, frequencies_hz=num.subcarrier_frequencies_hz,
    ...     nominal_user_positions_m=geo.nominal_user_positions_m, region_m=region, max_outer=3, rng=0)
    >>> int(np.sum(res.symbol_labels != labels[:, res.data_index[0], res.data_index[1]]))
    0
    >>> bool(np.linalg.norm(res.channels - h) < 0.05 * np.linalg.norm(h))
    True
    """
    xp = get_xp(received, pilots)
    y, pil, pm, pts = check_frame(received, pilots, pilot_mask, constellation, xp)
    m, n, t = (int(v) for v in y.shape)
    k = int(pil.shape[0])
    if not isinstance(geometry, ArrayGeometry):
        raise TypeError(f"`geometry` must be a sensing.ArrayGeometry; got {type(geometry).__name__}.")
    if geometry.n_elements != m:
        raise ValueError(f"`geometry` has {geometry.n_elements} elements but `received` has {m} antennas.")
    bs_array = geometry
    lam = check_float(wavelength_m, "wavelength_m", low=0.0, low_inclusive=False)
    freqs = np.asarray(to_numpy(check_array(frequencies_hz, "frequencies_hz", shape=(n,),
                                            kind=("real floating", "integral"))), dtype=float)
    users0 = np.asarray(to_numpy(check_array(nominal_user_positions_m, "nominal_user_positions_m", shape=(k, 3),
                                             kind=("real floating", "integral"))), dtype=float)
    box = np.asarray(to_numpy(check_array(region_m, "region_m", shape=(2, 3), kind=("real floating", "integral"))),
                     dtype=float)
    if np.any(box[1] < box[0]):
        raise ValueError(f"`region_m` must be (min_corner, max_corner) with min <= max; got {box.tolist()}.")
    pb = np.asarray(to_numpy(check_array(bs_position_m, "bs_position_m", shape=(3,),
                                         kind=("real floating", "integral"))), dtype=float)
    check_choice(init, "init", ("music", "grid", "random"))
    check_choice(support_prior, "support_prior", ("common", "iid"))
    spacing = check_float(grid_spacing_m, "grid_spacing_m", low=0.0, low_inclusive=False)
    bw = float(freqs.max() - freqs.min()) + (float(np.min(np.diff(np.sort(freqs)))) if n > 1 else 1.0)
    rspace = SPEED_OF_LIGHT / (2 * bw) if range_spacing_m is None else \
        check_float(range_spacing_m, "range_spacing_m", low=0.0, low_inclusive=False)
    merge = SPEED_OF_LIGHT / (4 * bw) if merge_distance_m is None else \
        check_float(merge_distance_m, "merge_distance_m", low=0.0)
    if cluster_distance_m is not None:
        check_float(cluster_distance_m, "cluster_distance_m", low=0.0)
    min_scatterer_power = check_float(min_scatterer_power, "min_scatterer_power", low=0.0, high=1.0)
    learn = tuple(learn)
    for b in learn:
        check_choice(b, "learn", ("grid", "time_offset", "user_position"))
    subspace = check_bool(subspace, "subspace")
    use_data = check_bool(use_data, "use_data")
    los = check_bool(los, "los")
    lc, lg, ll = check_probabilities(common_probability, group_probability, los_probability, k)
    opts, tol = check_engine_options(prior, max_admit, false_alarm, prune_threshold, ban_iterations, max_support, tol)
    max_outer = check_int(max_outer, "max_outer", low=1)
    n_turbo = check_int(n_turbo, "n_turbo", low=1)
    n_pilot_iter = check_int(n_pilot_iter, "n_pilot_iter", low=0)
    armijo_rounds = check_int(armijo_rounds, "armijo_rounds", low=0)
    max_step_m = check_float(max_step_m, "max_step_m", low=0.0, low_inclusive=False)
    max_directions = check_int(max_directions, "max_directions", low=1)
    if n_directions is not None:
        check_int(n_directions, "n_directions", low=1, high=m - 1)
    t0 = time.perf_counter()

    # -- coarse stage: the location grid ------------------------------------------------------------
    directions = np.zeros((0, 2))
    if init == "music":
        directions = music_directions(y, pil, pm, bs_array, lam, n_directions, max_directions, xp)
        grid = ray_grid(directions, bs_array, pb, box, spacing, rspace, users0)
    else:
        grid = uniform_location_grid(box, spacing) if grid_m is None else np.asarray(
            to_numpy(check_array(grid_m, "grid_m", ndim=2, kind=("real floating",))), dtype=float)
        if init == "random":
            r = check_rng(rng)
            grid = np.clip(grid + spacing * (r.random(grid.shape) - 0.5), box[0], box[1])
        grid = clear_grid(grid, users0, pb)
    if grid.shape[0] == 0:
        raise ValueError("the location grid is empty: no grid point lies inside `region_m` (for init='music', "
                         "no MUSIC ray crosses it); enlarge the region or use init='grid'.")
    if not subspace and grid.shape[0] > 4000:
        raise ValueError(f"the full-inverse E-step on {grid.shape[0]} grid points would invert "
                         f"{grid.shape[0]}x{grid.shape[0]} matrices; use init='music' or a coarser grid.")
    static = dict(bs_array=bs_array, wavelength_m=lam, frequencies_hz=freqs, bs_position_m=pb, los=los,
                  dummy_point=box.mean(axis=0) + np.array([0.0, 0.0, 0.37]))
    xi = {"grid": grid, "user_position": users0.copy(), "time_offset": np.zeros(k)}
    max_off = check_float(max_time_offset_s, "max_time_offset_s", low=0.0)
    if "time_offset" in learn and los and max_off > 0:
        xi["time_offset"] = SPEED_OF_LIGHT * coarse_time_offsets(y, pil, pm, freqs, users0, pb, bs_array, lam, max_off, xp)

    def build(xi_):
        return location_dictionary(asarray_like(xi_["grid"], xp, dtype=xp.float64),
                                   user_positions_m=xi_["user_position"],
                                   time_offsets_s=xi_["time_offset"] / SPEED_OF_LIGHT, bs_array=bs_array,
                                   wavelength_m=lam, frequencies_hz=freqs, bs_position_m=pb, los=los)

    dic = build(xi)
    allowed = dic.allowed.copy()
    if los:
        # grid points (nearly) on the BS-user segment give the LoS delay and direction of that user:
        # indistinguishable from its LoS column, so they are left out of that user's dictionary
        excess = (np.linalg.norm(grid[None] - users0[:, None], axis=-1) + np.linalg.norm(grid - pb, axis=-1)[None]
                  - np.linalg.norm(users0 - pb, axis=-1)[:, None])
        allowed[:, : dic.n_grid] &= excess > rspace
    eng = BilinearEngine(xp, y, pil, pm, pts, dic.steering, dic.delay, allowed, n_grid=dic.n_grid,
                         use_data=use_data, subspace=subspace, support_prior=support_prior, lam_c=lc, lam_g=lg,
                         lam_los=ll, **opts)
    if not subspace:
        eng.init_precisions()
    hist = {"elbo": [], "time": []}
    converged = False
    steps: dict = {}
    # coarse stage, last step: pilot-only (Turbo-)SC-VBI on the coarse grid (ends on convergence)
    run_estep(eng, max_iter=n_pilot_iter, tol=tol * 0.1, n_pilot_iter=n_pilot_iter, callback=callback, t0=t0,
              history=hist)
    eng.switch_data_on()
    h_prev = eng.xp.asarray(eng.H, copy=True)
    outer = -1
    for outer in range(max_outer if not hist.get("stopped") else 0):
        # M-step on the current posterior, then the E-step (Turbo-BiSVBI iterations)
        if learn and armijo_rounds:
            ms = MStep(eng, static)
            blocks = tuple(b for b in learn if not (b == "grid" and ms.act.size == 0))
            if blocks:
                xi, _ = armijo_ascent(ms, xi, blocks, rounds=armijo_rounds, max_step_m=max_step_m, steps=steps)
                dic = build(xi)
                eng.set_dictionary(dic.steering, dic.delay)
        if _merge_duplicates(eng, xi["grid"], merge) or learn:
            eng.refresh()
        if eng.data_on:
            # restart q(s) from LMMSE detection with the refined channel: the mean-field data
            # factors otherwise keep decisions made with the earlier, poorer channel estimate
            eng.lmmse_init()
        run_estep(eng, max_iter=n_turbo, tol=tol * 0.1, n_pilot_iter=0, callback=callback, t0=t0, history=hist)
        if hist.get("stopped"):
            break
        h_now = eng.xp.asarray(eng.H, copy=True)
        xpd = eng.xp
        dh = float(xpd.sqrt(xpd.sum(xpd.real((h_now - h_prev) * xpd.conj(h_now - h_prev)))))
        nh = float(xpd.sqrt(xpd.sum(xpd.real(h_now * xpd.conj(h_now)))))
        h_prev = h_now
        if outer > 0 and dh <= tol * max(nh, 1e-300):
            converged = True
            break

    # -- outputs ------------------------------------------------------------------------------------
    scat = _scatterers(eng, xi["grid"], support_prior, lc, lg, min_scatterer_power,
                       SPEED_OF_LIGHT / bw if cluster_distance_m is None else cluster_distance_m)
    return EMTurboResult(
        channels=eng.H * eng.scale_y, scatterer_positions_m=scat, time_offsets_s=xi["time_offset"] / SPEED_OF_LIGHT,
        user_positions_m=xi["user_position"], grid_m=xi["grid"], coefficients=eng.coefficients(),
        support=asarray_like(eng.support_bool(), xp), symbols=eng.ms, symbol_labels=eng.labels(),
        data_index=np.stack([eng.dn, eng.dt]), noise_variance=eng.scale_y ** 2 / eng.gamma,
        objective=np.asarray(hist["elbo"]), elapsed_s=np.asarray(hist["time"]), n_iter=len(hist["elbo"]),
        n_outer=max(outer + 1, 0), converged=converged, directions_rad=directions,
        method="em-turbo-" + ("bisvbi" if subspace else "bivbi-full") + ("" if use_data else "-pilots"))
